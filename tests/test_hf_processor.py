"""AlphaLogitsProcessor inside HF `model.generate` vs `alpha.generate` (same seeds): equal
tokens and equal per-step parameters, with left padding.

Bad inputs tried: prompt_indices of the wrong length, an attention_mask of the wrong shape,
a model whose attention cannot be captured through AttentionInterface.
"""

from __future__ import annotations

import pytest
import torch
from conftest import make_tiny_model
from test_attention_capture import _no_interface_model

import alpha
from alpha import AlphaLogitsProcessor
from alpha.registry import build_sampler

PROMPTS = ["hello world", "a", "the quick brown fox jumps"]
NEUTRAL = dict(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0)


def _hf(model, tok, proc_kw, n):
    enc = tok(PROMPTS, return_tensors="pt", padding=True)
    with AlphaLogitsProcessor(model, attention_mask=enc["attention_mask"], **proc_kw) as proc:
        out = model.generate(**enc, logits_processor=[proc], max_new_tokens=n,
                             pad_token_id=tok.pad_token_id, **NEUTRAL)
    rows = out[:, enc["input_ids"].shape[1]:].tolist()
    eos = model.generation_config.eos_token_id
    return [r[:r.index(eos) + 1] if eos in r else r for r in rows], proc


@pytest.mark.parametrize("name", ["alpha", "alpha_seed"])
def test_tokens_and_parameters_equal_alpha_generate(name, tiny_tokenizer):
    model = make_tiny_model("qwen2")
    ref = alpha.generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler(name),
                         max_new_tokens=6, seed=11)
    assert model.config._attn_implementation == "sdpa"
    rows, proc = _hf(model, tiny_tokenizer, {"sampler": build_sampler(name), "seed": 11}, 6)
    assert model.config._attn_implementation == "sdpa"  # restored by the with block
    assert rows == ref.token_ids
    for i, tr in enumerate(ref.traces):
        for key in ("temperature", "top_k", "top_p", "rep_penalty", "candidate_size", "alpha"):
            n = len(tr[key])
            assert proc.traces[i][key][:n] == pytest.approx(tr[key], abs=1e-6), key


def test_default_sampler_config_and_prompt_indices(tiny_tokenizer):
    model = make_tiny_model("llama")
    ref = alpha.generate(model, tiny_tokenizer, PROMPTS, max_new_tokens=4, seed=2,
                         prompt_indices=[10, 11, 12])
    rows, _ = _hf(model, tiny_tokenizer, {"seed": 2, "prompt_indices": [10, 11, 12]}, 4)
    assert rows == ref.token_ids


def test_one_processor_serves_consecutive_generate_calls(tiny_tokenizer):
    """Each generate() call restarts the rows' state and generators, even when the next
    prompt is longer than the previous call's output."""
    model = make_tiny_model("qwen2")
    short, long = ["a"], ["the quick brown fox jumps over the lazy dog again"]
    refs = [alpha.generate(model, tiny_tokenizer, p, max_new_tokens=3, seed=4).token_ids[0]
            for p in (short, long)]
    with AlphaLogitsProcessor(model, seed=4) as proc:
        outs = []
        for p in (short, long):
            enc = tiny_tokenizer(p, return_tensors="pt")
            out = model.generate(**enc, logits_processor=[proc], max_new_tokens=3,
                                 pad_token_id=1, **NEUTRAL)
            outs.append(out[0, enc["input_ids"].shape[1]:].tolist())
    assert [o[:len(r)] for o, r in zip(outs, refs, strict=True)] == refs


def test_bad_inputs(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    enc = tiny_tokenizer(PROMPTS, return_tensors="pt", padding=True)
    for kw, match in [({"prompt_indices": [0]}, "prompt_indices"),
                      ({"attention_mask": torch.ones(3, 2)}, "attention_mask")]:
        with AlphaLogitsProcessor(model, **kw) as proc, pytest.raises(ValueError, match=match):
            model.generate(**enc, logits_processor=[proc], max_new_tokens=2,
                           pad_token_id=1, **NEUTRAL)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="use alpha.generate"):
        AlphaLogitsProcessor(_no_interface_model("eager"))
