"""The adaptive step is one graph: no graph break, no recompile as the batch shrinks.

Checked by tracing only (TorchDynamo, no code generation: seconds on CPU; the full inductor
comparison is tests/test_compile.py's `slow`/`gpu` test): `torch._dynamo.explain` on
`adaptive_step` for three configs (default, per-head attention, no attention row) reports one
graph and zero breaks; through `alpha.generate`, with rows finishing at EOS at different steps
down to a single row and the sequence growing every step, a counting backend sees exactly one
compiled frame, and the tokens and traces equal the eager sampler's (the counting backend runs
the traced graph eagerly, so equality is exact).
"""

from __future__ import annotations

import pytest
import torch
from torch._dynamo.testing import CompileCounter

import alpha
from alpha import AdaptiveEntropixSampler, SamplerConfig
from alpha.sampler import adaptive_step
from tests.conftest import make_tiny_model


def _args(cfg: SamplerConfig, b=4, v=1024, h=4, s=40, attention=True):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, v, generator=g) * 3
    ids = torch.randint(0, v, (b, s - 2), generator=g)
    att = torch.softmax(torch.randn(b, h, s, generator=g), -1) if attention else None
    km = torch.ones(b, s, dtype=torch.bool)
    sampler = AdaptiveEntropixSampler(cfg)
    sampler._ensure_state(b, x.device)
    return [x, ids, torch.ones_like(ids, dtype=torch.bool), att, km, sampler._window,
            sampler._count, sampler._total, sampler._steps, x.new_zeros(b, 5),
            sampler._has_prev, torch.rand(b, generator=g)]


@pytest.mark.parametrize("cfg,attention,vocab", [
    (SamplerConfig(), True, 1024), (SamplerConfig(attention_mode="per_head"), True, 1024),
    (SamplerConfig(), False, 1024),
    (SamplerConfig(), True, 49_152)])  # a real vocabulary: the pool's chunked top-k
def test_the_step_traces_as_one_graph_without_breaks(cfg, attention, vocab):
    torch._dynamo.reset()
    ex = torch._dynamo.explain(adaptive_step)(*_args(cfg, attention=attention, v=vocab), cfg,
                                              read_prefix=False)
    assert (ex.graph_count, ex.graph_break_count) == (1, 0), ex.break_reasons


def test_the_traced_step_equals_eager_on_a_real_vocabulary_as_the_batch_shrinks():
    """V = 49,152 (SmolLM2's), so the pool comes from the chunked top-k; batches 6, 3, 2, 1
    through one traced frame (the counting backend runs the graph eagerly: exact equality)."""
    torch._dynamo.reset()
    g = torch.Generator().manual_seed(1)
    v, b = 49_152, 6
    eager, traced = AdaptiveEntropixSampler(), AdaptiveEntropixSampler()
    counter = CompileCounter()
    traced.enable_compile(backend=counter)
    ids = torch.randint(0, v, (b, 150), generator=g)
    for rows in (6, 6, 3, 2, 1):
        keep = torch.arange(rows)
        for s in (eager, traced):
            if s._batch is not None and s._batch != rows:
                s.select_rows(keep)
        ids = ids[:rows]
        x = torch.randn(rows, v, generator=g) * 3
        x[:, ids[0, -5:]] += 10.0  # recently seen tokens at the top of the distribution
        n = ids.shape[1]  # keys = the tokens so far (the sequence grows every step)
        att = torch.softmax(torch.randn(rows, 4, n, generator=g), -1)
        km = torch.ones(rows, n, dtype=torch.bool)
        gens = [[torch.Generator().manual_seed(i) for i in range(rows)] for _ in range(2)]
        a = eager.step(x, ids, attention=att, key_mask=km, generators=gens[0])
        c = traced.step(x, ids, attention=att, key_mask=km, generators=gens[1])
        assert torch.equal(a.tokens, c.tokens)
        for key in a.trace:
            torch.testing.assert_close(c.trace[key], a.trace[key], rtol=0, atol=0, msg=key)
        ids = torch.cat([ids, a.tokens[:, None]], 1)
    assert counter.frame_count == 1


def test_one_compiled_frame_as_rows_finish_down_to_one(tiny_tokenizer):
    torch._dynamo.reset()
    model = make_tiny_model("qwen2")
    model.generation_config.eos_token_id = list(range(0, 512, 20))  # rows stop at steps 5-30
    prompts = ["Hello there", "Once upon a time", "x", "The cat sat on", "To be or not",
               "Why?"]
    kw = dict(max_new_tokens=30, seed=6)
    eager = alpha.generate(model, tiny_tokenizer, prompts, sampler=AdaptiveEntropixSampler(), **kw)
    counter = CompileCounter()
    traced = AdaptiveEntropixSampler()
    traced.enable_compile(backend=counter)
    comp = alpha.generate(model, tiny_tokenizer, prompts, sampler=traced, **kw)
    lengths = sorted(len(t) for t in eager.token_ids)
    assert lengths[-1] > lengths[-2]  # the last steps ran with a single row
    assert counter.frame_count == 1
    assert comp.token_ids == eager.token_ids
    for te, tc in zip(eager.traces, comp.traces, strict=True):
        assert tc == te
