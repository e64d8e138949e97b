"""Which of two methods sits nearer human text (alpha/evaluation/human_distance.py).

Independent references, written here: the distances by hand (|mean - human mean|, |log - log|
for a perplexity, rep-n from n-grams counted by hand), the exact permutation p by enumerating
every swap of A and B within prompts with a plain loop, the bootstrap CI's centre and the Holm
verdicts. Inputs tried: a mean metric, a log-scale one, a pooled one, equal methods (p = 1),
prompts missing in human text (one line naming the prompts), undefined values (dropped, noted),
rows without a reference text for a pooled metric (one line), a single method (one line).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from alpha.evaluation.human_distance import compare_distance, distance_pairs


def rows(values, metric="coherence", texts=None, refs=None):
    return [{"index": i, "text": (texts or ["x"] * len(values))[i],
             "reference": None if refs is None else refs[i], "metrics": {metric: v}}
            for i, v in enumerate(values)]


def brute_p(a, b, h, dist):
    """Exact two-sided p: every one of the 2^n swaps of a_i and b_i, plain Python."""
    obs = dist(a, h) - dist(b, h)
    hits = total = 0
    for mask in itertools.product((0, 1), repeat=len(a)):
        a2 = [bi if s else ai for ai, bi, s in zip(a, b, mask, strict=True)]
        b2 = [ai if s else bi for ai, bi, s in zip(a, b, mask, strict=True)]
        total += 1
        hits += abs(dist(a2, h) - dist(b2, h)) >= abs(obs) - 1e-12 * max(1, abs(obs))
    return hits / total


def mean_dist(x, h):
    return abs(sum(x) / len(x) - sum(h) / len(h))


def test_mean_metric_by_hand_and_exact_p():
    a, b = [0.40, 0.52, 0.47, 0.61, 0.55], [0.30, 0.35, 0.41, 0.28, 0.33]
    h = [0.50, 0.55, 0.45, 0.60, 0.52]
    res = compare_distance([rows(a)], [rows(b)], rows(h), "coherence")
    assert res.value_a == pytest.approx(abs(np.mean(a) - np.mean(h)), abs=1e-12)
    assert res.value_b == pytest.approx(abs(np.mean(b) - np.mean(h)), abs=1e-12)
    assert res.diff < 0 and res.n == 5
    assert res.perm_p == pytest.approx(brute_p(a, b, h, mean_dist))
    assert res.ci95[0] <= res.diff <= res.ci95[1]


def test_log_scale_on_perplexity():
    a, b, h = [10.0, 30.0, 20.0], [40.0, 60.0, 50.0], [25.0, 35.0, 30.0]

    def log_dist(x, hh):
        return abs(math.log(sum(x) / len(x)) - math.log(sum(hh) / len(hh)))

    res = compare_distance([rows(a, "perplexity")], [rows(b, "perplexity")],
                           rows(h, "perplexity"), "perplexity")
    assert res.value_a == pytest.approx(math.log(30 / 20))  # ln 30 - ln 20
    assert res.value_b == pytest.approx(math.log(50 / 30))
    assert res.perm_p == pytest.approx(brute_p(a, b, h, log_dist))


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
