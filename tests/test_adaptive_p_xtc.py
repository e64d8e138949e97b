"""adaptive-p and XTC (alpha/adaptive_p.py, alpha/truncation.py) by hand from llama.cpp's
source (llama-sampler.cpp of llama-cpp-python 0.3.36's vendored llama.cpp), rows independent of
their batch over many steps, XTC's coin as a distribution. Bad inputs tried: target > 1,
decay 1 and -0.1, threshold 0 and 0.6, probability 1.5, min_keep 0."""

from __future__ import annotations

import math

import pytest
import torch

from alpha import build_sampler
from alpha.adaptive_p import adaptive_p_logits
from alpha.truncation import xtc_keep


def test_adaptive_p_transform_and_ema_by_hand():
    """target 0.5, decay 0.9: the EMA starts at 0.5/0.1 over 1/0.1, so the adapted target is
    2·0.5 - 0.5 = 0.5; p = (0.7, 0.2, 0.1): d = |p - 0.5|/0.3 = (2/3, 1, 4/3),
    logit' = 5 - 10 d²/(1 + d). Drawing token 1 (p = 0.2): weighted_sum = 0.2 + 0.9·5 = 4.7,
    total_weight = 1 + 0.9·10 = 10, so the next target is 2·0.5 - 0.47 = 0.53."""
    s = build_sampler("adaptive_p", target=0.5, decay=0.9)
    s.reset(1)
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))
    p, scores = s.transform(logits)
    want = [5 - 10 * d * d / (1 + d) for d in (2 / 3, 1.0, 4 / 3)]
    torch.testing.assert_close(scores, torch.tensor([want]))
    s.accept(p, torch.tensor([1]))
    assert s.weighted_sum.item() == pytest.approx(4.7) and s.total_weight.item() == pytest.approx(10.0)
    assert s.adapted_target().item() == pytest.approx(0.53)
    assert adaptive_p_logits(p, torch.tensor([[True, True, False]]), torch.tensor([0.5]))[0, 2] \
        == -math.inf  # removed tokens stay removed


def test_adaptive_p_with_a_negative_target_samples_p_unchanged():
    s = build_sampler("adaptive_p", target=-1.0)
    s.reset(1)
    x = torch.tensor([[2.0, 1.0, 0.0]])
    _, scores = s.transform(x)
    torch.testing.assert_close(scores, x)


def test_xtc_removes_all_top_choices_but_the_least_probable():
    p = torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.9, 0.05, 0.03, 0.02], [0.4, 0.3, 0.2, 0.1]])
    on = torch.tensor([True, True, False])
    keep = xtc_keep(p, 0.1, 1, on)
    assert keep.tolist() == [[False, False, True, True],   # 0.5, 0.3 go; 0.15 is the last above
                             [True, True, True, True],     # one token above: nothing to do
                             [True, True, True, True]]     # the coin said no
    assert xtc_keep(p[:1], 0.1, 3, on[:1]).tolist() == [[True] * 4]  # would leave 2 < min_keep 3


def test_xtc_acts_on_about_probability_of_the_steps():
    """The coin (from each row's generator) against its probability: 2,000 independent rows."""
    s = build_sampler("xtc", probability=0.3, threshold=0.1)
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).expand(2000, 4)
    st = s.step(logits, torch.zeros(2000, 1, dtype=torch.long),
                generators=[torch.Generator().manual_seed(i) for i in range(2000)])
    share = st.trace["xtc_applied"].mean().item()
    assert abs(share - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 2000)  # within 4 standard errors
    applied = st.trace["xtc_applied"].bool()
    assert (st.tokens[applied] >= 2).all()  # only 0.15 and 0.05 were left


@pytest.mark.parametrize("name", ["adaptive_p", "xtc"])
def test_a_row_in_a_batch_runs_as_it_runs_alone_over_many_steps(name):
    g = torch.Generator().manual_seed(1)
    steps = [torch.randn(4, 100, generator=g) * 2.5 for _ in range(6)]
    ids = torch.zeros(4, 1, dtype=torch.long)
    batch = build_sampler(name)
    batch.reset(4)
    gens = [torch.Generator().manual_seed(20 + i) for i in range(4)]
    got = [batch.step(x, ids, generators=gens) for x in steps]
    for i in range(4):
        alone = build_sampler(name)
        alone.reset(1)
        gen = [torch.Generator().manual_seed(20 + i)]
        for t, x in enumerate(steps):
            st = alone.step(x[i:i + 1], ids[i:i + 1], generators=gen)
            assert st.tokens[0] == got[t].tokens[i]


@pytest.mark.parametrize("name,params,message", [
    ("adaptive_p", dict(target=1.5), r"^sampler.target=1.5 is invalid: use a number in \(-inf, 1\]$"),
    ("adaptive_p", dict(decay=1.0), r"^sampler.decay=1.0 is invalid: use a number in \[0, 0.99\]$"),
    ("adaptive_p", dict(decay=-0.1), r"^sampler.decay=-0.1 is invalid"),
    ("xtc", dict(threshold=0.0), r"^sampler.threshold=0.0 is invalid: use a number in \(0, 0.5\]$"),
    ("xtc", dict(threshold=0.6), r"^sampler.threshold=0.6 is invalid"),
    ("xtc", dict(probability=1.5), r"^sampler.probability=1.5 is invalid: use a number in \[0, 1\]$"),
    ("xtc", dict(min_keep=0), r"^sampler.min_keep=0 is invalid: use an integer in \[1, inf\)$"),
])
def test_bad_parameters_are_one_line(name, params, message):
    with pytest.raises(ValueError, match=message):
        build_sampler(name, **params)
