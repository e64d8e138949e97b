"""`record_signals`: every sampler's trace gains the step's uncertainty, and the tokens stay.

Independent reference, computed here in float64: for each generated token t of a row, the model
is run on that row alone (no padding, no cache, eager attention with `output_attentions=True`)
over prompt + generated[:t]; the token entropy/varentropy (bits) come from softmax of its last
logits, the attention entropy/varentropy from the last layer's last-query row averaged over the
heads, normalised by log2 of the number of keys. Ours: the batched engine (left padding, KV
cache, rows pruned as they finish, and the shared-prefix cache for repeated prompts) with the
attention capture under SDPA. Cases: greedy (no attention of its own) over prompts of different
lengths; top-p over 3 samples of one long prompt (the shared-prefix path); tokens with the
switch on equal tokens with it off; a non-bool switch is refused.
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import make_tiny_model

from alpha import build_sampler
from alpha.generation import generate

SIGNALS = ("u_entropy", "u_varentropy", "u_attn_entropy", "u_attn_varentropy")


def _entropy_varentropy(p: torch.Tensor) -> tuple[float, float]:
    """Entropy (bits) and varentropy (bits²) of a float64 distribution, zeros skipped."""
    p = p[p > 0].double()
    s = -p.log2()
    h = float((p * s).sum())
    return h, float((p * (s - h) ** 2).sum())


def reference_signals(eager_model, prompt_ids: list[int], generated: list[int]) -> dict:
    out = {k: [] for k in SIGNALS}
    for t in range(len(generated)):
        ids = torch.tensor([prompt_ids + generated[:t]])
        with torch.no_grad():
            o = eager_model(input_ids=ids, output_attentions=True)
        h, vh = _entropy_varentropy(torch.softmax(o.logits[0, -1].double(), -1))
        a = o.attentions[-1][0, :, -1, :].double().mean(0)  # (S,) mean over heads
        ha, vha = _entropy_varentropy(a / a.sum())
        n = math.log2(ids.shape[1])  # one key carries no uncertainty: 0 (the library's rule)
        ha, vha = (ha / n, vha / n**2) if n > 0 else (0.0, 0.0)
        for k, v in zip(SIGNALS, (h, vh, ha, vha), strict=True):
            out[k].append(v)
    return out


@pytest.fixture(scope="module")
def models():
    return (make_tiny_model("qwen2", seed=3), make_tiny_model("qwen2", seed=3,
                                                               attn_implementation="eager"))


@pytest.mark.parametrize("case", ["greedy_padded", "top_p_shared_prefix"])
def test_signals_match_an_unbatched_float64_reference(models, tiny_tokenizer, case):
    model, eager = models
    if case == "greedy_padded":
        prompts = ["Once upon a time there was", "The", "A longer prompt with several more words"]
        sampler = build_sampler("greedy")
    else:  # three samples of one prompt long enough for the shared-prefix prefill
        prompts = ["To be, or not to be, that is the question: whether 'tis nobler in the mind "
                   "to suffer the slings and arrows of outrageous fortune"] * 3
        sampler = build_sampler("top_p", top_p=0.9, temperature=1.0)
    res = generate(model, tiny_tokenizer, prompts, sampler=sampler, max_new_tokens=6, seed=1,
                   prompt_indices=list(range(len(prompts))), record_signals=True)
    for i, prompt in enumerate(prompts):
        ref = reference_signals(eager, tiny_tokenizer(prompt)["input_ids"], res.token_ids[i])
        for k in SIGNALS:
            assert res.traces[i][k] == pytest.approx(ref[k], abs=2e-4, rel=1e-4), (case, i, k)


@pytest.mark.parametrize("name,params", [("greedy", {}), ("top_p", {"top_p": 0.8}),
                                         ("alpha", {})])
def test_signals_leave_the_tokens_unchanged(models, tiny_tokenizer, name, params):
    prompts = ["Once upon a time there was", "The"]
    runs = [generate(models[0], tiny_tokenizer, prompts, sampler=build_sampler(name, **params),
                     max_new_tokens=8, seed=2, record_signals=flag) for flag in (False, True)]
    assert runs[0].token_ids == runs[1].token_ids
    assert not set(SIGNALS) & set(runs[0].traces[0])
    assert set(SIGNALS) <= set(runs[1].traces[0])
    for k, v in runs[0].traces[0].items():  # the sampler's own trace is untouched
        assert runs[1].traces[0][k] == v


def test_record_signals_must_be_a_bool(models, tiny_tokenizer):
    with pytest.raises(ValueError, match="record_signals='yes' must be True or False"):
        generate(models[0], tiny_tokenizer, ["The"], max_new_tokens=2, record_signals="yes")
