"""Paired comparisons and budget curves against hand-computed values, brute-force enumeration
and scipy.stats (binomtest / permutation_test) as independent references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from alpha.evaluation import budget, compare, paired
from alpha.evaluation import repetition as rep

# ------------------------------------------------------------------------------- budget curve


def test_best_of_n_hand_cases():
    # [1,3,2]: N=1 -> mean 2; N=2 -> pairs (1,3),(1,2),(3,2) -> (3+2+3)/3 = 8/3; N=3 -> 3
    np.testing.assert_allclose(budget.expected_best_of_n([1, 3, 2]), [2, 8 / 3, 3])
    # lower is better: N=2 -> min of the pairs (1+1+2)/3 = 4/3; N=3 -> 1
    np.testing.assert_allclose(budget.expected_best_of_n([1, 3, 2], higher_is_better=False),
                               [2, 4 / 3, 1])
    # [4,1,3,2], N=2: pairs 41 43 42 13 12 32 -> maxima 4 4 4 3 2 3 -> 20/6
    assert budget.expected_best_of_n([4, 1, 3, 2])[1] == pytest.approx(10 / 3)
    # ties [2,2,1], N=2: pairs (2,2),(2,1),(2,1) -> all 2
    assert budget.expected_best_of_n([2, 2, 1])[1] == pytest.approx(2.0)


def test_best_of_n_matches_brute_force_enumeration():
    s = np.random.default_rng(3).normal(size=9)
    brute = [np.mean([max(c) for c in itertools.combinations(s, n)]) for n in range(1, 10)]
    np.testing.assert_allclose(budget.expected_best_of_n(s), brute, rtol=1e-12)
    # the probabilities of each N sum to 1 even where C(T, N) is huge (T = 400)
    np.testing.assert_allclose(budget.best_of_n_weights(400).sum(1), 1.0, rtol=1e-9)


def test_failed_trials_dropped_and_counted():
    curve = budget.budget_curve([1, float("nan"), 3, None, 2], samples=50)
    np.testing.assert_allclose(curve.expected, [2, 8 / 3, 3])
    assert (curve.trials, curve.dropped) == (3, 2)
    with pytest.raises(ValueError, match="no finite trial"):
        budget.budget_curve([None, float("nan")])
    single = budget.budget_curve([0.4])
    assert single.expected.tolist() == [0.4] and single.lo is None


def test_band_matches_explicit_resampling():
    s = np.array([0.2, 0.9, 0.5, 0.1, 0.7])
    curve = budget.budget_curve(s, samples=300, seed=7)
    # the same resamples (same seed, drawn as positions in the sorted trials) materialised as
    # lists, each curve by enumeration
    w = np.random.default_rng(7).integers(0, 5, size=(300, 5))
    curves = []
    for idx in w:
        draw = np.sort(s)[idx]
        curves.append([np.mean([max(c) for c in itertools.combinations(draw, n)])
                       for n in range(1, 6)])
    lo, hi = np.percentile(np.array(curves), [2.5, 97.5], axis=0)
    np.testing.assert_allclose(curve.lo, lo, rtol=1e-12)
    np.testing.assert_allclose(curve.hi, hi, rtol=1e-12)


def test_read_trials_csv(tmp_path):
    path = tmp_path / "trials.csv"
    path.write_text('method,trial,objective,params\ngreedy,0,0.5,{}\ntop_p,0,0.25,"{}"\n'
                    "top_p,1,,{}\n")
    got = budget.read_trials(path)
    assert got["greedy"] == [0.5] and got["top_p"][0] == 0.25 and math.isnan(got["top_p"][1])
    with pytest.raises(ValueError, match="does not exist"):
        budget.read_trials(tmp_path / "nope.csv")


def test_budget_plot_writes_a_figure(tmp_path):
    from alpha.evaluation.budget_plot import plot_budget_curves

    curves = {"a": budget.budget_curve([1, 3, 2], samples=20),
              "b": budget.budget_curve([2.5], samples=20)}
    out = plot_budget_curves(curves, tmp_path / "fig" / "budget.png", metric="mauve")
    assert out.read_bytes()[:4] == b"\x89PNG"

# ------------------------------------------------------------------------------- paired tests


def test_sign_test_hand_values():
    # 10 wins, 0 losses: P = 2 * (1/2)^10 = 2/1024; three ties are dropped
    assert paired.sign_test([1.0] * 10 + [0.0] * 3) == (pytest.approx(2 / 1024), 10, 0, 3)
    # 8 wins, 2 losses: 2 * (C(10,0) + C(10,1) + C(10,2)) / 2^10 = 2 * 56 / 1024
    assert paired.sign_test([1] * 8 + [-1] * 2)[0] == pytest.approx(112 / 1024)
    assert paired.sign_test([0, 0])[0] is None


def test_permutation_test_hand_enumerated():
    # d = [3, 1, -1, 2], sum 5; sign flips give sums +-3 +-1 +-1 +-2:
    # >= 5: 3+1+1+2=7, 3+1-1+2=5 (twice, either 1 negative) -> 3; <= -5 likewise 3 -> 6/16
    r = paired.paired_mean([3, 1, -1, 2], [0, 0, 0, 0])
    assert r.perm_p == pytest.approx(6 / 16)
    # d = [1, 2, 4]: sums of +-1 +-2 +-4 are distinct odd numbers; |s| >= 7 twice -> 2/8
    assert paired.paired_mean([1, 2, 4], [0, 0, 0]).perm_p == pytest.approx(0.25)
    # all 30 differences positive, Monte Carlo: only the all-or-nothing flips would reach
    # |sum|; none of 10000 seeded draws does -> (1 + 0) / (1 + 10000)
    r = paired.paired_mean([1.0] * 30, [0.0] * 30, perm_samples=10000)
    assert r.perm_p == pytest.approx(1 / 10001)


def test_permutation_test_matches_scipy():
    rng = np.random.default_rng(0)
    b = rng.normal(size=12)
    a = b + 0.4 + rng.normal(size=12)
    ref = stats.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                                 permutation_type="samples", vectorized=True,
                                 n_resamples=np.inf)
    assert paired.paired_mean(a, b).perm_p == pytest.approx(ref.pvalue, rel=1e-9)


def test_bootstrap_ci_covers_the_true_difference():
    rng = np.random.default_rng(1)
    b = rng.normal(size=300)
    a = b + 0.5 + 0.3 * rng.normal(size=300)  # true mean difference 0.5
    r = paired.paired_mean(a, b, seed=2)
    assert r.ci95[0] < 0.5 < r.ci95[1] and r.ci95[0] > 0.4  # excludes 0 by far
    assert r.diff == pytest.approx(np.mean(a - b))
    const = paired.paired_mean([1.7, 2.7, 0.7], [1.0, 2.0, 0.0])  # every difference 0.7
    assert const.ci95 == pytest.approx([0.7, 0.7])
    assert r.ci95 == paired.paired_mean(a, b, seed=2).ci95  # seeded


def test_undefined_pairs_dropped():
    r = paired.paired_mean([1.0, None, 3.0, 5.0], [0.0, 1.0, None, 4.0])
    assert (r.n, r.value_a, r.value_b, r.diff) == (2, 3.0, 2.0, 1.0)
    assert "2 of 4 prompts dropped" in r.notes[0]


def test_align_refuses_different_prompt_sets():
    pa, pb = paired.align([5, 1, 3], [3, 5, 1])
    assert [[5, 1, 3][i] for i in pa] == [[3, 5, 1][i] for i in pb] == [1, 3, 5]
    with pytest.raises(ValueError, match="different prompts.*1 only in A"):
        paired.align([1, 2, 3], [1, 2, 4])


def test_pooled_hand_case():
    # rep-2 style: A unique/total per prompt (3/4, 4/4) -> 100 (1 - 7/8) = 12.5;
    # B (4/4, 2/4) -> 100 (1 - 6/8) = 25; diff -12.5. Flips: none -12.5, swap p1 -> A 8/8,
    # B 5/8: 0 - 37.5; swap p2 -> A 5/8, B 8/8: +37.5; both -> +12.5: all |.| >= 12.5 -> p = 1
    stat = lambda s: 100 * (1 - s[:, 0] / s[:, 1])  # noqa: E731
    r = paired.paired_pooled([[3, 4], [4, 4]], [[4, 4], [2, 4]], stat)
    assert (r.value_a, r.value_b, r.diff, r.perm_p, r.sign_p) == (12.5, 25.0, -12.5, 1.0, None)

# ------------------------------------------------------------------------------- run rows


def _rows(texts, values, metric="coherence", start=0):
    return [{"index": start + i, "text": t, "metrics": {metric: v}}
            for i, (t, v) in enumerate(zip(texts, values, strict=True))]


TEXTS_A = ["a b a b a b", "c d e f", "x y x y z"]
TEXTS_B = ["a b c d e f", "c c c c", "x y z w v"]


def test_compare_pooled_rep_matches_the_metric():
    a, b = _rows(TEXTS_A, [0, 0, 0]), _rows(TEXTS_B, [0, 0, 0])
    r = compare.compare_metric([a], [b[::-1]], "rep_2")  # row order does not matter
    words_a, words_b = [rep.words(t) for t in TEXTS_A], [rep.words(t) for t in TEXTS_B]
    assert r.value_a == pytest.approx(rep.rep_n(words_a, 2))
    assert r.diff == pytest.approx(rep.rep_n(words_a, 2) - rep.rep_n(words_b, 2))
    # a-b-a-b-a-b: 5 bigrams, 2 unique; c d e f: 3/3; x y x y z: 4 bigrams, 3 unique
    assert r.value_a == pytest.approx(100 * (1 - 8 / 12))
    div = compare.compare_metric([a], [b], "diversity")
    assert div.value_a == pytest.approx(rep.diversity([rep.rep_n(words_a, n) for n in (2, 3, 4)]))


def test_difference_records_seeds_averaged_and_set_metrics_untested():
    ref = [_rows(TEXTS_B, [0.1, 0.2, 0.3]), _rows(TEXTS_B, [0.3, 0.2, 0.1])]  # means .2 .2 .2
    alt = [_rows(TEXTS_A, [0.5, 0.2, None]), _rows(TEXTS_A, [0.3, 0.4, 0.6])]  # .4 .3 .6
    recs = compare.difference_records({"top_p": ref, "alpha": alt}, "top_p",
                                      ["coherence", "distinct_2", "mauve"], samples=200)
    coh, dist, mauve = recs
    # per-prompt differences .2 .1 .4 -> mean 7/30; 3 wins -> sign p = 2/8; flips 2/8
    assert coh["diff"] == pytest.approx(0.7 / 3) and coh["n"] == 3
    assert coh["sign_p"] == pytest.approx(0.25) and coh["perm_p"] == pytest.approx(0.25)
    assert "diff" not in dist and "set-level" in dist["note"] and "set-level" in mauve["note"]
    shown = compare.display_rows(recs)
    assert shown[0]["method"] == "alpha" and shown[0]["distinct_2 Δ [95% CI]"] == "no test"
    assert shown[0]["coherence Δ [95% CI]"].startswith("+0.233 [")
    with pytest.raises(ValueError, match="reference='greedy' is not one of"):
        compare.difference_records({"top_p": ref}, "greedy", ["coherence"])
    with pytest.raises(ValueError, match="different prompts"):
        compare.compare_metric([_rows(TEXTS_A, [1, 1, 1], start=1)], ref, "coherence")
