"""Votes, pass@k and confidences over k samples (alpha/evaluation/voting.py) against
independent references: the closed form C(n-c, k)/C(n, k) with math.comb on hand-made counts,
lm-evaluation-harness's own majority_vote filter, maj@k worked out by hand over subsets, and
DeepConf's windowed minimum by hand. Bad inputs tried: c > n, k = 0, k > n, mismatched weights,
window 0."""

from __future__ import annotations

import math

import pytest

from alpha.evaluation.voting import (
    lowest_window_confidence,
    maj_at_k,
    majority_vote,
    mean_logprob,
    pass_at_k,
    weighted_vote,
)


@pytest.mark.parametrize("n,c,k", [(8, 0, 1), (8, 3, 1), (8, 3, 2), (8, 3, 4), (8, 5, 4),
                                   (8, 8, 8), (10, 1, 5), (5, 2, 4), (100, 7, 10)])
def test_pass_at_k_is_the_closed_form(n, c, k):
    want = 1.0 - math.comb(n - c, k) / math.comb(n, k)  # C(n-c, k) = 0 when k > n - c
    assert pass_at_k(n, c, k) == pytest.approx(want, abs=1e-12)


def test_pass_at_1_is_the_share_correct():
    assert pass_at_k(8, 3, 1) == pytest.approx(3 / 8)


def test_majority_vote_equals_lm_eval_harness_filter():
    from lm_eval.filters.selection import MajorityVoteFilter

    lists = [["8", "7", "8"], ["7", "8"], ["1", "2", "2", "1", "3"], ["5"], ["a", "b", "c", "b"]]
    theirs = [r[0] for r in MajorityVoteFilter().apply(lists, [None] * len(lists))]
    assert [majority_vote(a) for a in lists] == theirs == ["8", "7", "1", "5", "b"]


def test_missing_answers_never_vote():
    assert majority_vote([None, None, "3"]) == "3"
    assert majority_vote([None, None]) is None
    assert weighted_vote(["3", None, "4"], [0.1, 5.0, 0.2]) == "4"


def test_maj_at_k_by_hand():
    """answers (8, 7, 8), gold 8. k=1: 2 of 3 singletons right. k=2: {8,7} -> 8 (first seen),
    {8,8} -> 8, {7,8} -> 7 (first seen): 2 of 3. k=3: 8. (7, 8, None), gold 8, k=2:
    {7,8} -> 7, {7,None} -> 7, {8,None} -> 8: 1 of 3."""
    assert maj_at_k(["8", "7", "8"], "8", 1) == pytest.approx(2 / 3)
    assert maj_at_k(["8", "7", "8"], "8", 2) == pytest.approx(2 / 3)
    assert maj_at_k(["8", "7", "8"], "8", 3) == 1.0
    assert maj_at_k(["7", "8", None], "8", 2) == pytest.approx(1 / 3)


def test_weighted_vote_by_hand():
    assert weighted_vote(["8", "7", "8"], [0.2, 0.9, 0.3]) == "7"  # 0.9 > 0.5
    assert weighted_vote(["8", "7"], [0.5, 0.5]) == "8"  # tie: the first seen
    assert weighted_vote(["8", "7"], [float("nan"), 0.1]) == "7"


def test_confidences_by_hand():
    lp = [-0.1, -0.1, -2.0, -2.0, -0.1, -0.1]
    assert mean_logprob(lp) == pytest.approx(-4.4 / 6)
    assert lowest_window_confidence(lp, window=2) == pytest.approx(-2.0)  # the worst pair
    assert lowest_window_confidence(lp, window=3) == pytest.approx(-4.1 / 3)
    assert lowest_window_confidence(lp, window=10) == pytest.approx(-4.4 / 6)  # one window
    assert mean_logprob([]) == -math.inf


@pytest.mark.parametrize("call,message", [
    (lambda: pass_at_k(4, 5, 1), "0 <= c <= n"),
    (lambda: pass_at_k(4, 1, 0), "1 <= k <= n"),
    (lambda: pass_at_k(4, 1, 5), "1 <= k <= n"),
    (lambda: maj_at_k(["1"], "1", 2), r"1 <= k <= 1"),
    (lambda: weighted_vote(["1", "2"], [1.0]), "2 answers but 1 weights"),
    (lambda: lowest_window_confidence([-1.0], 0), "window=0 must be >= 1"),
])
def test_bad_inputs_are_one_line(call, message):
    with pytest.raises(ValueError, match=message):
        call()
