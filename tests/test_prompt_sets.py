"""The bundled prompt sets (data/*.jsonl) and `alpha.data.load_prompts`.

References: the raw files read with `json` (not datasets), answers re-derived from the numbers
in each problem's text, the tiny model's own metrics.json for which works were held out.
Bad inputs tried: malformed JSON line, non-object line, missing field, list-valued field,
empty file, unknown bundled name / missing file, unknown split, negative limit and dev_size.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from alpha.data import DATA_DIR, load_prompts

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "tiny-shakespeare"


def _script(name: str):
    if str(ROOT / "scripts") not in sys.path:  # scripts import their siblings, as when run
        sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _raw(name: str) -> list[dict]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# ---------------------------------------------------------------- committed sets
@pytest.mark.parametrize("name, minimum, fields", [
    ("heldout_passages.jsonl", 200, ("id", "prompt", "reference", "work")),
    ("open_prompts.jsonl", 100, ("id", "prompt", "category")),
    ("arithmetic.jsonl", 300, ("id", "prompt", "answer", "kind")),
])
def test_committed_sets_have_rows_fields_and_unique_ids(name, minimum, fields):
    rows = _raw(name)
    assert len(rows) >= minimum
    for r in rows:
        for f in fields:
            assert isinstance(r[f], str) and r[f].strip(), (name, r["id"], f)
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["prompt"] for r in rows}) == len(rows)  # no duplicate prompts


def test_heldout_comes_only_from_works_the_model_did_not_train_on():
    meta = json.loads((MODEL_DIR / "metrics.json").read_text())
    works = {r["work"] for r in _raw("heldout_passages.jsonl")}
    assert works == set(meta["data"]["val_works"])
    assert not works & set(meta["data"]["train_works"])


def test_heldout_prompt_and_reference_lengths_in_model_tokens():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    rows = _raw("heldout_passages.jsonl")
    for r in rows[:60]:
        n_p = len(tok(r["prompt"], add_special_tokens=False)["input_ids"])
        n_r = len(tok(r["reference"], add_special_tokens=False)["input_ids"])
        assert 20 <= n_p <= 34 and 100 <= n_r <= 132, (r["id"], n_p, n_r)
        assert not r["prompt"][-1].isspace()  # prompts end on a word, never mid-word or space
        assert r["reference"][0].isspace() or not r["reference"][0].isalnum()


def _solve(kind: str, text: str) -> int:
    """Independent answer: the problem's numbers in order, combined as its kind says."""
    n = [int(x) for x in re.findall(r"\d+", text)]
    return {"add": lambda: n[0] + n[1], "sub": lambda: n[0] - n[1], "mul": lambda: n[0] * n[1],
            "div": lambda: n[0] // n[1], "two_step": lambda: n[0] * n[1] - n[2],
            "money": lambda: n[2] - n[0] * n[1]}[kind]()


def test_arithmetic_answers_match_the_numbers_in_the_text():
    rows = _raw("arithmetic.jsonl")
    assert {r["kind"] for r in rows} == {"add", "sub", "mul", "div", "two_step", "money"}
    for r in rows:
        assert int(r["answer"]) == _solve(r["kind"], r["prompt"]), r
        if r["kind"] == "div":
            a, b = (int(x) for x in re.findall(r"\d+", r["prompt"])[:2])
            assert a % b == 0  # integer answers only
    assert all(int(r["answer"]) >= 0 for r in rows)


def test_generated_sets_are_reproducible_from_the_script():
    mod = _script("make_prompt_sets")
    assert mod.make_arithmetic(n=300, seed=0) == _raw("arithmetic.jsonl")
    assert mod.make_open(seed=0) == _raw("open_prompts.jsonl")
    assert mod.make_arithmetic(n=30, seed=1) != mod.make_arithmetic(n=30, seed=0)


def test_passages_are_adjacent_exact_substrings_starting_on_a_line(tiny_tokenizer):
    mod = _script("make_prompt_sets")
    text = "\n".join(f"Line {i} of the quiet hills and the river ran down to the sea."
                     for i in range(60)) + "\n"
    pairs = mod.passages(text, tiny_tokenizer, prompt_tokens=8, ref_tokens=24)
    assert len(pairs) >= 5
    last = 0
    for p, r in pairs:
        start = text.index(p + r, last)
        assert start == 0 or text[start - 1] == "\n"
        assert not p[-1].isspace() and r[0].isspace()
        last = start + len(p + r)  # non-overlapping, in order


# ---------------------------------------------------------------- load_prompts
def test_load_prompts_matches_raw_file_and_splits():
    raw = _raw("heldout_passages.jsonl")
    rows = load_prompts("heldout_passages", reference_field="reference", split="all")
    assert [r["prompt"] for r in rows] == [r["prompt"] for r in raw]
    assert [r["reference"] for r in rows] == [r["reference"] for r in raw]
    assert [r["index"] for r in rows] == list(range(len(raw)))
    assert rows[0]["answer"] is None and rows[0]["fields"]["id"] == raw[0]["id"]
    dev = load_prompts("heldout_passages", split="dev")
    test = load_prompts("heldout_passages", split="test", limit=5)
    assert [r["index"] for r in dev] == list(range(50))
    assert [r["index"] for r in test] == [50, 51, 52, 53, 54]
    assert len(load_prompts(DATA_DIR / "open_prompts.jsonl", split="dev", dev_size=7)) == 7


def test_load_prompts_answers_are_text():
    rows = load_prompts("arithmetic", answer_field="answer", limit=3)
    assert [r["answer"] for r in rows] == [r["answer"] for r in _raw("arithmetic.jsonl")[:3]]


def _write(tmp_path, lines: list[str]) -> Path:
    p = tmp_path / "set.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.parametrize("lines, kwargs, match", [
    (['{"prompt": "a"}', '{"prompt": "b"}', '{"prompt": "c",}'], {}, r"set\.jsonl:3: malformed JSON"),
    (['{"prompt": "a"}', '["prompt"]'], {}, r"set\.jsonl:2: expected a JSON object"),
    (['{"prompt": "a", "reference": "x"}', '{"prompt": "b"}'], {"reference_field": "reference"},
     r"set\.jsonl:2: missing field 'reference'"),
    (['{"text": "a"}'], {}, r"set\.jsonl:1: missing field 'prompt' \(line has \['text'\]\)"),
    (['{"prompt": ["a"]}'], {}, r"set\.jsonl:1: field 'prompt' is list"),
    (['', '  '], {}, r"set\.jsonl: no rows"),
    (['{"prompt": "a"}'], {"split": "validation"}, r"split='validation' is unknown"),
    (['{"prompt": "a"}'], {"limit": -1}, r"limit=-1 must be >= 0"),
    (['{"prompt": "a"}'], {"split": "dev", "dev_size": -2}, r"dev_size=-2"),
])
def test_bad_prompt_files_name_file_line_and_field(tmp_path, lines, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_prompts(_write(tmp_path, lines), **kwargs)


def test_unknown_name_or_missing_file_lists_bundled_sets(tmp_path):
    with pytest.raises(ValueError, match=r"is not a file.*arithmetic"):
        load_prompts("shakespeare_sonnets")
    with pytest.raises(ValueError, match=r"nope\.jsonl' is not a file"):
        load_prompts(tmp_path / "nope.jsonl")
