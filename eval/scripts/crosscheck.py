#!/usr/bin/env python3
"""Reference values for Quarry's metric cross-checks (eval/tests/metrics_crosscheck.rs).

Two jobs:

1. ``--generate`` (standard library only): regenerate the shared fixtures deterministically
   from a fixed seed into ``eval/tests/fixtures/``:

   * ``ir/qrels.txt``: TREC qrels (``qid 0 docid grade``), grades 0-3, 24 queries, some with
     no relevant document (all judged 0), one (``q20``) absent from ``run_a.trec``.
   * ``ir/run_a.trec``, ``ir/run_b.trec``: TREC runs (``qid Q0 docid rank score tag``) with
     tied scores (ties straddling relevant and non-relevant documents), unjudged documents,
     scores that differ only beyond float32 precision, lines out of rank order, a rank column
     that disagrees with the scores, and a run-only query (``q99``).
   * ``ner/gold.bio``, ``ner/pred.bio``: character BIO (``char<TAB>tag``, a blank line between
     sentences) with I- without B-, type changes mid-chunk, IOBES tags in the predictions and
     sentences without entities.

2. (default) compute the reference values with pytrec_eval (pytrec-eval-terrier) and seqeval
   from the fixtures and write ``eval/tests/fixtures/expected.json``.

The script only uses the interpreter it runs under; nothing is tied to a virtualenv path.
To reproduce::

    python3 -m venv /tmp/crosscheck-venv
    /tmp/crosscheck-venv/bin/pip install -r eval/scripts/requirements-crosscheck.txt
    /tmp/crosscheck-venv/bin/python eval/scripts/crosscheck.py --generate
    cargo test -p quarry-eval --test metrics_crosscheck
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

SEED = 20240611
IR_MEASURES = [
    "ndcg_cut.5",
    "ndcg_cut.10",
    "ndcg_cut.20",
    "map",
    "recip_rank",
    "recall.10",
    "recall.100",
    "P.5",
    "P.10",
]
RUNS = ["run_a.trec", "run_b.trec"]
NER_TYPES = ["dis", "sym", "dru", "bod", "pro"]
CHARS = "患者男性岁因反复咳嗽咳痰伴发热三天入院既往高血压糖尿病史查体双肺呼吸音粗可闻及湿罗音给予头孢抗感染治疗胸部CT示右下肺炎"

DEFAULT_FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


# --------------------------------------------------------------------------------------------
# Fixture generation (standard library only)
# --------------------------------------------------------------------------------------------


def _grade(rng: random.Random) -> int:
    x = rng.random()
    if x < 0.5:
        return 0
    if x < 0.75:
        return 1
    if x < 0.9:
        return 2
    return 3


def generate_ir(rng: random.Random, out: Path) -> None:
    qids = [f"q{i}" for i in range(1, 25)]
    no_relevant = {"q3", "q7", "q15"}
    qrels: dict[str, dict[str, int]] = {}
    for q in qids:
        n = rng.randint(5, 25)
        docs = rng.sample(range(1, 400), n)
        judged = {f"D{d}": _grade(rng) for d in docs}
        if q in no_relevant:
            judged = {d: 0 for d in judged}
        elif not any(g > 0 for g in judged.values()):
            judged[next(iter(judged))] = rng.randint(1, 3)
        if q == "q24":  # exactly one relevant document
            first = True
            for d in judged:
                judged[d] = 2 if first else 0
                first = False
        if q == "q2":  # see the float32 tie in make_run
            judged["D100"] = 3
            judged["D99"] = 0
        qrels[q] = judged

    with open(out / "qrels.txt", "w", encoding="utf-8") as f:
        for q in qids:
            for d in sorted(qrels[q], key=lambda s: rng.random()):
                f.write(f"{q} 0 {d} {qrels[q][d]}\n")

    def make_run(name: str, skip: set[str], quality: float) -> None:
        lines = []
        for q in qids + ["q99"]:
            if q in skip:
                continue
            judged = qrels.get(q, {})
            size = rng.choice([0, 3, 8, 15, 40, 120, 150]) if q != "q99" else 10
            if q == "q1":
                size = 150
            docs = [d for d in judged if rng.random() < 0.75]
            while len(docs) < size:
                d = f"D{rng.randint(1, 999)}"
                if d not in docs:
                    docs.append(d)
            docs = docs[: max(size, 1)] if size else []
            style = rng.choice(["tenth", "integer", "free"])
            scored = []
            for d in docs:
                g = judged.get(d, 0)
                base = rng.uniform(0, 20) + quality * g * 3
                if style == "tenth":
                    s = f"{round(base, 1):.1f}"
                elif style == "integer":
                    s = str(int(base // 4))
                else:
                    s = repr(round(base, 6))
                scored.append((d, s))
            if q == "q2":
                # Top two scores differ only beyond float32 precision, so trec_eval sees a
                # tie and ranks the larger docid first: the non-relevant D99 before the
                # relevant D100, although D100's double score is higher.
                scored = [x for x in scored if x[0] not in {"D100", "D99"}]
                scored += [("D100", "50.000000002"), ("D99", "50.000000001")]
            scored.sort(key=lambda x: -float(x[1]))
            ranked = [(q, d, i + 1, s) for i, (d, s) in enumerate(scored)]
            if q in {"q4", "q9"}:
                rng.shuffle(ranked)  # line order and rank column carry no meaning
            if q == "q6":
                ranked = [(qq, d, len(ranked) - r + 1, s) for (qq, d, r, s) in ranked]
            lines.extend(ranked)
        with open(out / name, "w", encoding="utf-8") as f:
            for q, d, r, s in lines:
                f.write(f"{q} Q0 {d} {r} {s} {name.split('.')[0]}\n")

    make_run("run_a.trec", {"q20"}, 0.6)
    make_run("run_b.trec", {"q5", "q11"}, 1.5)


def _random_entities(rng: random.Random, n: int) -> list[tuple[int, int, str]]:
    ents = []
    i = 0
    while i < n:
        if rng.random() < 0.25:
            length = rng.randint(1, 5)
            if i + length <= n:
                ents.append((i, i + length, rng.choice(NER_TYPES)))
                i += length + rng.randint(0, 2)
                continue
        i += 1
    return ents


def _to_bio(n: int, ents: list[tuple[int, int, str]]) -> list[str]:
    tags = ["O"] * n
    for s, e, t in ents:
        tags[s] = f"B-{t}"
        for i in range(s + 1, e):
            tags[i] = f"I-{t}"
    return tags


def _perturb(rng: random.Random, n: int, gold: list[tuple[int, int, str]]) -> list[str]:
    tags = ["O"] * n
    for s, e, t in gold:
        x = rng.random()
        if x < 0.08:
            continue  # missed
        if x < 0.16:
            t = rng.choice(NER_TYPES)  # wrong type
        elif x < 0.24:
            e = max(s + 1, min(n, e + rng.choice([-1, 1])))  # boundary error
        if all(tags[i] == "O" for i in range(s, e)):
            style = rng.random()
            if style < 0.1:
                # conlleval: I- without B-
                for i in range(s, e):
                    tags[i] = f"I-{t}"
            elif style < 0.2 and e - s >= 2:
                # IOBES
                tags[s] = f"B-{t}"
                for i in range(s + 1, e - 1):
                    tags[i] = f"I-{t}"
                tags[e - 1] = f"E-{t}"
            elif style < 0.25 and e - s == 1:
                tags[s] = f"S-{t}"
            elif style < 0.32 and e - s >= 3:
                # type change mid-chunk
                other = rng.choice([x for x in NER_TYPES if x != t])
                tags[s] = f"B-{t}"
                for i in range(s + 1, e):
                    tags[i] = f"I-{t}" if i < s + 2 else f"I-{other}"
            else:
                tags[s] = f"B-{t}"
                for i in range(s + 1, e):
                    tags[i] = f"I-{t}"
    if rng.random() < 0.2:  # spurious entity
        i = rng.randrange(n)
        if tags[i] == "O":
            tags[i] = f"B-{rng.choice(NER_TYPES)}"
    return tags


def generate_ner(rng: random.Random, out: Path) -> None:
    handmade = [
        # (chars, gold tags, predicted tags)
        ("患者无不适", ["O"] * 5, ["O"] * 5),
        ("咳嗽发热", ["B-sym", "I-sym", "B-sym", "I-sym"], ["I-sym", "I-sym", "O", "I-sym"]),
        ("高血压病史", ["B-dis", "I-dis", "I-dis", "O", "O"], ["B-dis", "I-dis", "I-sym", "O", "O"]),
        ("双肺湿罗音", ["B-bod", "I-bod", "B-sym", "I-sym", "I-sym"], ["B-bod", "B-bod", "I-sym", "I-sym", "I-sym"]),
        ("头孢抗感染", ["B-dru", "I-dru", "O", "O", "O"], ["B-dru", "E-dru", "S-pro", "O", "O"]),
        ("给予治疗", ["O", "O", "O", "O"], ["O", "O", "B-pro", "I-pro"]),
        ("肺炎", ["B-dis", "I-dis"], ["O", "O"]),
        ("胸部CT", ["B-bod", "I-bod", "B-pro", "I-pro"], ["B-bod", "I-pro", "I-pro", "E-pro"]),
        ("反复咳痰", ["O", "O", "B-sym", "I-sym"], ["O", "I-sym", "I-dis", "I-sym"]),
    ]
    sentences = list(handmade)
    for _ in range(80):
        n = rng.randint(4, 30)
        chars = "".join(rng.choice(CHARS) for _ in range(n))
        ents = [] if rng.random() < 0.12 else _random_entities(rng, n)
        sentences.append((chars, _to_bio(n, ents), _perturb(rng, n, ents)))
    with open(out / "gold.bio", "w", encoding="utf-8") as g, open(
        out / "pred.bio", "w", encoding="utf-8"
    ) as p:
        for idx, (chars, gt, pt) in enumerate(sentences):
            if idx:
                g.write("\n")
                p.write("\n")
            for c, a, b in zip(chars, gt, pt):
                g.write(f"{c}\t{a}\n")
                p.write(f"{c}\t{b}\n")


def generate(fixtures: Path) -> None:
    rng = random.Random(SEED)
    (fixtures / "ir").mkdir(parents=True, exist_ok=True)
    (fixtures / "ner").mkdir(parents=True, exist_ok=True)
    generate_ir(rng, fixtures / "ir")
    generate_ner(rng, fixtures / "ner")


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q, _, d, g = line.split()
        qrels.setdefault(q, {})[d] = int(g)
    return qrels


def read_run(path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q, _, d, _, s, _ = line.split()
        run.setdefault(q, {})[d] = float(s)
    return run


def read_bio(path: Path) -> list[list[str]]:
    sentences: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line == "":
            if sentences[-1]:
                sentences.append([])
            continue
        _, tag = line.rsplit("\t", 1)
        sentences[-1].append(tag)
    if not sentences[-1]:
        sentences.pop()
    return sentences


# --------------------------------------------------------------------------------------------
# Reference values
# --------------------------------------------------------------------------------------------


def ir_expected(fixtures: Path) -> dict:
    import pytrec_eval

    qrels = read_qrels(fixtures / "ir" / "qrels.txt")
    out = {"measures": IR_MEASURES, "runs": {}}
    for name in RUNS:
        run = read_run(fixtures / "ir" / name)
        evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(IR_MEASURES))
        per_query = evaluator.evaluate(run)
        names = sorted(next(iter(per_query.values())).keys())
        mean = {m: sum(v[m] for v in per_query.values()) / len(per_query) for m in names}
        # trec_eval -c / BEIR convention: every qrels query, missing ones as 0.
        mean_all = {m: sum(v[m] for v in per_query.values()) / len(qrels) for m in names}
        out["runs"][name] = {
            "per_query": per_query,
            "mean": mean,
            "queries": len(per_query),
            "mean_all_qrels": mean_all,
            "qrels_queries": len(qrels),
        }
    return out


def ner_expected(fixtures: Path) -> dict:
    from seqeval.metrics import (
        classification_report,
        f1_score,
        precision_score,
        recall_score,
    )
    from seqeval.metrics.sequence_labeling import get_entities

    gold = read_bio(fixtures / "ner" / "gold.bio")
    pred = read_bio(fixtures / "ner" / "pred.bio")
    assert len(gold) == len(pred), "gold and pred sentence counts differ"
    for g, p in zip(gold, pred):
        assert len(g) == len(p), "gold and pred sentence lengths differ"
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    per_type = {
        t: {
            "precision": float(v["precision"]),
            "recall": float(v["recall"]),
            "f1": float(v["f1-score"]),
            "support": int(v["support"]),
        }
        for t, v in report.items()
        if t not in {"micro avg", "macro avg", "weighted avg"}
    }
    return {
        "sentences": len(gold),
        "micro": {
            "precision": float(precision_score(gold, pred)),
            "recall": float(recall_score(gold, pred)),
            "f1": float(f1_score(gold, pred)),
        },
        "macro": {
            "precision": float(report["macro avg"]["precision"]),
            "recall": float(report["macro avg"]["recall"]),
            "f1": float(report["macro avg"]["f1-score"]),
        },
        "micro_report": {
            "precision": float(report["micro avg"]["precision"]),
            "recall": float(report["micro avg"]["recall"]),
            "f1": float(report["micro avg"]["f1-score"]),
            "support": int(report["micro avg"]["support"]),
        },
        "per_type": per_type,
        "entities": {
            "gold": [[list(e) for e in get_entities(s)] for s in gold],
            "pred": [[list(e) for e in get_entities(s)] for s in pred],
        },
    }


def versions() -> dict:
    from importlib.metadata import version

    return {
        "python": sys.version.split()[0],
        "pytrec-eval-terrier": version("pytrec-eval-terrier"),
        "seqeval": version("seqeval"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="fixture directory")
    ap.add_argument("--generate", action="store_true", help="regenerate the fixture files first")
    ap.add_argument(
        "--generate-only",
        action="store_true",
        help="only regenerate the fixture files (no pytrec_eval / seqeval needed)",
    )
    args = ap.parse_args()
    fixtures: Path = args.fixtures
    if args.generate or args.generate_only:
        generate(fixtures)
        print(f"fixtures written to {fixtures}")
        if args.generate_only:
            return 0
    expected = {
        "seed": SEED,
        "versions": versions(),
        "ir": ir_expected(fixtures),
        "ner": ner_expected(fixtures),
    }
    tmp = fixtures / "expected.json.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, fixtures / "expected.json")
    print(f"wrote {fixtures / 'expected.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
