"""The compiled sampler step (`compile=True` / `compile_sampler=true`) against the eager one.

Reference: the eager `AdaptiveEntropixSampler` (itself tested against HF's warpers and scipy),
on a random tiny Qwen2 through `alpha.generate` with batches of 8 and 2 (batch size changes)
and rows finishing at EOS at different steps (rows dropped mid-batch), so the compiled graph
sees every shape change the engine makes; two configs in turn share the compiled step. Bad
inputs tried: compile with solver=seed_adam, and compile_sampler=true for a sampler without a
compiled step.
Tokens, pool sizes and entropies must match; top_k, top_p and the temperature only where they
bind (on a flat stretch of the path, where the pool size caps the kept set, or where the entropy
is nearly flat in T, rounding moves them without changing the distribution). The CPU comparison is marked `slow` (one torch.compile of the step, 30-90 s on 2 cores); the
GPU one runs under `-m gpu`; the setting checks run by default.
"""

import pytest
import torch

import alpha
from alpha import AdaptiveEntropixSampler, SamplerConfig
from tests.conftest import make_tiny_model

PROMPTS = ["Hello there", "Once upon a time in a land far away", "x", "The cat sat on",
           "To be or not to be, that is", "A", "Numbers: 1 2 3 4 5 6 7", "Why?",
           "Quick brown fox jumps", "Lorem ipsum dolor sit amet, consectetur"]


@pytest.mark.parametrize("device", [
    # on CPU the one compile of the process costs 30-90 s on 2 cores: `pytest -m slow` runs it
    pytest.param("cpu", marks=pytest.mark.slow),
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
        not torch.cuda.is_available(), reason="needs CUDA")]),
])
def test_compiled_step_gives_the_eager_tokens_and_traces(tiny_tokenizer, device):
    """Two configs in turn through the one compiled step of the process: the second (other
    bounds and sizes) must not reuse the first's constants."""
    model = make_tiny_model("qwen2").to(device)
    model.generation_config.eos_token_id = list(range(0, 512, 32))  # rows stop at various steps
    kw = dict(max_new_tokens=40, seed=3, batch_size=8)
    for cfg in (SamplerConfig(), SamplerConfig(target_scale=0.3, temp_max=0.8, top_k_max=40,
                                               candidate_size_max=20, attention_mode="per_head",
                                               clamp_base=True)):  # base_* 50 > bound 20
        eager = alpha.generate(model, tiny_tokenizer, PROMPTS,
                               sampler=AdaptiveEntropixSampler(cfg), **kw)
        compiled_sampler = AdaptiveEntropixSampler(cfg, compile=True)
        assert compiled_sampler.compiled
        comp = alpha.generate(model, tiny_tokenizer, PROMPTS, sampler=compiled_sampler, **kw)
        assert len(set(eager.finish_reasons)) > 1  # some rows stopped at EOS, others ran on
        assert comp.token_ids == eager.token_ids
        for te, tc in zip(eager.traces, comp.traces, strict=True):
            for key in te:
                if key in ("top_k", "top_p", "temperature"):
                    continue  # compared below: they do not bind where they may differ
                torch.testing.assert_close(torch.tensor(tc[key]), torch.tensor(te[key]),
                                           atol=1e-4, rtol=1e-4, msg=key)
            # Where the pool size caps the kept set at the top temperature, the entropy is flat
            # in top_k/top_p and the solver's bracket lands anywhere on the flat part (rounding
            # decides, eager or compiled alike): they may differ only where the drawn
            # distribution does not (same pool size, temperature and entropy, checked above).
            # Where the kept logits are nearly equal (this random model's h_tok ~ 0.999) the
            # entropy is nearly flat in T too (slope ~1e-3): the solver's temperature, and the
            # top_p stated from it, are then set by rounding to ~1e-4, with the same top_k and
            # the drawn distribution's entropy equal to 1e-6 (measured: dT 8.6e-5, dH 6e-8).
            assert len(te["temperature"]) == len(tc["temperature"])
            for t in range(len(te["temperature"])):
                flat_in_t = (te["top_k"][t] == tc["top_k"][t]
                             and abs(te["final_entropy"][t] - tc["final_entropy"][t]) < 1e-6)
                for key in ("top_k", "top_p", "temperature"):
                    if abs(te[key][t] - tc[key][t]) > 1e-4 * (1 + abs(te[key][t])):
                        capped = te["candidate_size"][t] < min(te["top_k"][t], tc["top_k"][t])
                        assert capped or (key != "top_k" and flat_in_t), (key, t)
        assert max(max(t["top_k"]) for t in comp.traces) <= cfg.top_k_max


def test_compile_refuses_seed_adam():
    with pytest.raises(ValueError, match="compile needs solver='bisection'"):
        AdaptiveEntropixSampler(SamplerConfig(solver="seed_adam"), compile=True)


def test_compile_sampler_setting_is_checked():
    import alpha.runner.config as hc

    with pytest.raises(ValueError, match="compile_sampler=true but sampler 'top_p'"):
        hc.build_sampler({"name": "top_p", "top_p": 0.9}, compile=True)
    with pytest.raises(ValueError, match="compile needs solver='bisection'"):
        hc.build_sampler({"name": "alpha_seed"}, compile=True)
    assert hc.build_sampler({"name": "alpha"}, compile=True).compiled
