"""AdaptiveEntropixSampler end to end on synthetic tensors and one tiny real model.

References: apply_sampling_params (checked against HF's warpers) for the distribution drawn
from; scipy for its entropy; hand-computed moving averages; the attention of a tiny Qwen2 with
eager attention. Bad inputs tried: NaN / +inf / all -inf logits, fp16 and bf16 logits,
attention of the wrong shape, a key mask shorter than input_ids, an empty batch, input_ids
shorter and longer than the repetition window, a batch-size change without reset, a wrong
number of generators.
"""

import math

import pytest
import torch
from conftest import make_tiny_model
from filtering_oracle import apply_sampling_params
from scipy.stats import entropy as scipy_entropy

from alpha import (
    TRACE_KEYS,
    AdaptiveEntropixSampler,
    SamplerConfig,
    SamplerStep,
    TokenSampler,
    build_sampler,
)


def inputs(seed, b=4, v=1000, t=30, h=4, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, v, generator=g) * scale
    ids = torch.randint(0, v, (b, t), generator=g)
    attn = torch.rand(b, h, t, generator=g)
    return logits, ids, attn / attn.sum(-1, keepdim=True)


def gens(b, seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(b)]


def test_implements_protocol_and_trace_keys():
    s = build_sampler("alpha")
    assert isinstance(s, TokenSampler) and s.needs_attention
    logits, ids, attn = inputs(0)
    out = s.step(logits, ids, attention=attn, key_mask=torch.ones(4, 30, dtype=torch.bool),
                 generators=gens(4))
    assert isinstance(out, SamplerStep) and out.tokens.shape == (4,)
    assert out.tokens.dtype == torch.int64
    assert set(out.trace) == set(TRACE_KEYS)
    assert all(t.shape == (4,) for t in out.trace.values())


@pytest.mark.parametrize("solver", ["bisection", "seed_adam"])
def test_draws_from_the_hf_equal_distribution_of_its_recorded_parameters(solver):
    s = AdaptiveEntropixSampler(SamplerConfig(solver=solver))
    logits, ids, attn = inputs(1)
    for _ in range(3):  # smoothing in play after the first step
        st = s.sample(logits, ids, attention=attn, generators=gens(4))
        ref = apply_sampling_params(logits, ids, **st.params.as_kwargs())
        assert torch.isfinite(ref.gather(1, st.tokens[:, None])).all()  # token in kept set
        h = torch.tensor([scipy_entropy(torch.softmax(r.double(), -1).numpy(), base=2)
                          for r in ref]) / math.log2(1000)
        torch.testing.assert_close(st.final_entropy.double(), h, atol=1e-5, rtol=0)


def test_first_step_hits_target_and_smoothing_follows():
    logits, ids, attn = inputs(2)
    s0 = AdaptiveEntropixSampler(SamplerConfig.original(param_smoothing_factor=0.0))
    st = s0.sample(logits, ids, attention=attn, generators=gens(4))
    torch.testing.assert_close(st.final_entropy, st.target, atol=1e-3, rtol=0)
    # step 1: alpha's moving average is the row's average alpha, so the target is the entropy
    # of the base values (0.2, 10, 0.8, penalty 1.0 clamped to 1.1, 20) under HF's chain, and
    # those are the parameters used
    ref = apply_sampling_params(logits, ids, temperature=0.2, top_k=10, top_p=0.8,
                                rep_penalty=1.1, candidate_size=20).softmax(-1)
    h_ref = torch.tensor([scipy_entropy(r[r > 0].double().numpy(), base=2) for r in ref])
    torch.testing.assert_close(st.target, (h_ref / math.log2(1000)).float(), atol=1e-5, rtol=0)
    p = st.params
    assert (p.temperature == 0.2).all() and (p.top_k == 10).all() and (p.top_p == 0.8).all()
    assert (p.candidate_size == 20).all() and (p.rep_penalty == 1.1).all()
    # with f = 0.8, step 2 uses 0.8 * step-1 params + 0.2 * what the solver picks at step 2
    s8 = AdaptiveEntropixSampler(SamplerConfig.original(param_smoothing_factor=0.8))
    first = s8.sample(logits, ids, attention=attn, generators=gens(4)).params
    logits2, ids2, attn2 = inputs(3)
    s0.sample(logits2, ids2, attention=attn2, generators=gens(4))  # same alpha history
    s0b = AdaptiveEntropixSampler(SamplerConfig.original(param_smoothing_factor=0.0))
    s0b.sample(logits, ids, attention=attn, generators=gens(4))
    solved = s0b.sample(logits2, ids2, attention=attn2, generators=gens(4)).params
    second = s8.sample(logits2, ids2, attention=attn2, generators=gens(4)).params
    torch.testing.assert_close(second.temperature, 0.8 * first.temperature
                               + 0.2 * solved.temperature)
    torch.testing.assert_close(second.top_k, (0.8 * first.top_k + 0.2 * solved.top_k).round())


def test_alpha_is_the_weighted_sum_and_window_is_per_row():
    s = AdaptiveEntropixSampler(SamplerConfig(alpha_window_size=3))
    logits, _, attn = inputs(4, b=2)
    c = s.calculate_alpha(logits, attn)
    torch.testing.assert_close(c.alpha, 0.4 * c.h_tok + 0.2 * c.vh_tok + 0.3 * c.h_attn
                               + 0.1 * c.vh_attn)
    s.reset(2)
    seq = [torch.tensor([1.0, 10.0]), torch.tensor([2.0, 20.0]), torch.tensor([3.0, 30.0]),
           torch.tensor([4.0, 40.0])]
    means = [s.update_alpha_window(a) for a in seq]
    expect = [[1.0, 10.0], [1.5, 15.0], [2.0, 20.0], [3.0, 30.0]]  # by hand, window 3
    for m, e in zip(means, expect, strict=True):
        torch.testing.assert_close(m, torch.tensor(e))
    s.select_rows(torch.tensor([1]))  # row 1 keeps its own window: (20, 30, 40)
    torch.testing.assert_close(s.update_alpha_window(torch.tensor([50.0])), torch.tensor([40.0]))
    s.reset(1)
    torch.testing.assert_close(s.update_alpha_window(torch.tensor([7.0])), torch.tensor([7.0]))


def test_without_attention_terms_are_zero_and_padding_is_ignored():
    s = AdaptiveEntropixSampler()
    logits, ids, attn = inputs(5, b=2, t=6)
    st = s.sample(logits, ids, attention=None, generators=gens(2))
    assert (st.components.h_attn == 0).all() and (st.components.vh_attn == 0).all()
    padded = torch.cat([torch.zeros(2, 4, 3), attn], -1)
    mask = torch.cat([torch.zeros(2, 3, dtype=torch.bool), torch.ones(2, 6, dtype=torch.bool)], 1)
    a = s.calculate_alpha(logits, padded, mask)
    b = s.calculate_alpha(logits, attn)
    torch.testing.assert_close(a.h_attn, b.h_attn)


def test_same_generators_same_tokens_and_rows_independent_of_batch_mates():
    logits, ids, attn = inputs(6, b=4, scale=1.0)
    runs = []
    for _ in range(2):
        s = AdaptiveEntropixSampler()
        runs.append(torch.stack([s.sample(logits, ids, attention=attn, generators=g).tokens
                                 for g in [gens(4, 10), gens(4, 20)]]))
    assert torch.equal(runs[0], runs[1])
    alone = AdaptiveEntropixSampler().sample(logits[2:3], ids[2:3], attention=attn[2:3],
                                             generators=gens(4, 10)[2:3]).tokens
    assert alone.item() == runs[0][0, 2].item()


def test_bad_logits_fallbacks_and_errors():
    s = AdaptiveEntropixSampler()
    logits, ids, attn = inputs(7, b=3)
    logits[0, :500] = float("nan")  # NaN -> -inf: never drawn
    logits[1, 42] = float("inf")  # +inf: drawn for sure
    st = s.sample(logits, ids, attention=attn, generators=gens(3))
    assert st.tokens[0] >= 500 and st.tokens[1] == 42
    assert torch.isfinite(st.final_entropy).all()
    bad = logits.clone()
    bad[2] = float("-inf")
    with pytest.raises(ValueError, match=r"rows \[2\] have no finite value"):
        s.sample(bad, ids, attention=attn, generators=gens(3))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_logits(dtype):
    logits, ids, attn = inputs(8)
    a = AdaptiveEntropixSampler().sample(logits.to(dtype), ids, attention=attn.to(dtype),
                                         generators=gens(4))
    b = AdaptiveEntropixSampler().sample(logits.to(dtype).float(), ids,
                                         attention=attn.to(dtype).float(), generators=gens(4))
    assert torch.equal(a.tokens, b.tokens)


@pytest.mark.parametrize("t_len", [1, 127, 128, 129, 400])
def test_input_ids_shorter_or_longer_than_window(t_len):
    logits, ids, _ = inputs(9, t=t_len)
    st = AdaptiveEntropixSampler().sample(logits, ids, generators=gens(4))
    ref = apply_sampling_params(logits, ids, **st.params.as_kwargs())
    assert torch.isfinite(ref.gather(1, st.tokens[:, None])).all()


def test_shape_errors_and_empty_batch():
    s = AdaptiveEntropixSampler()
    logits, ids, attn = inputs(10)
    with pytest.raises(ValueError, match=r"attention must be \(B, H, S\) with B=4"):
        s.sample(logits, ids, attention=attn[0])
    with pytest.raises(ValueError, match=r"key_mask must be \(B, S\) with B=4 and S >= T=30"):
        s.sample(logits, ids, attention=attn, key_mask=torch.ones(4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"input_ids must be \(B, T\) with B=4"):
        s.sample(logits, ids[:2])
    with pytest.raises(ValueError, match=r"one per row \(4\)"):
        s.sample(logits, ids, generators=gens(3))
    s.reset(4)
    s.sample(logits, ids, generators=gens(4))
    with pytest.raises(ValueError, match=r"call reset\(2\) or select_rows"):
        s.sample(logits[:2], ids[:2], generators=gens(2))
    empty = s.step(logits[:0], ids[:0], attention=attn[:0])
    assert empty.tokens.shape == (0,) and set(empty.trace) == set(TRACE_KEYS)


def test_quick_start_api_and_seed_adam_keeps_four_parameters_fixed():
    cfg = SamplerConfig()
    cfg.base_temp = 0.2
    cfg.base_top_p = 0.80
    s = AdaptiveEntropixSampler(cfg)
    for name in ("calculate_alpha", "update_alpha_window", "find_optimal_parameters", "sample"):
        assert callable(getattr(s, name))
    seed = build_sampler("alpha_seed")
    logits, ids, attn = inputs(11)
    for _ in range(3):
        p = seed.sample(logits * 0.5, ids, attention=attn, generators=gens(4)).params
        assert (p.top_k == 199).all() and (p.candidate_size == 100).all()
        torch.testing.assert_close(p.top_p, torch.full((4,), 0.1 + 0.9 / (1 + math.exp(-0.8))))


def test_tiny_qwen2_logits_and_attention():
    model = make_tiny_model("qwen2", attn_implementation="eager")  # eager returns attentions
    ids = torch.tensor([[1, 1, 5, 9, 33, 7], [4, 8, 15, 16, 23, 42]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]).bool()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask.long(), output_attentions=True)
    attn = out.attentions[-1][:, :, -1, :]  # (B, H, S) last query
    s = build_sampler("alpha")
    st = s.sample(out.logits[:, -1], ids, attention=attn, key_mask=mask, generators=gens(2))
    assert ((st.tokens >= 0) & (st.tokens < model.config.vocab_size)).all()
    assert (st.components.h_attn > 0).all() and (st.components.h_attn <= 1 + 1e-6).all()
    torch.testing.assert_close(st.final_entropy, st.target, atol=1e-3, rtol=0)


def test_lower_base_temp_lowers_chosen_temperature_and_final_entropy_on_the_tiny_model():
    """The shipped tiny model on real bundled prompts (held-out passages), through
    alpha.generate: the base values are what the sampler uses at average uncertainty, so a
    lower base_temp gives a lower mean chosen temperature and a lower mean final entropy."""
    import json

    from conftest import ROOT, TINY_MODEL_DIR
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import alpha

    model = AutoModelForCausalLM.from_pretrained(TINY_MODEL_DIR).eval()
    tok = AutoTokenizer.from_pretrained(TINY_MODEL_DIR)
    with open(ROOT / "data" / "heldout_passages.jsonl") as fh:
        prompts = [json.loads(line)["prompt"] for line in fh][:8]

    def means(base_temp):
        res = alpha.generate(model, tok, prompts, max_new_tokens=24, seed=0,
                             sampler_config=SamplerConfig(base_temp=base_temp))
        steps = [t for t in res.traces if t["temperature"]]
        return [sum(sum(t[k]) for t in steps) / sum(len(t[k]) for t in steps)
                for k in ("temperature", "final_entropy")]

    (t_low, h_low), (t_mid, h_mid), (t_high, h_high) = means(0.3), means(0.6), means(1.0)
    assert t_low < t_mid < t_high and h_low < h_mid < h_high
