"""Compute-equal reasoning metrics over k samples of one problem: votes, pass@k, confidences.

    majority_vote(["8", "7", "8"])                       -> "8"
    pass_at_k(n=8, c=3, k=2)                             -> 1 - C(5, 2) / C(8, 2)
    maj_at_k(["8", "7", "8", None], gold="8", k=2)       -> the mean over all 2-subsets
    weighted_vote(["8", "7"], [0.2, 0.9])                -> "7"
    lowest_window_confidence(token_logprobs, window=16)  -> DeepConf's trace confidence

Tie rule (every vote here): the answer seen first, in sample order, among the tied ones; that is
`collections.Counter.most_common`'s order, so `majority_vote` equals lm-evaluation-harness's
`majority_vote` filter on lists without missing answers. A missing answer (None: nothing could be
extracted) never votes; a problem whose samples all lack an answer has no majority (None).

pass@k is the unbiased estimator of Chen et al. 2021 (arXiv 2107.03374): with n samples of which
c are correct, pass@k = 1 - C(n - c, k) / C(n, k), computed as a stable product. maj@k is
estimated the same way, over subsets: the mean, over all C(n, k) subsets of the n samples (in
sample order), of "the subset's majority answer is correct".

Confidence of one sample from its trace (no extra model pass): the mean token log-prob, or
DeepConf's lowest group confidence (arXiv 2508.15260) adapted to what a trace holds, the
sampled token's log-prob: the minimum over sliding windows of `window` tokens of the window's
mean log-prob (a whole sample shorter than the window is one window).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence


def majority_vote(answers: Sequence[str | None]) -> str | None:
    """The most common answer (ties: the first seen); missing answers do not vote."""
    votes = [a for a in answers if a is not None]
    return Counter(votes).most_common(1)[0][0] if votes else None


def weighted_vote(answers: Sequence[str | None], weights: Sequence[float]) -> str | None:
    """The answer with the largest total weight (ties: the first seen); missing answers and
    non-finite weights do not vote."""
    if len(answers) != len(weights):
        raise ValueError(f"weighted_vote: {len(answers)} answers but {len(weights)} weights")
    total: dict[str, float] = {}
    for a, w in zip(answers, weights, strict=True):
        if a is not None and math.isfinite(w):
            total[a] = total.get(a, 0.0) + w
    return max(total, key=total.get) if total else None  # max keeps the first of equals


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al.'s unbiased pass@k from n samples with c correct: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def maj_at_k(answers: Sequence[str | None], gold: str, k: int) -> float:
    """The mean over all k-subsets of the samples (kept in sample order) of whether the
    subset's majority answer equals `gold`."""
    n = len(answers)
    if not 1 <= k <= n:
        raise ValueError(f"maj_at_k needs 1 <= k <= {n} (the samples); got k={k}")
    subsets = list(itertools.combinations(range(n), k))
    hits = sum(majority_vote([answers[i] for i in s]) == gold for s in subsets)
    return hits / len(subsets)


def mean_logprob(token_logprobs: Sequence[float]) -> float:
    """A sample's mean token log-prob (-inf for an empty sample)."""
    return sum(token_logprobs) / len(token_logprobs) if token_logprobs else -math.inf


def lowest_window_confidence(token_logprobs: Sequence[float], window: int = 16) -> float:
    """The minimum over sliding windows of `window` tokens of their mean log-prob."""
    if window < 1:
        raise ValueError(f"window={window} must be >= 1")
    lp = list(token_logprobs)
    if len(lp) <= window:
        return mean_logprob(lp)
    sums = [sum(lp[:window])]
    for i in range(window, len(lp)):
        sums.append(sums[-1] + lp[i] - lp[i - window])
    return min(sums) / window
