"""The refined sign-flip permutation p (alpha/evaluation/paired.py, `perm_refine`): why it exists
(a 10,000-draw p cannot go below 1e-4, so Holm over 1,625 tests could separate nothing), checked
against independent references: scipy.stats.permutation_test's exact enumeration, a hand-computed
exact p (equal differences: only the two all-same flips reach the observed sum), and brute-force
masks for the byte lookup tables. Inputs tried: n = 17, 18, 21, 40, 128; mean and pooled
statistics; a test the first draws already resolve (left exactly as it was)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from alpha.evaluation import paired
from alpha.evaluation.compare import _rep_stat
from alpha.evaluation.separability import holm, separability_records


def test_swapped_sums_equal_brute_force_masks():
    v = np.random.default_rng(0).normal(size=(21, 3))  # 21 rows: 3 bytes, the last part-filled
    got = paired.swapped_sums(v, 1000, seed=7, chunk=300)  # several chunks
    codes = np.random.default_rng(7).integers(0, 256, size=(1000, 3), dtype=np.uint8)
    masks = np.unpackbits(codes, axis=1, bitorder="little")[:, :21].astype(float)
    np.testing.assert_allclose(got, masks @ v, atol=1e-12)


def test_refined_p_matches_scipy_exact_enumeration():
    """n = 18 (> exact_max): exact p 4.0e-4 by scipy's full enumeration of 2^18 flips; the
    refined p from 10^6 draws lies within 4 binomial standard errors of it."""
    d = np.random.default_rng(3).normal(1.4, 1.0, 18)
    exact = stats.permutation_test((d, np.zeros(18)), lambda x, y, axis: np.mean(x - y, axis=axis),
                                   permutation_type="samples", n_resamples=np.inf).pvalue
    draws = 1_000_000
    got = paired.paired_mean(d, np.zeros(18), perm_refine=draws).perm_p
    assert abs(got - exact) < 4 * math.sqrt(exact / draws)


def test_equal_differences_hand_computed():
    """n = 17 equal differences: only all-kept and all-swapped reach |sum|, exact p = 2 / 2^17
    = 1.53e-5. 10,000 draws cannot see it (their floor is 1e-4); 10^6 draws can."""
    a, b = [1.0] * 17, [0.0] * 17
    coarse = paired.paired_mean(a, b).perm_p
    assert coarse >= 1 / 10001 > 2 / 2**17
    draws = 1_000_000
    got = paired.paired_mean(a, b, perm_refine=draws).perm_p
    expected = (1 + draws * 2 / 2**17) / (1 + draws)
    assert abs(got - expected) < 4 * math.sqrt(2 / 2**17 / draws)


def test_resolved_tests_are_left_as_they_were():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.1, 1, 60), rng.normal(0, 1, 60)  # p ~ 0.5: 10,000 draws resolve it
    assert paired.paired_mean(a, b, perm_refine=10**6) == paired.paired_mean(a, b)


def test_pooled_statistic_refined_against_brute_force():
    """rep-n from (unique, total) counts per prompt: the refined p equals the share of the same
    refine-stream masks, applied by hand, whose swapped statistic reaches the observed one."""
    rng = np.random.default_rng(2)
    n = 40
    total = rng.integers(80, 100, n).astype(float)
    ca = np.stack([total - rng.integers(0, 3, n), total], 1)  # few repeats
    cb = np.stack([total - rng.integers(10, 14, n), total], 1)  # many
    draws = 200_000
    res = paired.paired_pooled(ca, cb, _rep_stat, perm_refine=draws, seed=5)
    codes = np.random.default_rng(6).integers(0, 256, size=(draws, 5), dtype=np.uint8)
    masks = np.unpackbits(codes, axis=1, bitorder="little")[:, :n].astype(float)
    moved = masks @ (cb - ca)
    sa, sb = ca.sum(0), cb.sum(0)
    flipped = _rep_stat(sa + moved) - _rep_stat(sb - moved)
    hits = int((np.abs(flipped) >= abs(res.diff) * (1 - 1e-12)).sum())
    assert res.perm_p == pytest.approx((1 + hits) / (1 + draws))
    assert res.perm_p < 1e-4


def test_a_large_family_can_separate_a_clear_pair():
    """26 methods x 5 metrics would be 1,625 tests; here 12 methods on one metric (66 tests)
    plus the floor arithmetic: without refinement the clear pair's Holm p is 66 x 1e-4 (kept),
    but with 1,625 tests it would be 0.16; refined, the clear pair's raw p is ~1e-6."""
    n = 128
    rng = np.random.default_rng(4)
    groups = {f"m{i}": [[{"index": j, "text": "x", "metrics": {"coherence": float(v)}}
                         for j, v in enumerate(rng.normal(0.0, 1.0, n))]] for i in range(11)}
    groups["best"] = [[{"index": j, "text": "x", "metrics": {"coherence": float(v)}}
                       for j, v in enumerate(rng.normal(1.0, 1.0, n))]]
    recs = separability_records(groups, ["coherence"])
    clear = [r for r in recs if "best" in (r["A"], r["B"])]
    assert len(recs) == 66 and all(r["perm_p"] < 1e-5 for r in clear)
    assert holm([1 / 10001] + [1.0] * 1624)[0] > 0.05  # the floor the refinement removes
    assert all(r["verdict"] != "not separable" for r in clear)
