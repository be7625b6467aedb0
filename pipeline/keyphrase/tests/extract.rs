//! Training and extraction on a small collection the test writes: each story is about one
//! invented company and one topic word, which are its gold key phrases; filler sentences
//! repeat across stories. The trained ranker must put the gold phrases first on unseen
//! stories, and spans must point at the phrases in the original text.

use quarry_core::stage::Stage;
use quarry_core::Document;
use quarry_keyphrase::model::{Learner, TrainOptions};
use quarry_keyphrase::stage::KeyphraseStage;
use quarry_keyphrase::{train, CorefMode, ExtractOptions, Extractor, TrainDoc};

const COMPANIES: &[&str] = &[
    "Nordvik Energy",
    "Tidewater Solar",
    "Brightline Foods",
    "Calder Mining",
    "Ostara Labs",
    "Kestrel Airways",
    "Marlow Textiles",
    "Quill Robotics",
    "Harbor Freight Lines",
    "Silverpine Bank",
    "Amberfield Farms",
    "Redstone Pharma",
];
const TOPICS: &[&str] = &[
    "merger",
    "strike",
    "recall",
    "lawsuit",
    "expansion",
    "layoffs",
];

fn story(i: usize) -> (String, Vec<String>) {
    let company = COMPANIES[i % COMPANIES.len()];
    let topic = TOPICS[(i / 2) % TOPICS.len()];
    let short = company.split(' ').next().unwrap();
    let text = format!(
        "{company} faces {topic}\n\
         {company} announced the {topic} on Monday. Analysts said the market was calm. \
         The {topic} affects workers across the region, officials said. \
         Shares of {short} fell two percent. The weather was mild and traffic was light. \
         A spokesman for {company} said the {topic} would be reviewed next week. \
         Analysts said the market was calm again on Tuesday."
    );
    (text, vec![company.to_string(), topic.to_string()])
}

/// A ranker trained on 48 written stories.
fn ranker(learner: Learner, coref: CorefMode) -> quarry_keyphrase::model::Ranker {
    let stories: Vec<(String, Vec<String>)> = (0..48).map(story).collect();
    let docs: Vec<TrainDoc<'_>> = stories
        .iter()
        .map(|(t, g)| TrainDoc {
            text: t,
            gold: g,
            category: None,
        })
        .collect();
    let opts = ExtractOptions {
        coref,
        ..ExtractOptions::default()
    };
    let train_opts = TrainOptions {
        learner,
        trees: 60,
        ..TrainOptions::default()
    };
    train(&docs, &opts, &train_opts).expect("training")
}

fn model(learner: Learner) -> Extractor {
    Extractor::new(ranker(learner, CorefMode::Pool))
}

#[test]
fn gold_phrases_rank_first_on_unseen_stories() {
    for learner in [Learner::Gbdt, Learner::Logistic] {
        let ex = model(learner);
        let text = "Zephyr Motors faces boycott\nZephyr Motors announced the boycott on Monday. \
                    Analysts said the market was calm. The boycott affects workers across the region, \
                    officials said. Shares of Zephyr fell two percent. A spokesman for Zephyr Motors said \
                    the boycott would be reviewed next week.";
        let all = ex.extract(text, 0);
        let phrases: Vec<&str> = all.iter().map(|k| k.phrase.as_str()).collect();
        let rank = |p: &str| phrases.iter().position(|x| *x == p).unwrap_or(usize::MAX);
        // the entity leads; the story's topic (never seen in training) beats the filler words
        // every training story shares and no story has as a key phrase
        assert!(
            rank("Zephyr Motors").min(rank("Zephyr")) < 2,
            "{learner:?}: {phrases:?}"
        );
        for filler in ["market", "officials", "region"] {
            assert!(
                rank("boycott") < rank(filler),
                "{learner:?}: boycott vs {filler}: {phrases:?}"
            );
        }
        let top: Vec<_> = all.into_iter().take(5).collect();
        // spans are character offsets of the original text
        let chars: Vec<char> = text.chars().collect();
        for k in &top {
            for s in &k.spans {
                let got: String = chars[s.start..s.end].iter().collect();
                assert_eq!(
                    quarry_core::phrase::normalize_phrase(&got),
                    k.key,
                    "{learner:?}"
                );
            }
        }
        // scores are sorted
        assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
    }
}

#[test]
fn odd_inputs_do_not_panic() {
    let ex = model(Learner::Gbdt);
    assert!(ex.extract("", 10).is_empty());
    assert!(ex.extract("\n\n...!!!", 10).is_empty());
    let huge = "Zephyr Motors reported record sales in Oslo. ".repeat(2_300); // ~100,000 chars
    let top = ex.extract(&huge, 5);
    assert!(!top.is_empty() && top.len() <= 5);
    let mixed = "Überraschung 😀 für 东京 Zephyr Motors, naïve café — \u{200b}zero width";
    let _ = ex.extract(mixed, 10);
}

#[test]
fn stage_annotates_fields_with_field_offsets() {
    let stage = KeyphraseStage::new(ranker(Learner::Gbdt, CorefMode::Off), 4);
    let body = "Zephyr Motors announced the boycott on Monday. The boycott affects workers. \
                A spokesman for Zephyr Motors said the boycott would be reviewed.";
    let mut batch = vec![Document::new("z")
        .with_lang(quarry_core::Lang::En)
        .with_field("title", "Zephyr Motors faces boycott")
        .with_field("body", body)];
    stage.process(&mut batch).unwrap();
    let anns: Vec<_> = batch[0]
        .annotations
        .iter()
        .filter(|a| a.kind == "keyphrase")
        .collect();
    assert!(!anns.is_empty() && anns.len() <= 4);
    for a in anns {
        let field = batch[0].field(&a.field).unwrap();
        let got = a.span.slice(field).expect("span inside its field");
        assert_eq!(
            quarry_core::phrase::normalize_phrase(got),
            a.canonical.clone().unwrap(),
            "{a:?}"
        );
    }
}
