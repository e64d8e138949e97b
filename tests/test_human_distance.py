"""Which of two methods sits nearer human text (alpha/evaluation/human_distance.py).

Independent references, written here: the distances by hand (|mean - human mean|, |log - log|
for a perplexity, rep-n from n-grams counted by hand), the jackknife pseudo-values by a plain
leave-one-out loop (by hand where they are linear) and their exact sign-flip p by enumerating
every sign vector, the bootstrap CI's centre and the Holm verdicts. Inputs tried: a mean metric,
a log-scale one, a pooled one, two methods on either side of noisy human text (not separable, where
swapping A and B would say they are), equal methods (p = 1),
prompts missing in human text (one line naming the prompts), undefined values (dropped, noted),
rows without a reference text for a pooled metric (one line), a single method (one line).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from alpha.evaluation import paired
from alpha.evaluation.human_distance import compare_distance, distance_pairs


def rows(values, metric="coherence", texts=None, refs=None):
    return [{"index": i, "text": (texts or ["x"] * len(values))[i],
             "reference": None if refs is None else refs[i], "metrics": {metric: v}}
            for i, v in enumerate(values)]


def exact_flip_p(d):
    """Exact two-sided sign-flip p of sum(d) against 0: all 2^n sign vectors, plain Python."""
    obs = abs(sum(d))
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        total += 1
        hits += abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= obs - 1e-12 * max(1, obs)
    return hits / total


def jackknife(a, b, h, dist):
    """Pseudo-values n D - (n - 1) D_(-i) of D = dist(mean a, mean h) - dist(mean b, mean h)."""
    n = len(a)

    def d_of(idx):
        m = [sum(x[i] for i in idx) / len(idx) for x in (a, b, h)]
        return dist(m[0], m[2]) - dist(m[1], m[2])

    full = d_of(range(n))
    return [n * full - (n - 1) * d_of([j for j in range(n) if j != i]) for i in range(n)]


def test_mean_metric_by_hand_and_exact_p():
    """Both methods below human text: the pseudo-values are exactly (h - a) - (h - b) = b - a."""
    a, b = [0.40, 0.52, 0.47, 0.61, 0.55], [0.30, 0.35, 0.41, 0.28, 0.33]
    h = [0.50, 0.55, 0.45, 0.60, 0.52]
    res = compare_distance([rows(a)], [rows(b)], rows(h), "coherence")
    assert res.value_a == pytest.approx(abs(np.mean(a) - np.mean(h)), abs=1e-12)
    assert res.value_b == pytest.approx(abs(np.mean(b) - np.mean(h)), abs=1e-12)
    assert res.diff < 0 and res.n == 5
    assert res.perm_p == pytest.approx(exact_flip_p([bi - ai for ai, bi in zip(a, b, strict=True)]))
    assert res.ci95[0] <= res.diff <= res.ci95[1]


def test_human_texts_own_noise_is_in_the_test():
    """A above human text, B below it, both steady, human text's per-prompt values noisy: D =
    0.35 - 0.2 rests on human text's mean (the pseudo-values are a_i + b_i - 2 h_i), which 500
    prompts pin down to about +-0.18 on D: not separable. Swapping A and B within prompts (the
    difference tests' null) holds human text's mean fixed and calls it separable."""
    n, rng = 500, np.random.default_rng(1)
    h = list(0.5 + 2.0 * rng.standard_normal(n))
    h = [x - np.mean(h) + 0.5 for x in h]  # human mean exactly 0.5: distances 0.35 and 0.2
    a = list(0.85 + 0.01 * rng.standard_normal(n))
    b = list(0.3 + 0.01 * rng.standard_normal(n))
    res = compare_distance([rows(a)], [rows(b)], rows(h), "coherence", perm_refine=10**5)
    assert res.diff == pytest.approx(0.15, abs=0.01) and res.perm_p > 0.1
    assert res.ci95[0] < 0 < res.ci95[1]
    d = [ai + bi - 2 * hi for ai, bi, hi in zip(a, b, h, strict=True)]
    assert res.ci95[1] - res.ci95[0] == pytest.approx(2 * 1.96 * np.std(d) / np.sqrt(n), rel=0.2)
    ones = np.ones(n)
    ca, cb = np.stack([a, h, ones], 1), np.stack([b, h, ones], 1)
    swap = paired.paired_pooled(ca, cb, lambda s: np.abs(s[:, 0] - s[:, 1]) / s[:, 2],
                                perm_refine=10**5)
    assert swap.perm_p < 1e-3  # human text's mean held fixed: the wrong question


def test_log_scale_on_perplexity():
    a, b, h = [10.0, 30.0, 20.0, 12.0], [40.0, 60.0, 50.0, 45.0], [25.0, 35.0, 30.0, 20.0]

    def log_dist(m, hh):
        return abs(math.log(m) - math.log(hh))

    res = compare_distance([rows(a, "perplexity")], [rows(b, "perplexity")],
                           rows(h, "perplexity"), "perplexity")
    assert res.value_a == pytest.approx(math.log(27.5 / 18))  # ln 27.5 - ln 18
    assert res.value_b == pytest.approx(math.log(48.75 / 27.5))
    assert res.perm_p == pytest.approx(exact_flip_p(jackknife(a, b, h, log_dist)))


def test_pooled_rep_counts_by_hand():
    """rep-2 = 100 (1 - unique / total) of the 2-grams pooled over texts; human text is the rows'
    `reference`. A repeats itself, B does not, human text a little."""
    ta = ["a b a b a b", "c d c d c d"]  # 5 bigrams each, 2 unique each -> rep 60
    tb = ["a b c d e f", "g h i j k l"]  # 10 bigrams, 10 unique -> rep 0
    refs = ["a b c a b c", "d e f g h i"]  # 5 + 5 bigrams, 3 + 5 unique -> rep 20
    ra = [{"index": i, "text": t, "reference": refs[i]} for i, t in enumerate(ta)]
    rb = [{"index": i, "text": t, "reference": refs[i]} for i, t in enumerate(tb)]
    res = compare_distance([ra], [rb], [], "rep_2")
    assert res.value_a == pytest.approx(40.0) and res.value_b == pytest.approx(20.0)
    assert res.diff == pytest.approx(20.0)


def test_equal_methods_are_not_separable():
    a, h = [0.3, 0.5, 0.4, 0.6], [0.5, 0.5, 0.5, 0.5]
    res = compare_distance([rows(a)], [rows(a)], rows(h), "coherence")
    assert res.diff == 0 and res.perm_p == 1.0


def test_undefined_values_are_dropped_and_noted():
    a, b, h = [0.3, None, 0.4, 0.6], [0.5, 0.2, 0.1, 0.3], [0.5, 0.5, None, 0.5]
    res = compare_distance([rows(a)], [rows(b)], rows(h), "coherence")
    assert res.n == 2 and "2 of 4 prompts dropped" in res.notes[0]
    assert res.value_a == pytest.approx(abs(0.45 - 0.5))


def test_seeds_are_averaged_per_prompt():
    a0, a1, b, h = [0.2, 0.4], [0.4, 0.6], [0.9, 0.7], [0.5, 0.5]
    res = compare_distance([rows(a0), rows(a1)], [rows(b)], rows(h), "coherence")
    assert res.value_a == pytest.approx(abs(0.4 - 0.5))


def test_bad_inputs_are_one_line():
    with pytest.raises(ValueError, match="cover different prompts"):
        compare_distance([rows([0.1, 0.2])], [rows([0.3, 0.4])], rows([0.5]), "coherence")
    with pytest.raises(ValueError, match="no `reference` text"):
        compare_distance([rows([0.1])], [rows([0.3])], [], "rep_2")
    with pytest.raises(ValueError, match="at least two methods"):
        distance_pairs({"a": [rows([0.1])]}, rows([0.5]), ["coherence"])
    assert "no paired test" in compare_distance([rows([0.1])], [rows([0.3])], rows([0.5]),
                                                "mauve")


def test_pairs_verdicts_follow_holm():
    """A clearly nearer human than B on 40 prompts; C equal to A: the verdicts say so."""
    rng = np.random.default_rng(0)
    h = list(0.5 + 0.05 * rng.standard_normal(40))
    a = [x + 0.02 * rng.standard_normal() for x in h]
    b = [x - 0.2 for x in h]
    recs = distance_pairs({"a": [rows(a)], "b": [rows(b)], "c": [rows(a)]}, rows(h),
                          ["coherence"])
    said = {(r["A"], r["B"]): r["verdict"] for r in recs}
    assert said == {("a", "b"): "A nearer", ("a", "c"): "not separable", ("b", "c"): "B nearer"}
    assert all(r["holm_p"] >= r["perm_p"] for r in recs)
