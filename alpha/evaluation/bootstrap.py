"""Percentile-bootstrap 95% intervals over prompts, for means and ratios of sums.

Every function takes resampling weights `W` (B, N): W[b, i] = how often prompt i appears in
resample b, so one draw of indices serves all metrics of a report. Statistics of a set union
(distinct-n, Zipf, MAUVE) get no interval: resampling with replacement duplicates texts, which
biases them. Knows nothing of metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def resample_weights(n: int, samples: int, seed: int) -> np.ndarray:
    """(samples, n) multiplicities of n prompts drawn with replacement; seeded."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(samples, n))  # (B, N)
    w = np.zeros((samples, n), dtype=np.float64)
    np.add.at(w, (np.arange(samples)[:, None], idx), 1.0)
    return w


def interval(stats: np.ndarray) -> list[float] | None:
    """[2.5th, 97.5th] percentile of finite bootstrap statistics; None if there are none."""
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return None
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return [float(lo), float(hi)]


def _masked(weights: np.ndarray, values: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """Weights of defined entries only, and the values with None -> 0."""
    keep = np.asarray([v is not None for v in values], dtype=np.float64)  # (N,)
    vals = np.asarray([0.0 if v is None else v for v in values], dtype=np.float64)
    return weights * keep[None, :], vals


def mean_ci(weights: np.ndarray, values: Sequence[float | None]) -> list[float] | None:
    """Interval of the mean of the defined per-prompt values (None entries are skipped)."""
    w, vals = _masked(weights, values)
    den = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return interval((w @ vals) / den)


def ratio_stats(weights: np.ndarray, num: Sequence[float], den: Sequence[float]) -> np.ndarray:
    """(B,) sum num / sum den in each resample (pooled statistics such as rep-n); nan if 0/0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ np.asarray(num, float)) / (weights @ np.asarray(den, float))
