"""Mirostat v2 (alpha/mirostat.py): the kept set and μ's update by hand, rows independent of
their batch over a multi-step sequence (state included), llama.cpp's own mirostat_v2 replayed
from recorded fixtures (tests/fixtures/llama_cpp/, test_llama_cpp_reference.py).
Bad inputs tried: tau 0, eta < 0, temperature 0."""

from __future__ import annotations

import math

import pytest
import torch

from alpha import build_sampler
from alpha.mirostat import mirostat_keep


def test_kept_set_and_mu_update_by_hand():
    """p = (1/2, 1/4, 1/8, 1/8): surprises 1, 2, 3, 3 bits. With μ = 2.5 the first two stay;
    renormalised they are (2/3, 1/3); drawing the second gives s = log2 3 and
    μ' = 2.5 - 0.1 (log2 3 - τ)."""
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.125, 0.125]]))
    assert mirostat_keep(logits, torch.tensor([2.5])).tolist() == [[True, True, False, False]]
    assert mirostat_keep(logits, torch.tensor([3.0])).tolist() == [[True] * 4]  # ties together
    assert mirostat_keep(logits, torch.tensor([0.1])).tolist() == [[True, False, False, False]]
    s = build_sampler("mirostat_v2", tau=1.25, eta=0.1)
    s.reset(1)
    s.mu = torch.tensor([2.5])
    scores = s.scores(logits)
    torch.testing.assert_close(torch.softmax(scores, -1), torch.tensor([[2 / 3, 1 / 3, 0, 0]]))
    s.update(scores, torch.tensor([1]))
    assert s.mu.item() == pytest.approx(2.5 - 0.1 * (math.log2(3) - 1.25), abs=1e-6)


def test_mu_starts_at_two_tau_and_follows_the_draws():
    s = build_sampler("mirostat_v2", tau=3.0, eta=0.2)
    s.reset(2)
    assert s.mu.tolist() == [6.0, 6.0]
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        st = s.step(torch.randn(2, 100, generator=g) * 3, torch.zeros(2, 1, dtype=torch.long),
                    generators=[torch.Generator().manual_seed(i) for i in range(2)])
        assert (st.trace["candidate_size"] >= 1).all()
    assert not torch.equal(s.mu, torch.tensor([6.0, 6.0]))


def test_a_row_in_a_batch_runs_as_it_runs_alone_over_many_steps():
    g = torch.Generator().manual_seed(1)
    steps = [torch.randn(4, 200, generator=g) * 2.5 for _ in range(8)]
    ids = torch.zeros(4, 1, dtype=torch.long)
    batch = build_sampler("mirostat_v2", tau=2.0)
    batch.reset(4)
    gens = [torch.Generator().manual_seed(10 + i) for i in range(4)]
    got = [batch.step(x, ids, generators=gens) for x in steps]
    for i in range(4):
        alone = build_sampler("mirostat_v2", tau=2.0)
        alone.reset(1)
        gen = [torch.Generator().manual_seed(10 + i)]
        for t, x in enumerate(steps):
            st = alone.step(x[i:i + 1], ids[i:i + 1], generators=gen)
            assert st.tokens[0] == got[t].tokens[i]
            assert st.trace["mu"][0] == got[t].trace["mu"][i]


def test_finished_rows_leave_with_their_state():
    s = build_sampler("mirostat_v2")
    s.reset(3)
    s.mu = torch.tensor([1.0, 2.0, 3.0])
    s.select_rows(torch.tensor([0, 2]))
    assert s.mu.tolist() == [1.0, 3.0]


@pytest.mark.parametrize("params,message", [
    (dict(tau=0.0), r"^sampler.tau=0.0 is invalid: use a number in \(0, inf\)$"),
    (dict(eta=-0.1), r"^sampler.eta=-0.1 is invalid: use a number in \[0, inf\)$"),
    (dict(temperature=0.0), r"^sampler.temperature=0.0 is invalid"),
])
def test_bad_parameters_are_one_line(params, message):
    with pytest.raises(ValueError, match=message):
        build_sampler("mirostat_v2", **params)
