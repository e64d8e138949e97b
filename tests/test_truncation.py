"""The 2024-25 truncation samplers (alpha/truncation.py) against independent references.

- top-nσ, p-less, quadratic: each paper's / the webui's formula written here in float64 NumPy
  (not our code): the same kept sets and, after the temperature, probabilities within 1e-6.
  top-nσ also: its kept set does not move with the temperature (the paper's invariance).
- Top-H: transformers' own `generate(top_h=...)`, in tests/test_baselines.py (CASES).
- Every new sampler: row i of a batch draws what row i alone draws (per-row generators), and
  the trace records the kept-set size.
Bad inputs tried: n < 0, top_h 0 and 1.5, smoothing_factor 0, smoothing_curve 0.5, a string
for n, an unknown key; each one line naming the field and the range.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alpha import build_sampler

NEW = ["top_n_sigma", "p_less", "top_h", "quadratic"]


def _logits(seed: int, b: int = 6, v: int = 300) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, v, generator=g) * torch.linspace(0.5, 4.0, b)[:, None]  # flat to peaked
    x[0, :40] = float("-inf")  # a row with tokens already removed
    return x


def _softmax64(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x[np.isfinite(x)].max())
    z[~np.isfinite(x)] = 0.0
    return z / z.sum()


def _probs(sampler, logits) -> torch.Tensor:
    return torch.softmax(sampler.filtered(logits, torch.zeros(logits.shape[0], 1,
                                                              dtype=torch.long)), -1).double()


@pytest.mark.parametrize("n", [0.0, 0.5, 1.0, 2.5])
@pytest.mark.parametrize("temperature", [0.7, 1.0, 1.6])
def test_top_n_sigma_is_the_papers_rule(n, temperature):
    logits = _logits(1)
    got = _probs(build_sampler("top_n_sigma", n=n, temperature=temperature), logits)
    for row, x in zip(got, logits.double().numpy(), strict=True):
        fin = x[np.isfinite(x)]
        keep = np.isfinite(x) & ((x >= fin.max() - n * fin.std()) if n > 0 else True)  # llama.cpp:
        # population std; n <= 0 switches the filter off
        want = _softmax64(np.where(keep, x / temperature, -np.inf))
        assert np.array_equal(row.numpy() > 0, keep)
        np.testing.assert_allclose(row.numpy(), want, atol=1e-6)
    kept_at_1 = _probs(build_sampler("top_n_sigma", n=n), logits) > 0
    assert torch.equal(got > 0, kept_at_1)  # the kept set does not depend on the temperature


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_p_less_keeps_p_at_least_the_collision_probability(temperature):
    logits = _logits(2)
    got = _probs(build_sampler("p_less", temperature=temperature), logits)
    for row, x in zip(got, logits.double().numpy(), strict=True):
        p = _softmax64(x / temperature)
        keep = p >= (p * p).sum()
        assert np.array_equal(row.numpy() > 0, keep) and keep.sum() >= 1
        np.testing.assert_allclose(row.numpy(), p * keep / (p * keep).sum(), atol=1e-6)


def test_p_less_by_hand():
    """p = (0.5, 0.3, 0.2): sum p^2 = 0.38, so only the first token stays; a uniform row keeps all."""
    x = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.25, 0.25, 0.25]]))
    x = torch.cat([x[:, :3], torch.tensor([[-float("inf")], [np.log(0.25)]])], dim=1)
    got = _probs(build_sampler("p_less"), x)
    assert (got[0] > 0).tolist() == [True, False, False, False]
    assert (got[1] > 0).tolist() == [True, True, True, True]


@pytest.mark.parametrize("factor,curve", [(0.3, 1.0), (1.0, 1.0), (0.5, 2.5), (2.0, 4.0)])
def test_quadratic_is_the_webuis_formula(factor, curve):
    logits = _logits(3)
    got = _probs(build_sampler("quadratic", smoothing_factor=factor, smoothing_curve=curve,
                               temperature=0.8), logits)
    for row, x in zip(got, logits.double().numpy(), strict=True):
        top = x[np.isfinite(x)].max()
        d = x - top
        k, s = (3 - curve) / 2, (curve - 1) / 2
        with np.errstate(invalid="ignore"):  # -inf logits give nan, replaced by -inf
            y = np.where(np.isfinite(x), top - k * factor * d**2 + s * factor * d**3, -np.inf)
        np.testing.assert_allclose(row.numpy(), _softmax64(y / 0.8), atol=1e-6)


@pytest.mark.parametrize("name", NEW)
def test_a_row_in_a_batch_draws_what_it_draws_alone(name):
    logits = _logits(4)
    ids = torch.zeros(logits.shape[0], 1, dtype=torch.long)
    s = build_sampler(name)
    full = s.step(logits, ids, generators=[torch.Generator().manual_seed(i) for i in range(6)])
    for i in range(6):
        alone = s.step(logits[i:i + 1], ids[i:i + 1], generators=[torch.Generator().manual_seed(i)])
        assert full.tokens[i] == alone.tokens[0]
        assert full.trace["candidate_size"][i] == alone.trace["candidate_size"][0]
    assert (full.trace["candidate_size"] >= 1).all()


@pytest.mark.parametrize("name,params,message", [
    ("top_n_sigma", dict(n=-0.5), r"^sampler.n=-0.5 is invalid: use a number in \[0, inf\)$"),
    ("top_n_sigma", dict(n="1"), r"^sampler.n='1' is invalid"),
    ("top_h", dict(top_h=0.0), r"^sampler.top_h=0.0 is invalid: use a number in \(0, 1\]$"),
    ("top_h", dict(top_h=1.5), r"^sampler.top_h=1.5 is invalid"),
    ("quadratic", dict(smoothing_factor=0.0), r"^sampler.smoothing_factor=0.0 is invalid: use a "
                                              r"number in \(0, inf\)$"),
    ("quadratic", dict(smoothing_curve=0.5), r"^sampler.smoothing_curve=0.5 is invalid: use a "
                                             r"number in \[1, inf\)$"),
    ("p_less", dict(p=0.1), r"^sampler 'p_less' has unknown key\(s\) \['sampler.p'\]"),
])
def test_bad_parameters_are_one_line(name, params, message):
    with pytest.raises(ValueError, match=message):
        build_sampler(name, **params)
