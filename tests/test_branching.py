"""`generate(branching=True)`: k samples of a prompt run as one model row until their tokens
part, then fork. Checked against the plain engine (every sample its own model row): the same
tokens, finish reasons, traces and log-probs for stateless, gated and stateful samplers, with
a shared few-shot prefix, the attention capture and rows finishing at different steps (EOS and
stop strings); and the
rows the model ran against a brute-force count of the distinct prefixes of each prompt's samples.
Inputs tried: 2 prompts x 4 samples (shared >= 32-token prefix), one prompt x 6, a batch of
distinct prompts (nothing to share), the fixed_batch conflict and a non-bool flag."""

from __future__ import annotations

import pytest
import torch

from alpha import build_sampler
from alpha.data.records import expand_samples
from alpha.generation import fork, generate
from tests.conftest import make_tiny_model

HEAD = "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat. "
EOS = 69  # a token this peaked tiny model draws often: rows end at different steps


@pytest.fixture(scope="module")
def peaked_model():
    """The tiny Qwen2 with its output layer scaled x40: token entropies of 0.2-4.5 bits, so a
    low-temperature or gated sampler's samples share some prefixes and part at others."""
    model = make_tiny_model("qwen2")
    with torch.no_grad():
        model.lm_head.weight.mul_(40)
    model.generation_config.eos_token_id = EOS
    return model


def _samples(prompts: list[str], k: int) -> tuple[list[str], list[int]]:
    """k samples of each prompt, laid out and seeded as the runner does (`expand_samples`)."""
    recs = expand_samples([{"index": i, "prompt": p} for i, p in enumerate(prompts)], k)
    return [r["prompt"] for r in recs], [r["index"] for r in recs]


def _distinct_continued_prefixes(token_ids: list[list[int]], k: int) -> int:
    """What a forking decoder must run: per prompt, each distinct generated prefix that some
    sample continues past (its next token is fed to the model once), by brute force."""
    total = 0
    for start in range(0, len(token_ids), k):
        group = token_ids[start:start + k]
        total += len({tuple(q[:n]) for q in group for n in range(1, len(q))})
    return total


SAMPLERS = [
    ("top_p", {"top_p": 0.9, "temperature": 0.5}),
    ("gated", {"threshold": 2.5, "inner_params": {"top_p": 0.9, "temperature": 0.7}}),
    ("gated", {"threshold": 0.999994, "signal": "attn_entropy", "inner": "min_p",
               "inner_params": {"min_p": 0.1}}),
    ("alpha", {}),  # stateful (moving window, smoothing), reads the attention row
    ("mirostat_v2", {"tau": 2.0}),  # stateful: per-row mu updated from each drawn token
]


@pytest.mark.parametrize(("name", "params"), SAMPLERS, ids=[f"{n}{i}" for i, (n, _) in
                                                              enumerate(SAMPLERS)])
def test_branching_gives_the_plain_engines_samples(peaked_model, tiny_tokenizer, name, params):
    prompts, idx = _samples([HEAD + "Q: one", HEAD + "Q: two two"], 4)
    out = []
    for branching in (False, True):
        out.append(generate(peaked_model, tiny_tokenizer, prompts,
                            sampler=build_sampler(name, **params), max_new_tokens=24, seed=3,
                            prompt_indices=idx, branching=branching, record_signals=True,
                            stop_strings=["er", " o"]))
    plain, forked = out
    assert forked.token_ids == plain.token_ids
    assert forked.finish_reasons == plain.finish_reasons and forked.texts == plain.texts
    assert len({len(t) for t in plain.token_ids}) > 1  # rows really ended at different steps
    for a, b in zip(plain.traces, forked.traces, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert b[key] == pytest.approx(a[key], abs=1e-5), key
    for a, b in zip(plain.token_logprobs, forked.token_logprobs, strict=True):
        assert b == pytest.approx(a, abs=1e-5)
    # the model ran each distinct continued prefix once; the plain engine every sample's
    assert forked.timing["decode_rows"] == _distinct_continued_prefixes(forked.token_ids, 4)
    assert plain.timing["decode_rows"] == sum(len(t) - 1 for t in plain.token_ids)


def test_a_gated_samplers_greedy_opening_runs_once(peaked_model, tiny_tokenizer):
    """Threshold above every step's entropy: all 6 samples are the greedy path, one model row
    throughout (1/6 of the plain engine's rows)."""
    prompts, idx = _samples([HEAD + "Q: three"], 6)
    runs = [generate(peaked_model, tiny_tokenizer, prompts, max_new_tokens=16, seed=0,
                     sampler=build_sampler("gated", threshold=99.0), prompt_indices=idx,
                     branching=b) for b in (False, True)]
    assert runs[1].token_ids == runs[0].token_ids and len(set(map(tuple, runs[0].token_ids))) == 1
    n = len(runs[0].token_ids[0])
    assert (runs[0].timing["decode_rows"], runs[1].timing["decode_rows"]) == (6 * (n - 1), n - 1)


def test_distinct_prompts_share_nothing(peaked_model, tiny_tokenizer):
    prompts = ["alpha beta", "gamma", "delta epsilon zeta"]
    runs = [generate(peaked_model, tiny_tokenizer, prompts, max_new_tokens=8, seed=1,
                     sampler=build_sampler("top_p", top_p=0.9), branching=b) for b in (False, True)]
    assert runs[1].token_ids == runs[0].token_ids
    assert runs[1].timing["decode_rows"] == runs[0].timing["decode_rows"]


def test_fork_regroups_rows_by_history_and_token():
    """Model rows 0 and 1; samples (rep, token): (0, 7) (0, 7) (0, 9) (1, 7) -> three new
    rows: (0, 7) from parent 0, (0, 9) from parent 0 (the fork), (1, 7) from parent 1."""
    rep, parent, tokens, first = fork(torch.tensor([0, 0, 0, 1]), torch.tensor([7, 7, 9, 7]), 10)
    assert rep.tolist() == [0, 0, 1, 2]
    assert parent.tolist() == [0, 0, 1] and tokens.tolist() == [7, 9, 7]
    assert first.tolist() == [0, 2, 3]


def test_bad_branching_options_say_which_field(peaked_model, tiny_tokenizer):
    with pytest.raises(ValueError, match="branching and fixed_batch"):
        generate(peaked_model, tiny_tokenizer, ["a"], max_new_tokens=2, branching=True,
                 fixed_batch=True)
    with pytest.raises(ValueError, match=r"branching='yes' must be True or False"):
        generate(peaked_model, tiny_tokenizer, ["a"], max_new_tokens=2, branching="yes")


def test_branching_under_a_static_cache(peaked_model, tiny_tokenizer):
    """The forked cache rows of a StaticCache (rows re-indexed, repeats included) give the same
    samples as the dynamic cache and as the plain engine."""
    prompts, idx = _samples([HEAD + "Q: one", HEAD + "Q: two two"], 4)
    runs = [generate(peaked_model, tiny_tokenizer, prompts, max_new_tokens=16, seed=3,
                     sampler=build_sampler("top_p", top_p=0.9, temperature=0.5),
                     prompt_indices=idx, branching=b, cache_implementation=c)
            for b, c in ((False, "static"), (True, "static"), (True, "dynamic"))]
    assert runs[0].token_ids == runs[1].token_ids == runs[2].token_ids
    assert runs[1].timing["decode_rows"] == runs[2].timing["decode_rows"] < \
        runs[0].timing["decode_rows"]
