"""Shared-prefix prefill (`generate(prefix_cache=True)`) vs independent references.

References: a plain, uncached, unpadded forward of each row alone (eager attention, so the
attention row comes from transformers' own `output_attentions`), HF `generate` on each row
alone for greedy ids, and the same `generate` call with `prefix_cache=False` for seeded
sampling. A forward pre-hook records the input shapes the model really ran, so a test knows
whether the prefix ran once (shape `(1, P)`) or the engine fell back to plain left padding.

Cases: qwen2, llama, gpt2; suffixes of different lengths (so the cache holds pads between
prefix and suffix); rows that finish at different steps (pruning); the eager-attention
fallback of the capture; a sliding-window model, rows without a common prefix, a prefix under
`MIN_SHARED_PREFIX`, one prompt, and `prefix_cache=False` (all fall back); a bad switch value.
"""

from __future__ import annotations

import pytest
import torch
from conftest import make_tiny_model

from alpha.generation import encode_prompts, generate
from alpha.protocol import SamplerStep
from alpha.registry import build_sampler
from alpha.shared_prefix import MIN_SHARED_PREFIX, shared_prefix_length
from alpha.uncertainty import attention_entropy_varentropy

PREFIX = ("To be, or not to be, that is the question: whether 'tis nobler in the mind to "
          "suffer the slings and arrows of outrageous fortune, or to take arms against a sea "
          "of troubles.\n\nQ: ")
SUFFIXES = ["the quick brown fox jumps over the lazy dog", "a", "once upon a time there",
            "Shakespeare wrote"]
PROMPTS = [PREFIX + s for s in SUFFIXES]


class LoggingSampler:
    """Top-k(20) draw from the row's generator (or a fixed token script), logging what the
    engine gives each live row: logits, attention and ids at the real (key_mask) positions."""

    needs_attention = True

    def __init__(self, scripts=None):
        self.scripts = scripts

    def reset(self, batch_size):
        self.rows, self.t = list(range(batch_size)), 0
        self.log = {i: [] for i in range(batch_size)}

    def select_rows(self, index):
        self.rows = [self.rows[i] for i in index.tolist()]

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        for j, r in enumerate(self.rows):
            keep = key_mask[j]
            self.log[r].append((logits[j], attention[j], keep, input_ids[j][keep]))
        if self.scripts is not None:
            tokens = torch.tensor([self.scripts[r][self.t] for r in self.rows])
        else:
            vals, idx = logits.topk(20, dim=-1)
            probs = vals.softmax(-1)
            tokens = torch.cat([idx[i, torch.multinomial(probs[i], 1, generator=g)]
                                for i, g in enumerate(generators)])
        self.t += 1
        return SamplerStep(tokens, {})


def _record_shapes(model):
    """Input shapes of the cached forwards the model runs (a pre-hook; the capture's probe
    runs without a cache and is left out)."""
    shapes = []

    def hook(module, args, kw):
        if kw.get("use_cache"):
            shapes.append(tuple(kw["input_ids"].shape))

    model.register_forward_pre_hook(hook, with_kwargs=True)
    return shapes


def _prefill_shapes(shapes):
    """The forwards before the first decode step (decode steps feed one token per row)."""
    out = []
    for s in shapes:
        if s[1] == 1 and out:
            break
        out.append(s)
    return out


def test_shared_prefix_length_by_hand():
    a, b = list(range(100, 140)), list(range(100, 140))
    assert shared_prefix_length([a + [1, 2], b + [3]]) == 40
    assert shared_prefix_length([a + [1], b + [1]]) == 40  # identical rows keep 1 token each
    assert shared_prefix_length([a, b[:35]]) == 34  # capped at the shortest row - 1
    assert shared_prefix_length([[7] + a, [8] + b]) == 0  # first token differs
    assert shared_prefix_length([a[:20] + [1] * 30, a[:20] + [2] * 30]) == 0  # under the minimum
    assert shared_prefix_length([a[:20] + [1], a[:20] + [2]], min_len=20) == 20
    assert shared_prefix_length([a + [1]]) == 0  # nothing to share with one row


def test_prompts_share_a_long_prefix(tiny_tokenizer):
    seqs = encode_prompts(tiny_tokenizer, PROMPTS)
    p = shared_prefix_length(seqs)
    assert p >= MIN_SHARED_PREFIX and len({len(s) - p for s in seqs}) == len(seqs)


@pytest.mark.parametrize("arch", ["qwen2", "llama", "gpt2"])
def test_every_step_equals_an_unpadded_forward_of_the_row(arch, tiny_tokenizer):
    """Prefix once + [pads][suffix] prefill + decode: each step's logits (1e-5), attention row
    (1e-6) and ids equal an uncached eager forward of the row alone; attention entropy too.
    Rows finish at different steps, so pruning runs through the shared layout."""
    model = make_tiny_model(arch)
    model.generation_config.eos_token_id = [0]
    shapes = _record_shapes(model)
    scripts = [[50, 51, 0, 9, 9, 9], [60, 61, 62, 63, 64, 65], [70, 0, 9, 9, 9, 9],
               [80, 81, 82, 83, 0, 9]]
    sampler = LoggingSampler(scripts)
    res = generate(model, tiny_tokenizer, PROMPTS, sampler=sampler, max_new_tokens=6)
    seqs = encode_prompts(tiny_tokenizer, PROMPTS)
    p, t0 = shared_prefix_length(seqs), max(len(s) for s in seqs)
    assert _prefill_shapes(shapes) == [(1, p), (4, t0 - p)]
    assert res.finish_reasons == ["eos", "length", "eos", "eos"]
    eager = make_tiny_model(arch, attn_implementation="eager")
    for row, steps in sampler.log.items():
        assert len(steps) == len(res.token_ids[row])
        for t, (logits, att, keep, ids) in enumerate(steps):
            assert ids.tolist() == seqs[row] + res.token_ids[row][:t]
            with torch.no_grad():
                ref = eager(ids[None], output_attentions=True)
            ref_att = ref.attentions[-1][0, :, -1]  # (H, S) unpadded
            torch.testing.assert_close(logits, ref.logits[0, -1], atol=1e-5, rtol=0)
            torch.testing.assert_close(att[:, keep], ref_att, atol=1e-6, rtol=0)
            assert not att[:, ~keep].any()  # pads get no attention
            h, vh = attention_entropy_varentropy(att[None], keep[None])
            h_ref, vh_ref = attention_entropy_varentropy(ref_att[None])
            torch.testing.assert_close(h, h_ref, atol=1e-5, rtol=0)
            torch.testing.assert_close(vh, vh_ref, atol=1e-5, rtol=0)


def test_eager_capture_fallback_with_a_shared_prefix(tiny_tokenizer):
    """A model the capture cannot switch runs eager with output_attentions: the prefix path
    reorders those attention rows too (reference: the same model, one unpadded row)."""
    from test_attention_capture import _no_interface_model

    model = _no_interface_model("eager")
    shapes = _record_shapes(model)
    sampler = LoggingSampler()
    with pytest.warns(UserWarning, match="falling back"):
        res = generate(model, tiny_tokenizer, PROMPTS, sampler=sampler, max_new_tokens=4, seed=2)
    seqs = encode_prompts(tiny_tokenizer, PROMPTS)
    assert _prefill_shapes(shapes)[0] == (1, shared_prefix_length(seqs))
    for row, steps in sampler.log.items():
        for t, (logits, att, keep, ids) in enumerate(steps):
            assert ids.tolist() == seqs[row] + res.token_ids[row][:t]
            with torch.no_grad():
                ref = model(ids[None], output_attentions=True, use_cache=False)
            torch.testing.assert_close(logits, ref.logits[0, -1], atol=1e-5, rtol=0)
            torch.testing.assert_close(att[:, keep], ref.attentions[-1][0, :, -1], atol=1e-6,
                                       rtol=0)


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_greedy_ids_equal_hf_generate_on_each_row_alone(arch, tiny_tokenizer):
    model = make_tiny_model(arch)
    on = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("greedy"),
                  max_new_tokens=10, ignore_eos=True)
    off = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("greedy"),
                   max_new_tokens=10, ignore_eos=True, prefix_cache=False)
    assert on.token_ids == off.token_ids
    for row, prompt in enumerate(PROMPTS):
        enc = tiny_tokenizer(prompt, return_tensors="pt")
        hf = model.generate(**enc, do_sample=False, max_new_tokens=10, min_new_tokens=10,
                            eos_token_id=None, pad_token_id=1)
        assert hf[0, enc["input_ids"].shape[1]:].tolist() == on.token_ids[row]


@pytest.mark.parametrize("name", ["top_p", "alpha"])
def test_seeded_sampling_is_the_same_with_and_without(name, tiny_tokenizer):
    """A baseline (HF warpers) and the adaptive sampler (captured attention, repetition
    penalty over the left-padded ids): same tokens with and without the shared prefix, traces
    within float rounding."""
    model = make_tiny_model("qwen2")
    runs = [generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler(name),
                     max_new_tokens=12, seed=4, prefix_cache=flag) for flag in (True, False)]
    assert runs[0].token_ids == runs[1].token_ids and runs[0].texts == runs[1].texts
    for a, b in zip(runs[0].traces, runs[1].traces, strict=True):
        for key in b:
            torch.testing.assert_close(torch.tensor(a[key]), torch.tensor(b[key]), atol=1e-4,
                                       rtol=1e-4)


def _first_prefill(model, tokenizer, prompts, **kw):
    shapes = _record_shapes(model)
    res = generate(model, tokenizer, prompts, sampler=build_sampler("greedy"), max_new_tokens=3,
                   **kw)
    return _prefill_shapes(shapes), res


@pytest.mark.parametrize("case", ["no_common_prefix", "short_prefix", "one_prompt", "switched_off",
                                  "sliding_window"])
def test_fallback_to_plain_left_padding(case, tiny_tokenizer):
    """Where the prefix cannot (or should not) run once, the batch prefills left padded in one
    forward, with the same tokens as the plain path."""
    model = make_tiny_model("qwen2")
    prompts, kw = PROMPTS, {}
    if case == "no_common_prefix":
        prompts = [s + " " + PREFIX for s in SUFFIXES]
    elif case == "short_prefix":
        prompts = ["Q: " + s for s in SUFFIXES]
    elif case == "one_prompt":
        prompts = PROMPTS[:1]
    elif case == "switched_off":
        kw = {"prefix_cache": False}
    else:  # window counts cache columns (pads included): not safe with mid-row padding
        model = make_tiny_model("qwen2", use_sliding_window=True, sliding_window=16,
                                layer_types=["sliding_attention", "full_attention"])
    seqs = encode_prompts(tiny_tokenizer, prompts)
    shapes, res = _first_prefill(model, tiny_tokenizer, prompts, **kw)
    assert shapes == [(len(prompts), max(len(s) for s in seqs))]
    ref = generate(model, tiny_tokenizer, prompts, sampler=build_sampler("greedy"),
                   max_new_tokens=3, prefix_cache=False)
    assert res.token_ids == ref.token_ids


def test_sliding_window_fallback_still_matches_unpadded_rows(tiny_tokenizer):
    """The sliding-window model of the fallback case generates what each row gives alone."""
    model = make_tiny_model("qwen2", use_sliding_window=True, sliding_window=16,
                            layer_types=["sliding_attention", "full_attention"])
    res = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("greedy"),
                   max_new_tokens=4, ignore_eos=True)
    for row, prompt in enumerate(PROMPTS):
        alone = generate(model, tiny_tokenizer, [prompt], sampler=build_sampler("greedy"),
                         max_new_tokens=4, ignore_eos=True)
        assert alone.token_ids[0] == res.token_ids[row]


@pytest.mark.parametrize("value", [1, "yes", None])
def test_prefix_cache_must_be_a_bool(value, tiny_tokenizer):
    with pytest.raises(ValueError, match="prefix_cache="):
        generate(make_tiny_model(), tiny_tokenizer, PROMPTS, sampler=build_sampler("greedy"),
                 prefix_cache=value)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_every_step_equals_an_unpadded_forward_on_cuda(dtype, tiny_tokenizer):
    """CUDA SDPA with pads between prefix and suffix: each step's logits and attention row
    equal an eager unpadded forward of the row on the GPU (float32 tight, bf16 loose), and
    greedy ids are the same with and without the shared prefix in float32."""
    model = make_tiny_model("qwen2").to("cuda", dtype)
    sampler = LoggingSampler()
    res = generate(model, tiny_tokenizer, PROMPTS, sampler=sampler, max_new_tokens=6, seed=1)
    eager = make_tiny_model("qwen2", attn_implementation="eager").to("cuda", dtype)
    tol = dict(atol=1e-4, rtol=0) if dtype == torch.float32 else dict(atol=3e-2, rtol=3e-2)
    seqs = encode_prompts(tiny_tokenizer, PROMPTS)
    for row, steps in sampler.log.items():
        for t, (logits, att, keep, ids) in enumerate(steps):
            assert ids.tolist() == seqs[row] + res.token_ids[row][:t]
            with torch.no_grad():
                ref = eager(ids[None], output_attentions=True)
            torch.testing.assert_close(logits, ref.logits[0, -1].float(), **tol)
            torch.testing.assert_close(att[:, keep], ref.attentions[-1][0, :, -1].float(), **tol)
    if dtype == torch.float32:
        on, off = (generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("greedy"),
                            max_new_tokens=8, prefix_cache=flag) for flag in (True, False))
        assert on.token_ids == off.token_ids
