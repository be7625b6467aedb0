//! DAHSF benchmark: memory of the loaded forests per domain, single-thread layer-1 and full
//! digest throughput on ~10 MB of generated mixed Chinese/English text, and the
//! multiplication-rule coverage of each domain.
//!
//! ```text
//! cargo run --release -p quarry-normalize --example bench_dahsf [-- --mb 10 --root DIR]
//! ```
//!
//! Memory is reported three ways per domain: the exact live heap the load leaves behind
//! (counted by a wrapping global allocator), the resident-set growth (`VmRSS` from
//! `/proc/self/status`, which also counts allocator slack and touched code pages), and the
//! size of the TOML sources (the serialized forest).

use quarry_normalize::dahsf::{
    bundled_forest_root, BuiltinDataWords, DataWordExtractor, Engine, Forest, TnDataWords,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn rss_kib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of this thread in seconds (`/proc/thread-self/schedstat`), so that throughput
/// can be reported independently of other load on the machine.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Wall-clock and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (t, c) = (Instant::now(), cpu_s());
    let out = f();
    (out, t.elapsed().as_secs_f64(), cpu_s() - c)
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ANATOMY: &[&str] = &[
    "肝右叶",
    "右肝",
    "肝脏左叶",
    "胆囊",
    "胰头部",
    "脾脏",
    "右侧肾上腺",
    "两肺",
    "左肺下叶",
    "纵隔",
    "腹膜后",
    "前列腺",
];
const FINDING: &[&str] = &[
    "低密度影",
    "稍低密度灶",
    "结节",
    "囊性病变",
    "钙化点",
    "磨玻璃密度影",
    "肿块",
    "长T1长T2信号影",
    "斑片状阴影",
];
const SIZES: &[&str] = &[
    "3.2cm×2.8cm",
    "3.2 x 2.8 CM",
    "3.2*2.8cm",
    "１．５ｃｍ",
    "8mm",
    "2.1×1.9×1.5cm",
    "12 mm",
];
const CLAUSES: &[&str] = &[
    "未见明显异常",
    "肝内外胆管未见扩张",
    "增强扫描动脉期明显强化，门脉期廓清",
    "边界清晰",
    "与前片比较，病灶明显缩小",
    "脾脏增大，厚约5.2cm",
    "T2WI呈稍高信号，DWI呈高信号",
    "考虑血管瘤可能",
    "双肾形态大小正常",
    "CT值约35HU",
];
const JOBS: &[&str] = &[
    "Sr. SWE",
    "高级前端工程师",
    "Senior Software Engineer",
    "资深Java开发",
    "初级数据分析师",
    "Product Manager",
    "Tech Lead",
];
const COMMANDS: &[&str] = &[
    "关闭程序",
    "请帮我打开浏览器",
    "在百度上搜索天气",
    "退出软件",
    "open https://example.com/a",
    "播放音乐",
];
const ENGLISH: &[&str] = &[
    "the", "patient", "was", "seen", "on", "follow", "up", "with", "no", "acute", "change",
    "report", "version", "2.1", "release", "notes", "and", "search", "results",
];

fn generate(bytes: usize, seed: u64) -> String {
    let mut r = Rng(seed | 1);
    let mut out = String::with_capacity(bytes + 256);
    while out.len() < bytes {
        let parts = 2 + r.below(4);
        for k in 0..parts {
            if k > 0 {
                out.push_str(if r.below(3) == 0 { " " } else { "，" });
            }
            match r.below(8) {
                0..=2 => {
                    out.push_str(r.pick(ANATOMY));
                    out.push_str(if r.below(2) == 0 { "见" } else { "可见一" });
                    out.push_str(r.pick(FINDING));
                    if r.below(2) == 0 {
                        out.push_str("，大小约");
                        out.push_str(r.pick(SIZES));
                    }
                }
                3 => out.push_str(r.pick(CLAUSES)),
                4 => out.push_str(r.pick(JOBS)),
                5 => out.push_str(r.pick(COMMANDS)),
                6 => {
                    for i in 0..(3 + r.below(8)) {
                        if i > 0 {
                            out.push(' ');
                        }
                        out.push_str(r.pick(ENGLISH));
                    }
                }
                _ => {
                    // unmatched Chinese text
                    for _ in 0..(2 + r.below(10)) {
                        let c = char::from_u32(0x4E00 + r.below(0x51A5) as u32).unwrap_or('字');
                        out.push(c);
                    }
                }
            }
        }
        out.push_str("。\n");
    }
    out
}

fn main() {
    let mut mb = 10usize;
    let mut root = bundled_forest_root();
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--mb" => {
                mb = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(mb);
                i += 1;
            }
            "--root" => {
                if let Some(v) = args.get(i + 1) {
                    root = v.into();
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }

    if args.iter().any(|a| a == "--profile-digest") {
        let f = Forest::load_dir(root.join("radiology")).expect("radiology");
        let e = Engine::with_extractor(f, Box::new(BuiltinDataWords));
        let text = generate(mb * 1_000_000, 0x5eed);
        let t = Instant::now();
        let n: usize = text.lines().map(|l| e.digest(l).frames.len()).sum();
        println!(
            "{n} frames, {:.2} MB/s",
            text.len() as f64 / 1e6 / t.elapsed().as_secs_f64()
        );
        return;
    }
    if args.iter().any(|a| a == "--profile-layer1") {
        // a tight loop for profilers: layer 1 of the radiology forest, builtin scanner
        let f = Forest::load_dir(root.join("radiology")).expect("radiology");
        let e = Engine::with_extractor(f, Box::new(BuiltinDataWords));
        let text = generate(mb * 1_000_000, 0x5eed);
        let t = Instant::now();
        let mut n = 0usize;
        for l in text.lines() {
            e.layer1_with(l, |w| n += w.span.len());
        }
        println!(
            "{n} words, {:.2} MB/s",
            text.len() as f64 / 1e6 / t.elapsed().as_secs_f64()
        );
        return;
    }
    println!("== memory of the loaded forests (each domain loaded on its own, kept alive) ==");
    println!(
        "{:<10} {:>10} {:>12} {:>12} {:>12} {:>8} {:>8}",
        "domain", "toml B", "heap B", "RSS +KiB", "est. B", "classes", "load ms"
    );
    let mut engines = Vec::new();
    for d in ["radiology", "jobs", "commands"] {
        let (heap0, rss0) = (LIVE.load(Ordering::Relaxed), rss_kib());
        let t = Instant::now();
        let forest = match Forest::load_dir(root.join(d)) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{d}: {e}");
                std::process::exit(1);
            }
        };
        let engine = Engine::new(forest);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let (heap1, rss1) = (LIVE.load(Ordering::Relaxed), rss_kib());
        let f = engine.forest();
        println!(
            "{d:<10} {:>10} {:>12} {:>12} {:>12} {:>8} {:>8.1}",
            f.source_bytes(),
            heap1.saturating_sub(heap0),
            rss1.saturating_sub(rss0),
            f.heap_bytes(),
            f.class_count(),
            ms
        );
        engines.push((d, engine));
    }

    println!("\n== multiplication rule ==");
    for (_, e) in &engines {
        print!("{}", e.coverage());
    }

    let text = generate(mb * 1_000_000, 0x5eed);
    let lines: Vec<&str> = text.lines().collect();
    let bytes = text.len();
    println!(
        "\n== throughput, single thread, {:.1} MB of mixed text ({} lines, {} chars) ==",
        bytes as f64 / 1e6,
        lines.len(),
        text.chars().count()
    );
    println!("MB/s: wall clock / CPU time of this thread (the CPU figure ignores other load)");
    println!(
        "{:<10} {:>16} {:>16} {:>16} {:>10} {:>9}",
        "domain", "layer 1", "layer 1 + Words", "digest", "words", "frames"
    );
    let mbs = |w: f64, c: f64| {
        format!(
            "{:.1} / {:.1}",
            bytes as f64 / 1e6 / w,
            bytes as f64 / 1e6 / c
        )
    };
    for (d, e) in &engines {
        for l in lines.iter().take(1000) {
            std::hint::black_box(e.digest(l));
        }
        let (words, w1, c1) = timed(|| {
            let mut n = 0usize;
            for l in &lines {
                e.layer1_with(l, |w| {
                    std::hint::black_box(w);
                    n += 1;
                });
            }
            n
        });
        let (_, w2, c2) = timed(|| {
            for l in &lines {
                std::hint::black_box(e.layer1(l));
            }
        });
        let (frames, w3, c3) = timed(|| {
            lines
                .iter()
                .map(|l| std::hint::black_box(e.digest(l)).frames.len())
                .sum::<usize>()
        });
        println!(
            "{d:<10} {:>16} {:>16} {:>16} {words:>10} {frames:>9}",
            mbs(w1, c1),
            mbs(w2, c2),
            mbs(w3, c3)
        );
    }
    // the data-word extractors alone, per line
    for (name, x) in [
        (
            "tn::find_data_words",
            &TnDataWords as &dyn DataWordExtractor,
        ),
        (
            "builtin scanner",
            &BuiltinDataWords as &dyn DataWordExtractor,
        ),
    ] {
        let (n, w, c) = timed(|| {
            lines
                .iter()
                .map(|l| std::hint::black_box(x.extract(l)).len())
                .sum::<usize>()
        });
        println!("data words only, {name}: {} MB/s ({n} words)", mbs(w, c));
    }
    // layer 1 and digest with the builtin scanner only (TN's extractor left out)
    if let Ok(f) = Forest::load_dir(root.join("radiology")) {
        let e = Engine::with_extractor(f, Box::new(BuiltinDataWords));
        let (n, w1, c1) = timed(|| {
            let mut n = 0usize;
            for l in &lines {
                e.layer1_with(l, |w| {
                    std::hint::black_box(w);
                    n += 1;
                });
            }
            n
        });
        let (_, w2, c2) = timed(|| {
            for l in &lines {
                std::hint::black_box(e.digest(l));
            }
        });
        println!(
            "radiology, builtin scanner only: layer 1 {} MB/s ({n} words), digest {} MB/s",
            mbs(w1, c1),
            mbs(w2, c2)
        );
    }
    // one call over a whole text (no line splitting; --whole-mb N, default 1)
    if !args.iter().any(|a| a == "--no-whole") {
        let whole_mb: usize = args
            .iter()
            .position(|a| a == "--whole-mb")
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let one = generate(whole_mb * 1_000_000, 0xfeed);
        if let Ok(f) = Forest::load_dir(root.join("radiology")) {
            let builtin = Engine::with_extractor(f, Box::new(BuiltinDataWords));
            for (name, e) in [
                ("default extractor", &engines[0].1),
                ("builtin scanner", &builtin),
            ] {
                let t = Instant::now();
                let n = std::hint::black_box(e.layer1(&one)).len();
                let l1 = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let f = std::hint::black_box(e.digest(&one)).frames.len();
                let dg = t.elapsed().as_secs_f64();
                println!(
                    "radiology, one call over {whole_mb} MB, {name}: layer 1 {:.2} MB/s ({n} words), digest {:.2} MB/s ({f} frames)",
                    whole_mb as f64 / l1,
                    whole_mb as f64 / dg
                );
            }
        }
    }
    println!("peak RSS now {} KiB", rss_kib());
}
