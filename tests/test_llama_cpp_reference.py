"""Our samplers against llama.cpp's own, from records of its sampler chain (no model).

tests/fixtures/llama_cpp/samplers.json holds what llama-cpp-python 0.3.36 (llama.cpp built from
its sdist) did on fixed logits: kept token ids for top-nσ, XTC (probability 1), min-p and typical;
for Mirostat v2 and adaptive-p, ten steps of one sequence with the token llama.cpp drew (its own
RNG); for DRY, the logits it leaves after token histories with repeats, without sequence
breakers and with them on GPT-2's vocabulary (the vocab-only GGUF from the same sdist, committed
xz-compressed beside the record; our side loads its tokenizer through transformers' GGUF
loader). Regenerate with `python scripts/llama_cpp_fixtures.py`. The stateful ones are replayed with
the RNG factored out: our sampler is fed llama.cpp's drawn tokens, and what follows from them
(Mirostat's kept sets through μ, adaptive-p's reshaped probabilities through its moving average)
must match step by step. The slow test regenerates the records when `llama_cpp` is importable.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from alpha import build_sampler
from alpha.truncation import TopNSigmaLogitsWarper, xtc_keep

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "llama_cpp" / "samplers.json"
DATA = json.loads(FIXTURE.read_text())


def _cases(kind: str) -> list[tuple[str, dict]]:
    return [(k, c) for k, c in DATA["cases"].items() if c["sampler"] == kind]


def _ids(mask: torch.Tensor) -> list[int]:
    return mask.nonzero().flatten().tolist()


def test_the_records_name_their_source():
    assert DATA["llama_cpp_python"] == "0.3.36"
    assert DATA["command"] == "python scripts/llama_cpp_fixtures.py"
    kinds = {c["sampler"] for c in DATA["cases"].values()}
    assert kinds == {"top_n_sigma", "xtc", "min_p", "typical", "mirostat_v2", "adaptive_p", "dry",
                     "dry_breakers"}


@pytest.mark.parametrize("name,case", _cases("top_n_sigma"))
def test_top_n_sigma_keeps_what_llama_cpp_keeps(name, case):
    x = torch.tensor(case["logits"])
    got = torch.isfinite(TopNSigmaLogitsWarper(case["params"]["n"])(None, x))
    assert [_ids(r) for r in got] == case["kept"]


@pytest.mark.parametrize("name,case", _cases("xtc"))
def test_xtc_keeps_what_llama_cpp_keeps(name, case):
    x = torch.tensor(case["logits"])
    p = torch.softmax(x, -1)
    keep = xtc_keep(p, case["params"]["threshold"], 1, torch.ones(len(x), dtype=torch.bool))
    assert [_ids(r) for r in keep] == case["kept"]


@pytest.mark.parametrize("name,case", _cases("min_p") + _cases("typical"))
def test_min_p_and_typical_keep_what_llama_cpp_keeps(name, case):
    """Cross-checks: our min-p and typical are transformers' warpers; llama.cpp agrees."""
    x = torch.tensor(case["logits"])
    s = build_sampler(case["sampler"], **case["params"])
    got = torch.isfinite(s.filtered(x, torch.zeros(len(x), 1, dtype=torch.long)))
    assert [_ids(r) for r in got] == case["kept"]


@pytest.mark.parametrize("name,case", _cases("mirostat_v2"))
def test_mirostat_v2_replays_llama_cpp_step_by_step(name, case):
    s = build_sampler("mirostat_v2", **case["params"])
    s.reset(1)
    for x, kept, token in zip(case["logits"], case["kept"], case["selected"], strict=True):
        scores = s.scores(torch.tensor([x]))
        assert _ids(torch.isfinite(scores[0])) == kept
        assert token in kept
        s.update(scores, torch.tensor([token]))


@pytest.mark.parametrize("name,case", _cases("adaptive_p"))
def test_adaptive_p_replays_llama_cpp_step_by_step(name, case):
    s = build_sampler("adaptive_p", **case["params"])
    s.reset(1)
    for x, probs, token in zip(case["logits"], case["probs"], case["selected"], strict=True):
        p, scores = s.transform(torch.tensor([x]))
        torch.testing.assert_close(torch.softmax(scores, -1)[0], torch.tensor(probs),
                                   atol=1e-6, rtol=1e-4)
        s.accept(p, torch.tensor([token]))


@pytest.mark.parametrize("name,case", _cases("dry"))
def test_dry_penalises_as_llama_cpp_does(name, case):
    """DRY without sequence breakers (llama.cpp needs no vocabulary then): the same logits after
    the penalty, for histories with a motif repeated whole and in part."""
    from alpha.dry import dry_penalties

    p = case["params"]
    for h, x, want in zip(case["histories"], case["logits"], case["out"], strict=True):
        pen = dry_penalties(h, multiplier=p["multiplier"], base=p["base"],
                            allowed=p["allowed_length"], last_n=p["penalty_last_n"], breakers={})
        got = torch.tensor(x)
        for tok, amount in pen.items():
            got[tok] -= amount
        torch.testing.assert_close(got, torch.tensor(want))


@pytest.fixture(scope="module")
def gpt2_vocab(tmp_path_factory):
    """GPT-2's tokenizer from the committed vocab-only GGUF (transformers' GGUF loader)."""
    from transformers import AutoTokenizer

    spec = importlib.util.spec_from_file_location("fixtures", ROOT / "scripts" /
                                                  "llama_cpp_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module.vocab_file(tmp_path_factory.mktemp("vocab"))
    return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


@pytest.mark.parametrize("name,case", _cases("dry_breakers"))
def test_dry_with_sequence_breakers_penalises_as_llama_cpp_does(name, case, gpt2_vocab):
    """DRY with sequence breakers (llama.cpp's defaults; multi-token ones; one that ends inside
    tokens) on GPT-2's vocabulary: our breaker processing (`bind_tokenizer`, from transformers'
    tokenizer of the same GGUF) and penalties leave the same logits on every candidate (every
    token of the history plus 8 others) as llama.cpp's sampler after the same history."""
    p = case["params"]
    sampler = build_sampler("dry", multiplier=p["multiplier"], base=p["base"],
                            allowed_length=p["allowed_length"], penalty_last_n=p["penalty_last_n"],
                            sequence_breakers=p["sequence_breakers"])
    sampler.bind_tokenizer(gpt2_vocab)
    penalised = 0
    for h, cands, x, want in zip(case["histories"], case["candidates"], case["logits"],
                                 case["out"], strict=True):
        logits = torch.zeros(1, len(gpt2_vocab))
        logits[0, cands] = torch.tensor(x)
        got = sampler.penalised(logits, torch.tensor([h]), None)[0, cands]
        torch.testing.assert_close(got, torch.tensor(want))
        penalised += int((torch.tensor(want) != torch.tensor(x)).sum())
    assert penalised > 0  # the histories do reach the penalty


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                    reason="llama_cpp not installed (pip install --no-binary :all: llama-cpp-python==0.3.36)")
def test_the_records_regenerate_from_llama_cpp():
    spec = importlib.util.spec_from_file_location("fixtures", ROOT / "scripts" / "llama_cpp_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads(json.dumps(module.record_all())) == DATA
