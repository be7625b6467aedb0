//! DAHSF engine tests: longest match, word boundaries, validation errors, the
//! multiplication-rule figures on hand-computed forests, context rules, phrases, homographs,
//! the bundled domains, hot reloading, and property tests over arbitrary input.

use proptest::prelude::*;
use quarry_core::offsets::NormalizedTextBuilder;
use quarry_core::Span;
use quarry_normalize::dahsf::*;
use std::path::Path;
use std::sync::OnceLock;

fn forest(toml: &str) -> Forest {
    toml.parse()
        .unwrap_or_else(|e| panic!("forest should load: {e}"))
}

fn err(toml: &str) -> ForestError {
    match toml.parse::<Forest>() {
        Ok(_) => panic!("forest should not load:\n{toml}"),
        Err(e) => e,
    }
}

fn frames(d: &Digest) -> Vec<String> {
    d.frames.iter().map(|f| f.to_string()).collect()
}

fn domains() -> &'static ForestSet {
    static SET: OnceLock<ForestSet> = OnceLock::new();
    SET.get_or_init(|| ForestSet::open(bundled_forest_root()).expect("bundled forests load"))
}

fn domain(name: &str) -> std::sync::Arc<Engine> {
    domains()
        .get(name)
        .unwrap_or_else(|| panic!("domain {name}"))
}

// ---------------------------------------------------------------- layer 1

#[test]
fn longest_match_keeps_rocket_one_word() {
    let e = Engine::new(forest(
        r#"
        [[class]]
        label = "THING"
        canonical = "火"
        [[class]]
        label = "THING"
        canonical = "箭"
        [[class]]
        label = "VEHICLE"
        canonical = "火箭"
        synonyms = ["运载火箭"]
        "#,
    ));
    let w = e.layer1("火箭发射，运载火箭和火");
    let lex: Vec<(&str, &str, &str)> = w
        .iter()
        .filter(|w| w.label != TEXT_LABEL && w.label != PUNCT_LABEL)
        .map(|w| (w.surface.as_str(), w.canonical.as_str(), w.label.as_str()))
        .collect();
    assert_eq!(
        lex,
        vec![
            ("火箭", "火箭", "VEHICLE"),
            ("运载火箭", "火箭", "VEHICLE"),
            ("火", "火", "THING")
        ]
    );
    assert_eq!(w[0].span, Span::new(0, 2));
    assert_eq!(w[1].label, TEXT_LABEL);
    assert_eq!(w[1].surface, "发射");
}

#[test]
fn latin_entries_respect_word_boundaries() {
    let e = Engine::new(forest(
        r#"
        [[class]]
        label = "MOD"
        canonical = "CT"
        [[class]]
        label = "ROLE"
        canonical = "Software Engineer"
        [[class]]
        label = "FIELD"
        canonical = "Software"
        "#,
    ));
    let w = e.layer1("fact CT act");
    let labels: Vec<&str> = w.iter().map(|w| w.label.as_str()).collect();
    assert_eq!(labels, vec!["IDENT", "MOD", "IDENT"]);
    // the longest entry starts a word but ends inside one: fall back to a shorter entry
    let w = e.layer1("Software Engineering");
    assert_eq!(w[0].canonical, "Software");
    assert_eq!(w[0].label, "FIELD");
    assert_eq!(w[1].surface, "Engineering");
    // matching is width- and case-insensitive; canonical forms keep their case
    let w = e.layer1("ｓｏｆｔｗａｒｅ ENGINEER");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].canonical, "Software Engineer");
    assert_eq!(w[0].span, Span::new(0, 17));
}

#[test]
fn data_words_are_typed_and_canonical() {
    let e = Engine::new(forest(
        r#"
        [[class]]
        label = "SIZEWORD"
        canonical = "大小约"
        "#,
    ));
    for (text, canonical) in [
        ("大小约3.2cm×2.8cm", "3.2cm×2.8cm"),
        ("大小约 3.2 x 2.8 CM", "3.2cm×2.8cm"),
        ("大小约3.2*2.8cm", "3.2cm×2.8cm"),
        ("大小约３．２ｃｍ×２．８ｃｍ", "3.2cm×2.8cm"),
    ] {
        let w = e.layer1(text);
        assert_eq!(w.len(), 2, "{text}: {w:?}");
        assert_eq!(
            (w[1].label.as_str(), w[1].canonical.as_str()),
            ("SIZE", canonical),
            "{text}"
        );
        assert_eq!(w[1].span.end, text.chars().count());
    }
    let w = e.layer1("打开 https://example.com/a?b=1 和 notepad");
    let kinds: Vec<(&str, &str)> = w
        .iter()
        .map(|w| (w.label.as_str(), w.canonical.as_str()))
        .collect();
    assert!(
        kinds.contains(&("URL", "https://example.com/a?b=1")),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("IDENT", "notepad")), "{kinds:?}");
}

#[test]
fn words_cover_every_non_space_character() {
    let e = domain("radiology");
    let text = "肝右叶 见一低密度影（3.2cm×2.8cm）；未见明显异常!! xyz";
    let d = e.digest(text);
    let chars: Vec<char> = text.chars().collect();
    let mut covered = vec![false; chars.len()];
    for w in &d.words {
        assert_eq!(w.span.slice(text), Some(w.surface.as_str()));
        for c in covered.iter_mut().take(w.span.end).skip(w.span.start) {
            assert!(!*c, "overlap at {w:?}");
            *c = true;
        }
    }
    for (i, c) in chars.iter().enumerate() {
        assert_eq!(covered[i], !c.is_whitespace(), "char {i} '{c}'");
    }
}

// ---------------------------------------------------------------- validation

#[test]
fn synonym_in_two_classes_names_both_classes_and_files() {
    let e = Forest::from_files([
        (
            "anatomy.toml",
            "[[class]]\nlabel = \"ANATOMY\"\ncanonical = \"肝右叶\"\nsynonyms = [\"右肝\"]\n",
        ),
        (
            "more.toml",
            "[[class]]\nlabel = \"ANATOMY\"\ncanonical = \"肝脏\"\nsynonyms = [\"肝\", \"右肝\"]\n",
        ),
    ])
    .unwrap_err();
    match &e {
        ForestError::DuplicateSurface {
            surface,
            first,
            second,
        } => {
            assert_eq!(surface, "右肝");
            assert_eq!(
                (first.file.as_str(), first.canonical.as_str()),
                ("anatomy.toml", "肝右叶")
            );
            assert_eq!(
                (second.file.as_str(), second.canonical.as_str()),
                ("more.toml", "肝脏")
            );
            assert_eq!(second.label, "ANATOMY");
        }
        other => panic!("unexpected {other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("anatomy.toml") && msg.contains("more.toml") && msg.contains("homographs"),
        "{msg}"
    );
    // case and width variants are the same surface
    let e = err("[[class]]\nlabel = \"A\"\ncanonical = \"SWE\"\n[[class]]\nlabel = \"B\"\ncanonical = \"X\"\nsynonyms = [\"ｓｗｅ\"]\n");
    assert!(matches!(e, ForestError::DuplicateSurface { .. }), "{e}");
    // twice in one class
    let e = err("[[class]]\nlabel = \"A\"\ncanonical = \"x\"\nsynonyms = [\"y\", \"x\"]\n");
    assert!(matches!(e, ForestError::DuplicateSurface { .. }), "{e}");
}

#[test]
fn homographs_must_be_declared_and_real() {
    let two = "[[class]]\nlabel = \"STATE\"\ncanonical = \"增大\"\n[[class]]\nlabel = \"CHANGE\"\ncanonical = \"增大\"\n";
    assert!(matches!(err(two), ForestError::DuplicateSurface { .. }));
    let f = forest(&format!(
        "homographs = [\"增大\"]\n[labels]\nSTATE = 12\n{two}"
    ));
    assert_eq!(
        f.lookup("增大"),
        vec![("增大", "STATE"), ("增大", "CHANGE")]
    );
    let e = err("homographs = [\"x\"]\n[[class]]\nlabel = \"A\"\ncanonical = \"x\"\n");
    assert!(
        matches!(
            e,
            ForestError::Invalid {
                item: "homograph",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn empty_classes_are_rejected() {
    let e = err("[[class]]\nlabel = \"A\"\ncanonical = \" \"\n");
    assert!(matches!(e, ForestError::EmptyClass { .. }), "{e}");
    let e = err("[[class]]\nlabel = \"A\"\ncanonical = \"x\"\nsynonyms = [\"y\", \"\"]\n");
    match e {
        ForestError::EmptyClass {
            what, canonical, ..
        } => {
            assert_eq!(canonical, "x");
            assert!(what.contains("#2"), "{what}");
        }
        other => panic!("unexpected {other}"),
    }
    let e = err("[[phrase]]\nlabel = \"A\"\ncanonical = \"x\"\npatterns = []\n");
    assert!(matches!(e, ForestError::EmptyClass { .. }), "{e}");
}

const BASE: &str = r#"
[[class]]
label = "VERB"
canonical = "关闭"
synonyms = ["关掉", "退出"]
[[class]]
label = "OBJECT"
canonical = "程序"
synonyms = ["应用", "软件"]
"#;

#[test]
fn unknown_labels_and_literals_are_rejected() {
    let e = err(&format!(
        "{BASE}[[framework]]\nname = \"close\"\npattern = \"关闭 [OBJCT:object]\"\n"
    ));
    match &e {
        ForestError::UnknownLabel {
            label, name, known, ..
        } => {
            assert_eq!((label.as_str(), name.as_str()), ("OBJCT", "close"));
            assert!(
                known.contains("OBJECT") && known.contains("SIZE"),
                "{known}"
            );
        }
        other => panic!("unexpected {other}"),
    }
    let e = err(&format!(
        "{BASE}[[framework]]\nname = \"close\"\npattern = \"关掉 [OBJECT]\"\n"
    ));
    match &e {
        ForestError::UnknownLiteral { literal, hint, .. } => {
            assert_eq!(literal, "关掉");
            assert!(hint.contains("'关闭'"), "{hint}");
        }
        other => panic!("unexpected {other}"),
    }
    let e = err(&format!(
        "{BASE}[[context]]\nname = \"c\"\nword = [\"[NOPE]\"]\nlabel = \"VERB\"\n"
    ));
    assert!(
        matches!(
            e,
            ForestError::UnknownLabel {
                item: "context",
                ..
            }
        ),
        "{e}"
    );
    // punctuation literals need no class
    forest(&format!(
        "{BASE}[[framework]]\nname = \"close\"\npattern = \"关闭 ,? [OBJECT]\"\n"
    ));
}

#[test]
fn bad_patterns_report_the_position() {
    let e = err(&format!(
        "{BASE}[[framework]]\nname = \"close\"\npattern = \"关闭 ([OBJECT]\"\n"
    ));
    match &e {
        ForestError::BadPattern {
            position, pattern, ..
        } => {
            assert_eq!(*position, 3);
            assert_eq!(pattern, "关闭 ([OBJECT]");
        }
        other => panic!("unexpected {other}"),
    }
    let e = err(&format!(
        "{BASE}[[framework]]\nname = \"close\"\npattern = \"关闭 [object]\"\n"
    ));
    assert!(
        matches!(e, ForestError::BadPattern { position: 4, .. }),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}[[framework]]\nname = \"close\"\npattern = \"关闭? [OBJECT]?\"\n"
    ));
    assert!(matches!(e, ForestError::Invalid { .. }), "{e}");
}

#[test]
fn other_invalid_items_are_rejected() {
    let fw = "[[framework]]\nname = \"close\"\npattern = \"关闭 [OBJECT]\"\n";
    let e = err(&format!("{BASE}{fw}{fw}"));
    assert!(
        matches!(&e, ForestError::Invalid { message, .. } if message.contains("two frameworks")),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}[[framework]]\nname = \"x\"\npattern = \"[OBJECT:o] 关闭 [OBJECT:o]\"\n"
    ));
    assert!(
        matches!(&e, ForestError::Invalid { message, .. } if message.contains("twice")),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}[[context]]\nname = \"c\"\nword = [\"程序\"]\njoin = \"after\"\n"
    ));
    assert!(
        matches!(&e, ForestError::Invalid { message, .. } if message.contains("after")),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}[[context]]\nname = \"c\"\nword = [\"程序\"]\n"
    ));
    assert!(
        matches!(&e, ForestError::Invalid { message, .. } if message.contains("changes nothing")),
        "{e}"
    );
    let e = err("[[class]]\nlabel = \"lower\"\ncanonical = \"x\"\n");
    assert!(matches!(e, ForestError::Invalid { .. }), "{e}");
    let e = err("[[class]]\nlabel = \"TEXT\"\ncanonical = \"x\"\n");
    assert!(matches!(e, ForestError::Invalid { .. }), "{e}");
    let e = err("[[klass]]\nlabel = \"A\"\ncanonical = \"x\"\n");
    assert!(
        matches!(&e, ForestError::Toml { message, .. } if message.contains("klass")),
        "{e}"
    );
    let e = err("[[class]\n");
    assert!(matches!(e, ForestError::Toml { .. }), "{e}");
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Forest::load_dir(dir.path()),
        Err(ForestError::NoFiles { .. })
    ));
    assert!(matches!(
        Forest::load_dir(dir.path().join("missing")),
        Err(ForestError::Io { .. })
    ));
}

// ---------------------------------------------------------------- multiplication rule

#[test]
fn coverage_of_a_tiny_forest_matches_hand_count() {
    // VERB: 关闭 关掉 退出 (3), OBJECT: 程序 应用 软件 (3) + 窗口 (1), POLITE: 请 麻烦 (2), BA: 把 (1)
    let f = forest(&format!(
        "{BASE}
[[class]]
label = \"OBJECT\"
canonical = \"窗口\"
[[class]]
label = \"POLITE\"
canonical = \"请\"
synonyms = [\"麻烦\"]
[[class]]
label = \"BA\"
canonical = \"把\"
[[framework]]
name = \"close\"
pattern = \"请? 关闭 [OBJECT:object]\"
[[framework]]
name = \"close_ba\"
frame = \"close\"
pattern = \"把 [OBJECT:object] 关闭\"
"
    ));
    let c = Engine::new(f).coverage();
    // stored: 3 + 4 + 2 + 1 surface forms + 2 frameworks
    assert_eq!(
        (c.surface_forms, c.frameworks, c.stored_entries),
        (10, 2, 12)
    );
    // close: 请 关闭 OBJ = 2*3*4 = 24, 关闭 OBJ = 3*4 = 12; close_ba: 把 OBJ 关闭 = 1*4*3 = 12
    assert_eq!(c.per_framework[0].surface_phrasings, 36);
    assert_eq!(c.per_framework[0].sequences, 2);
    assert_eq!(c.per_framework[1].surface_phrasings, 12);
    assert_eq!(c.surface_phrasings, 48);
    // skeleton (slots count 1): 2*3 + 3 = 9, and 1*3 = 3
    assert_eq!(c.skeleton_phrasings, 12);
    assert!((c.ratio() - 4.0).abs() < 1e-9);
}

#[test]
fn coverage_counts_layer_two_phrasings() {
    let f = forest(
        r#"
        [[class]]
        label = "NEG"
        canonical = "未见"
        synonyms = ["无"]
        [[class]]
        label = "DEGREE"
        canonical = "明显"
        synonyms = ["显著"]
        [[class]]
        label = "FINDING"
        canonical = "异常"
        [[class]]
        label = "ORGAN"
        canonical = "肝脏"
        synonyms = ["肝"]
        [[class]]
        label = "SIDE"
        canonical = "右"
        synonyms = ["右侧"]
        [[context]]
        name = "side"
        word = ["[SIDE]"]
        before = ["[ORGAN]"]
        label = "ORGAN"
        join = "before"
        [[phrase]]
        label = "NORMAL"
        canonical = "正常"
        patterns = ["未见 明显? 异常"]
        [[framework]]
        name = "normal"
        pattern = "[ORGAN:organ] 正常"
        "#,
    );
    let c = Engine::new(f).coverage();
    // stored: 2+2+1+2+2 surfaces, 1 phrase pattern, 1 rule, 1 framework
    assert_eq!(c.stored_entries, 12);
    // ORGAN: 2 surfaces + side join 2*2 = 6; 正常: 2*2*1 + 2*1 = 6 phrasings; 6 * 6 = 36
    assert_eq!(c.surface_phrasings, 36);
    assert_eq!(c.skeleton_phrasings, 6);
}

#[test]
fn bundled_domains_multiply() {
    for d in ["radiology", "jobs", "commands"] {
        let c = domain(d).coverage();
        println!("{c}");
        assert!(c.surface_phrasings > 10 * c.stored_entries as u64, "{c}");
    }
    let r = domain("radiology");
    assert!(r.forest().class_count() >= 40);
    assert!(r.forest().framework_names().len() >= 8);
}

// ---------------------------------------------------------------- layer 2

#[test]
fn context_rules_join_and_relabel() {
    let r = domain("radiology");
    // join after: a shadow word after a density word
    let d = r.digest("稍低密度灶");
    assert_eq!(d.words.len(), 1);
    assert_eq!(
        (d.words[0].canonical.as_str(), d.words[0].label.as_str()),
        ("稍低密度影", "FINDING")
    );
    assert_eq!(d.words[0].layer, 2);
    // on its own the shadow word keeps its form
    assert_eq!(r.digest("灶").normalized, "灶");
    // join before, with a rewritten canonical form: 两 before anatomy reads 双
    let d = r.digest("两侧肾上腺及两肾");
    assert_eq!(d.normalized, "双肾上腺及双肾");
    // relabel without join (jobs): a role base on its own becomes a role
    let j = domain("jobs");
    let d = j.digest("工程师");
    assert_eq!(
        (d.words[0].canonical.as_str(), d.words[0].label.as_str()),
        ("Engineer", "ROLE")
    );
    assert_eq!(d.words[0].layer, 2);
}

#[test]
fn phrases_digest_word_sequences() {
    let r = domain("radiology");
    for t in [
        "未见明显异常",
        "未见异常",
        "无明显异常",
        "未发现确切异常",
        "没有明显异常",
    ] {
        let d = r.digest(t);
        assert_eq!(d.normalized, "未见明显异常", "{t}");
        assert_eq!(d.words.len(), 1, "{t}");
        assert_eq!(d.words[0].label, "NORMAL");
    }
}

#[test]
fn frameworks_choose_homograph_readings() {
    let r = domain("radiology");
    let d = r.digest("脾脏增大");
    assert_eq!(frames(&d), vec!["organ_state(organ=脾脏, state=增大)"]);
    assert_eq!(d.words[1].label, "STATE");
    let d = r.digest("病灶较前增大");
    assert_eq!(frames(&d), vec!["comparison(change=增大, finding=病灶)"]);
    assert_eq!(d.words[2].label, "CHANGE");
}

#[test]
fn frameworks_prefer_the_parse_with_more_slots() {
    let r = domain("radiology");
    // lesion + comparison (3 slots, 2 frames) loses to one comparison with 3 slots
    let d = r.digest("右肺下叶结节较前增大");
    assert_eq!(
        frames(&d),
        vec!["comparison(change=增大, finding=结节, location=右肺下叶)"]
    );
    let d = r.digest("肝右叶见一低密度影，大小约3.2 x 2.8 CM，边界清晰。");
    assert_eq!(
        frames(&d),
        vec![
            "lesion(finding=低密度影, location=肝右叶, size=3.2cm×2.8cm)",
            "margin(margin=边界清晰)"
        ]
    );
    let f = &d.frames[0];
    assert_eq!(f.slots["location"].span, Span::new(0, 3));
    assert_eq!(f.slots["size"].label, "SIZE");
    assert_eq!(
        f.span
            .slice("肝右叶见一低密度影，大小约3.2 x 2.8 CM，边界清晰。"),
        Some("肝右叶见一低密度影，大小约3.2 x 2.8 CM")
    );
}

#[test]
fn constant_slots_are_set() {
    let d = domain("radiology").digest("前列腺大小约4.8cm×4.2cm×3.9cm");
    assert_eq!(
        frames(&d),
        vec!["measurement(dimension=大小, organ=前列腺, value=4.8cm×4.2cm×3.9cm)"]
    );
    assert_eq!(d.frames[0].slots["dimension"].label, "");
}

#[test]
fn commands_domain_covers_the_papers_examples() {
    let c = domain("commands");
    for t in [
        "关闭程序",
        "关掉应用",
        "退出软件",
        "请帮我关闭一下应用",
        "把软件关掉",
        "close the app",
    ] {
        let d = c.digest(t);
        assert_eq!(frames(&d), vec!["close(object=program)"], "{t}");
    }
    assert_eq!(c.digest("关掉应用").normalized, "close program");
    assert_eq!(
        frames(&c.digest("打开 www.baidu.com")),
        vec!["open(object=www.baidu.com)"]
    );
    assert_eq!(
        frames(&c.digest("启动记事本")),
        vec!["open(object=Notepad)"]
    );
    assert_eq!(
        frames(&c.digest("在百度上搜索天气")),
        vec!["search(engine=Baidu, query=天气)"]
    );
    assert_eq!(frames(&c.digest("播放音乐")), vec!["play(object=music)"]);
}

#[test]
fn jobs_domain_normalizes_titles() {
    let j = domain("jobs");
    for (t, norm, frame) in [
        (
            "Sr. SWE",
            "Senior Software Engineer",
            "title(role=Software Engineer, seniority=Senior)",
        ),
        (
            "Snr Software Engineer",
            "Senior Software Engineer",
            "title(role=Software Engineer, seniority=Senior)",
        ),
        (
            "高级软件工程师",
            "Senior Software Engineer",
            "title(role=Software Engineer, seniority=Senior)",
        ),
        (
            "资深程序员",
            "Senior Software Engineer",
            "title(role=Software Engineer, seniority=Senior)",
        ),
        (
            "高级前端工程师",
            "Senior Frontend Engineer",
            "title(role=Frontend Engineer, seniority=Senior)",
        ),
        (
            "初级数据分析师",
            "Junior Data Analyst",
            "title(role=Data Analyst, seniority=Junior)",
        ),
        (
            "资深Java开发",
            "Senior Java Engineer",
            "title(role=Engineer, seniority=Senior, stack=Java)",
        ),
        (
            "Software Engineer (Senior)",
            "Software Engineer (Senior)",
            "title(role=Software Engineer, seniority=Senior)",
        ),
        ("产品经理", "Product Manager", "title(role=Product Manager)"),
    ] {
        let d = j.digest(t);
        assert_eq!(d.normalized, norm, "{t}");
        assert_eq!(frames(&d), vec![frame], "{t}");
    }
}

#[test]
fn digest_mapped_points_into_the_original() {
    // original "肝右叶，见低密度影": a normalizer deleted the full-width comma
    let original = "肝右叶，见低密度影";
    let mut b = NormalizedTextBuilder::new(original.chars().count());
    for (i, c) in original.chars().enumerate() {
        if c == '，' {
            b.push("", Span::new(i, i + 1));
        } else {
            b.push_char(c, i);
        }
    }
    let nt = b.finish();
    let d = domain("radiology").digest_mapped(original, &nt);
    let link = d.words.iter().find(|w| w.canonical == "见").unwrap();
    assert_eq!(link.span, Span::new(4, 5));
    assert_eq!(link.surface, "见");
    assert_eq!(d.frames[0].span, Span::new(0, 9));
}

#[test]
fn annotations_and_json() {
    let d = domain("radiology").digest("肝右叶见一低密度影");
    let a = d.to_annotations("body", "dahsf");
    assert!(a
        .iter()
        .any(|a| a.kind == "dahsf-word" && a.label == "ANATOMY=肝右叶"));
    assert!(
        a.iter()
            .any(|a| a.kind == "dahsf-frame"
                && a.label == "lesion(finding=低密度影, location=肝右叶)")
    );
    let json = serde_json::to_string(&d).unwrap();
    let back: Digest = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
}

// ---------------------------------------------------------------- reloading

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn reload_swaps_in_a_changed_forest_and_keeps_the_old_one_on_error() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &bundled_forest_root().join("commands"),
        &tmp.path().join("commands"),
    );
    let set = ForestSet::open(tmp.path()).unwrap();
    assert_eq!(set.domains(), vec!["commands".to_string()]);
    let before = set.get("commands").unwrap();
    assert!(frames(&before.digest("干掉程序")).is_empty());

    // add a synonym on disk and reload
    let lex = tmp.path().join("commands/lexicon.toml");
    let text = std::fs::read_to_string(&lex).unwrap();
    std::fs::write(&lex, text.replacen("\"关闭\", ", "\"关闭\", \"干掉\", ", 1)).unwrap();
    let after = set.reload("commands").unwrap();
    assert_eq!(
        frames(&after.digest("干掉程序")),
        vec!["close(object=program)"]
    );
    assert_eq!(
        frames(&set.get("commands").unwrap().digest("干掉程序")),
        vec!["close(object=program)"]
    );
    // a reader holding the old engine keeps working with it
    assert!(frames(&before.digest("干掉程序")).is_empty());

    // break a file: reload fails, the previous engine stays
    let fw = tmp.path().join("commands/frameworks.toml");
    std::fs::write(
        &fw,
        "[[framework]]\nname = \"x\"\npattern = \"open [NOPE]\"\n",
    )
    .unwrap();
    let e = set.reload("commands").unwrap_err();
    assert!(matches!(e, ForestError::UnknownLabel { .. }), "{e}");
    assert!(e.to_string().contains("frameworks.toml"), "{e}");
    assert_eq!(
        frames(&set.get("commands").unwrap().digest("干掉程序")),
        vec!["close(object=program)"]
    );

    assert!(matches!(
        set.reload("../etc"),
        Err(ForestError::UnknownDomain(_))
    ));
    assert!(set.reload("missing").is_err());
    assert!(set.get("missing").is_none());
}

// ---------------------------------------------------------------- properties

fn arbitrary_text() -> impl Strategy<Value = String> {
    let pieces = prop::collection::vec(
        prop_oneof![
            Just("肝右叶".to_string()),
            Just("见".to_string()),
            Just("低密度".to_string()),
            Just("影".to_string()),
            Just("两".to_string()),
            Just("未见明显异常".to_string()),
            Just("3.2 x 2.8 CM".to_string()),
            Just("，".to_string()),
            Just("T2WI".to_string()),
            Just("Sr.".to_string()),
            Just("关闭".to_string()),
            Just("www.a.com/".to_string()),
            Just("２０２４年３月".to_string()),
            "[0-9.x×*~%/-]{1,6}",
            "[a-zA-Z0-9 ]{1,8}",
            "\\PC{1,6}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..24,
    );
    pieces.prop_map(|v| v.concat())
}

fn check_digest(e: &Engine, text: &str) {
    let n = text.chars().count();
    let d = e.digest(text);
    let mut last = 0;
    for w in &d.words {
        assert!(
            w.span.start < w.span.end && w.span.end <= n,
            "{w:?} in {text:?}"
        );
        assert!(w.span.start >= last, "words out of order in {text:?}");
        last = w.span.end;
        assert_eq!(w.span.slice(text), Some(w.surface.as_str()));
    }
    for f in &d.frames {
        assert!(f.span.start <= f.span.end && f.span.end <= n);
        for v in f.slots.values() {
            assert!(v.span.end <= n && v.span.start <= v.span.end);
        }
    }
    for w in e.layer1(text) {
        assert!(w.span.end <= n);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn digest_never_panics_and_spans_stay_inside(text in arbitrary_text()) {
        for d in ["radiology", "jobs", "commands"] {
            check_digest(&domain(d), &text);
        }
    }

    #[test]
    fn digest_never_panics_on_any_string(text in "\\PC{0,64}") {
        check_digest(&domain("radiology"), &text);
    }
}
