//! The `link` stage with `+memory` on real data: the task's terminology from the shared
//! data, training mentions from a [`MemorySource`] the test supplies.

use quarry_core::stage::Stage;
use quarry_core::{Annotation, Document, Span};
use quarry_link::stage::{LinkStage, MemorySource, KIND};
use quarry_link::{LabelledMention, Task};
use std::sync::Arc;

#[test]
fn memory_mentions_link_to_their_whole_gold_set() {
    let d = quarry_core::shared_data::dir();
    assert!(
        d.join("linking/icd10-zh").is_dir(),
        "{} has no linking data (set QUARRY_SHARED_DATA to ../shared/data)",
        d.display()
    );
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let source: MemorySource = Arc::new(move |task: Task| {
        seen.lock().unwrap().push(task);
        Ok(vec![LabelledMention {
            text: "左膝退变伴游离体".to_string(),
            keys: vec!["膝骨关节病".to_string(), "膝关节游离体".to_string()],
        }])
    });
    let settings: toml::Table = "task = \"chip-cdn\"\nsystem = \"ngram+memory\""
        .parse()
        .unwrap();
    let stage = LinkStage::from_settings_with(&settings, Some(&source)).unwrap();
    assert_eq!(*asked.lock().unwrap(), [Task::ChipCdn]);
    let text = "诊断：左膝退变伴游离体。";
    let mut doc = Document::new("r1").with_field("body", text);
    doc.annotations.push(Annotation {
        field: "body".into(),
        span: Span::new(3, 11),
        kind: "entity".into(),
        label: "DISEASE".into(),
        source: "ner".into(),
        score: None,
        canonical: None,
    });
    let mut docs = vec![doc];
    stage.process(&mut docs).unwrap();
    let mut names: Vec<&str> = docs[0]
        .annotations
        .iter()
        .filter(|a| a.kind == KIND)
        .map(|a| a.canonical.as_deref().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["膝关节游离体", "膝骨关节病"],
        "{:?}",
        docs[0].annotations
    );

    // a source that fails is a clear error, not an empty memory
    let broken: MemorySource = Arc::new(|_| Err("no training file here".into()));
    let e = LinkStage::from_settings_with(&settings, Some(&broken))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no training file here"), "{e}");
}
