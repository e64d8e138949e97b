"""The uncertainty-gated sampler (alpha/gated.py): greedy rows take the argmax and draw nothing,
sampled rows draw what the inner sampler draws alone from the same generator, the entropy bar by
hand (a uniform row over 8 tokens has 3 bits), rows independent of their batch. Bad inputs
tried: an unknown signal, a negative threshold, a stateful inner sampler, gated in gated,
attn_entropy without an attention row."""

from __future__ import annotations

import pytest
import torch

from alpha import build_sampler


def _gens(n, base=0):
    return [torch.Generator().manual_seed(base + i) for i in range(n)]


def test_certain_rows_are_greedy_and_draw_nothing_uncertain_rows_use_the_inner_sampler():
    x = torch.zeros(3, 8)  # row 0: uniform, 3 bits
    x[1, 5] = 30.0  # row 1: certain
    x[2] = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -2.0, -3.0, -4.0])  # in between
    ids = torch.zeros(3, 1, dtype=torch.long)
    s = build_sampler("gated", threshold=3.0, inner="top_p", inner_params={"top_p": 0.95})
    gens = _gens(3)
    before = [g.get_state().clone() for g in gens]
    st = s.step(x, ids, generators=gens)
    assert st.trace["gate"].tolist() == [0.0, 0.0, 0.0]  # 3 bits is at the bar: greedy
    assert st.tokens.tolist() == x.argmax(-1).tolist()
    assert all(torch.equal(g.get_state(), b) for g, b in zip(gens, before, strict=True))
    s = build_sampler("gated", threshold=2.9, inner="top_p", inner_params={"top_p": 0.95})
    st = s.step(x, ids, generators=_gens(3))
    assert st.trace["gate"].tolist() == [1.0, 0.0, 0.0]
    assert st.trace["signal"][0].item() == pytest.approx(3.0, abs=1e-5)
    alone = build_sampler("top_p", top_p=0.95).step(x[:1], ids[:1], generators=_gens(1))
    assert st.tokens[0] == alone.tokens[0] and st.tokens[1] == 5


def test_a_row_in_a_batch_draws_what_it_draws_alone():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 200, generator=g) * torch.linspace(0.3, 6.0, 6)[:, None]
    ids = torch.zeros(6, 1, dtype=torch.long)
    s = build_sampler("gated", threshold=2.0, inner="min_p", inner_params={"min_p": 0.05})
    full = s.step(x, ids, generators=_gens(6, 10))
    assert 0 < full.trace["gate"].sum() < 6  # some rows of each kind
    for i in range(6):
        one = s.step(x[i:i + 1], ids[i:i + 1], generators=_gens(1, 10 + i))
        assert one.tokens[0] == full.tokens[i]


def test_the_attention_signal_reads_the_attention_row():
    s = build_sampler("gated", signal="attn_entropy", threshold=0.5)
    assert s.needs_attention
    x, ids = torch.randn(2, 10), torch.zeros(2, 3, dtype=torch.long)
    attn = torch.tensor([[[1.0, 0.0, 0.0]], [[1 / 3, 1 / 3, 1 / 3]]])  # (B, H=1, S=3)
    st = s.step(x, ids, attention=attn, generators=_gens(2))
    assert st.trace["signal"].tolist() == pytest.approx([0.0, 1.0])
    assert st.trace["gate"].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="needs the attention row"):
        s.step(x, ids, generators=_gens(2))


@pytest.mark.parametrize("params,message", [
    (dict(signal="entropie"), r"^sampler.signal='entropie' is unknown; did you mean 'entropy'\?"),
    (dict(threshold=-1.0), r"^sampler.threshold=-1.0 is invalid: use a number in \[0, inf\)$"),
    (dict(inner="mirostat_v2", inner_params={}), r"^sampler.inner=MirostatV2Sampler keeps per-row state"),
    (dict(inner="alpha", inner_params={}), r"^sampler.inner=AdaptiveEntropixSampler keeps"),
    (dict(inner="gated"), r"^sampler.inner='gated' is invalid"),
    (dict(inner="top_p", inner_params={"top_pp": 0.9}), r"did you mean 'sampler.top_p'"),
])
def test_bad_parameters_are_one_line(params, message):
    with pytest.raises(ValueError, match=message):
        build_sampler("gated", **params)
