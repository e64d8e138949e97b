"""Contrastive search (`sampler=contrastive`) against transformers 4.46.3's own `generate(
penalty_alpha, top_k)`, recorded in tests/fixtures/contrastive/hf_contrastive.json by
scripts/contrastive_fixtures.py on seeded tiny Qwen2 and Llama models (a left-padded batch of 3
prompts; rows ending at EOS at different steps): the same tokens, row by row. Also: α = 0 is
greedy (argmax, by hand), run.py runs it end to end, and bad parameters or options it cannot
honour give one line naming the field. The slow test regenerates the record when an interpreter
with transformers 4.x is named in ALPHA_HF4_PYTHON."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch

from alpha import build_sampler
from alpha.contrastive import ContrastiveSearch, rank
from alpha.generation import _generate_batch, generate
from tests.conftest import ROOT, make_tiny_model

FIXTURE = ROOT / "tests" / "fixtures" / "contrastive" / "hf_contrastive.json"
DATA = json.loads(FIXTURE.read_text())
_spec = importlib.util.spec_from_file_location("contrastive_fixtures",
                                               ROOT / "scripts" / "contrastive_fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def _decode(model, search, prompts, new_tokens, eos):
    fin, names, rows_run = _generate_batch(
        model, None, prompts, list(range(len(prompts))), sampler=search, cap=None, seed=0,
        max_new_tokens=new_tokens, eos=[eos], pad_id=DATA["pad"], stop_strings=None,
        streamer=None, prefix_cache=False)
    return [fin.out[i][0] for i in range(len(prompts))], fin, names, rows_run


def test_the_record_names_its_source():
    assert DATA["source"].startswith("transformers 4.46.3")
    assert "contrastive_fixtures.py" in DATA["command"]
    ends = [len(t) for c in DATA["cases"] for t in c["tokens"]]
    assert min(ends) < DATA["new_tokens"] == max(ends)  # some rows end at EOS, some run on


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: f"{c['arch']}-a{c['penalty_alpha']}"
                                                               f"-k{c['top_k']}")
def test_contrastive_search_gives_transformers_tokens(case):
    model = fixtures.seeded_model(case["arch"])
    search = ContrastiveSearch(penalty_alpha=case["penalty_alpha"], top_k=case["top_k"])
    tokens, fin, names, rows_run = _decode(model, search, DATA["prompts"], DATA["new_tokens"],
                                           DATA["eos"])
    assert tokens == case["tokens"]
    # every step ran k candidate rows per live row
    assert rows_run == case["top_k"] * sum(len(t) for t in tokens)
    trace = fin.out[0][2]
    assert names == ["cs_prob", "cs_penalty"] and all(0 < p <= 1 for p in trace[0])


def test_zero_alpha_is_greedy():
    """α = 0: the score is p(v), the argmax of the k candidates is the argmax token; checked
    step by step against the model's own argmax on the growing sequence (no cache)."""
    model = fixtures.seeded_model("qwen2")
    prompt = DATA["prompts"][1]
    tokens, *_ = _decode(model, ContrastiveSearch(penalty_alpha=0.0, top_k=3), [prompt], 10, -1)
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(10):
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    assert tokens[0] == seq[len(prompt):]


def test_rank_by_hand():
    """Two candidates, context [e1, e2]: candidate 0 = e1 (cos 1), candidate 1 = (e1 + e2)/√2
    (cos 0.707 to both). p = (0.6, 0.4), α = 0.5: scores 0.5·0.6 - 0.5·1 = -0.2 and
    0.5·0.4 - 0.5·0.707 = -0.154: candidate 1. With e1 masked out (a pad), candidate 0's
    penalty is its cos to e2 = 0: score 0.3, candidate 0."""
    ctx = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    cand = torch.tensor([[[1.0, 0.0], [2 ** -0.5, 2 ** -0.5]]])
    probs = torch.tensor([[0.6, 0.4]])
    kept, penalty = rank(ctx, torch.tensor([[1, 1]]), cand, probs, 0.5)
    assert kept.tolist() == [1] and penalty[0].tolist() == pytest.approx([1.0, 2 ** -0.5])
    kept, penalty = rank(ctx, torch.tensor([[0, 1]]), cand, probs, 0.5)
    assert kept.tolist() == [0] and penalty[0, 0].item() == pytest.approx(0.0, abs=1e-7)


def test_generate_runs_it_and_refuses_what_it_cannot_honour(tiny_tokenizer):
    model = make_tiny_model("llama")
    res = generate(model, tiny_tokenizer, ["hello there", "a"], sampler=build_sampler(
        "contrastive", penalty_alpha=0.6, top_k=3), max_new_tokens=6, seed=0)
    again = generate(model, tiny_tokenizer, ["hello there", "a"], sampler=build_sampler(
        "contrastive", penalty_alpha=0.6, top_k=3), max_new_tokens=6, seed=123)
    assert res.token_ids == again.token_ids  # deterministic: the seed plays no part
    assert set(res.traces[0]) == {"cs_prob", "cs_penalty"}
    assert res.timing["decode_rows"] == 3 * sum(len(t) for t in res.token_ids)
    with pytest.raises(ValueError, match="record_signals, branching is not available"):
        generate(model, tiny_tokenizer, ["a"], sampler=build_sampler("contrastive"),
                 max_new_tokens=2, record_signals=True, branching=True)


@pytest.mark.parametrize(("params", "message"), [
    ({"penalty_alpha": 1.5}, "sampler.penalty_alpha=1.5"),
    ({"penalty_alpha": -0.1}, "sampler.penalty_alpha=-0.1"),
    ({"top_k": 0}, "sampler.top_k=0"),
    ({"top_k": 2.5}, "sampler.top_k=2.5"),
])
def test_bad_parameters_name_the_field(params, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        build_sampler("contrastive", **params)


def test_step_alone_says_it_needs_the_model():
    with pytest.raises(ValueError, match="needs the model"):
        ContrastiveSearch().step(torch.zeros(1, 4), torch.zeros(1, 1, dtype=torch.long))


def test_run_py_runs_contrastive_search(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                          "sampler=contrastive", "max_new_tokens=5", f"hydra.run.dir={out}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [json.loads(x) for x in (out / "generations.jsonl").read_text().splitlines()]
    assert rows and all(set(r["trace"]) == {"cs_prob", "cs_penalty"} for r in rows)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("ALPHA_HF4_PYTHON"),
                    reason="set ALPHA_HF4_PYTHON to a python with transformers 4.x")
def test_the_record_regenerates_from_transformers_4():
    code = ("import importlib.util, json, sys; s = importlib.util.spec_from_file_location('f', "
            f"{str(ROOT / 'scripts' / 'contrastive_fixtures.py')!r}); m = importlib.util."
            "module_from_spec(s); s.loader.exec_module(m); print(json.dumps(m.record()))")
    out = subprocess.run([os.environ["ALPHA_HF4_PYTHON"], "-c", code], capture_output=True,
                         text=True, timeout=600, check=True)
    assert json.loads(out.stdout)["cases"] == DATA["cases"]


def test_a_row_alone_equals_the_row_in_its_batch():
    case = DATA["cases"][0]
    model = fixtures.seeded_model(case["arch"])
    search = ContrastiveSearch(penalty_alpha=case["penalty_alpha"], top_k=case["top_k"])
    for prompt, want in zip(DATA["prompts"], case["tokens"], strict=True):
        alone, *_ = _decode(model, search, [prompt], DATA["new_tokens"], DATA["eos"])
        assert alone[0] == want
