"""Budget curves: the expected best score of N randomly drawn tuning trials, N = 1..T.

Dodge et al. 2019 ("Show Your Work", expected validation performance) and the min-p
re-analysis ("Turning Down the Heat", arXiv 2506.13681) report, per method, the best score
reachable with N settings drawn at random from its T trials. Drawing N of the T trials without
replacement, the best one is the i-th smallest s_(i) with probability C(i-1, N-1) / C(T, N), so

    E[best of N] = sum_i s_(i) * C(i-1, N-1) / C(T, N)      (scores sorted ascending)

exactly, with no sampling. The band is a percentile bootstrap over trials (resample the T
trials with replacement, seeded, recompute the curve): it shows the resampling spread, and
at N = T it ends at the observed best (no resample beats it), so read it as a band, not a
calibrated interval. Failed trials (NaN / None) are dropped and counted, never imputed. The
curve is only an honest "random draw" reading when the trials were themselves drawn at random
(random search), not chosen adaptively (TPE).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from alpha.evaluation import bootstrap as bs


@dataclass(frozen=True)
class BudgetCurve:
    """expected[k] = E[best of k+1 trials]; lo/hi the bootstrap band (None if T < 2)."""

    n: np.ndarray  # (T,) 1..T
    expected: np.ndarray  # (T,)
    lo: np.ndarray | None
    hi: np.ndarray | None
    trials: int  # T, finite trials used
    dropped: int  # failed (non-finite) trials left out


def best_of_n_weights(t: int) -> np.ndarray:
    """(T, T) matrix P[N-1, i-1] = C(i-1, N-1) / C(T, N): P(the best of N draws is s_(i))."""
    i = np.arange(1, t + 1)[None, :]  # (1, T)
    n = np.arange(1, t + 1)[:, None]  # (T, 1)
    valid = i >= n
    k = np.where(valid, i - 1, 0), np.where(valid, n - 1, 0)
    log_num = gammaln(k[0] + 1) - gammaln(k[1] + 1) - gammaln(k[0] - k[1] + 1)
    log_den = gammaln(t + 1) - gammaln(n + 1) - gammaln(t - n + 1)
    return np.where(valid, np.exp(log_num - log_den), 0.0)


def expected_best_of_n(scores: Sequence[float], *, higher_is_better: bool = True) -> np.ndarray:
    """(T,) exact E[best of N] for N = 1..T over the finite scores (NaN/None dropped)."""
    s = _finite(scores)
    if s.size == 0:
        return s
    sign = 1.0 if higher_is_better else -1.0
    return sign * (best_of_n_weights(s.size) @ np.sort(sign * s))


def budget_curve(scores: Sequence[float | None], *, higher_is_better: bool = True,
                 samples: int = 1000, seed: int = 0) -> BudgetCurve:
    """Exact expected best-of-N curve of one method's trials with a bootstrap band."""
    s = _finite(scores)
    dropped = len(scores) - s.size
    t = s.size
    if t == 0:
        raise ValueError(f"no finite trial score among {len(scores)} trials; the budget curve "
                         f"needs at least one finished trial")
    sign = 1.0 if higher_is_better else -1.0
    ordered = np.sort(sign * s)  # (T,) ascending in "better" units
    p = best_of_n_weights(t)  # (T, T)
    expected = sign * (p @ ordered)
    lo = hi = None
    if t > 1:
        w = bs.resample_weights(t, samples, seed)  # (B, T) multiplicities of each sorted trial
        # resample b, sorted: the j-th smallest is the first trial whose cumulative count > j
        pos = (np.cumsum(w, axis=1)[:, :, None] <= np.arange(t)[None, None, :]).sum(1)  # (B, T)
        curves = sign * (ordered[pos] @ p.T)  # (B, T)
        lo, hi = np.percentile(curves, [2.5, 97.5], axis=0)
    return BudgetCurve(np.arange(1, t + 1), expected, lo, hi, t, dropped)


def _finite(scores: Sequence[float | None]) -> np.ndarray:
    s = np.array([np.nan if v is None else v for v in scores], dtype=np.float64)
    return s[np.isfinite(s)]


def read_trials(path: str | Path, *, column: str = "objective") -> dict[str, list[float]]:
    """The tuner's trials.csv (method, trial, objective, params) -> {method: [score, ...]};
    an empty or non-numeric objective (a failed trial) becomes NaN."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"trials file {str(path)!r} does not exist; pass the tuner's "
                         f"trials.csv (results_dir of scripts/tune.py)")
    out: dict[str, list[float]] = {}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"method", column} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: no column(s) {sorted(missing)}; expected the tuner's "
                             f"trials.csv with method and {column}")
        for row in reader:
            try:
                value = float(row[column])
            except (TypeError, ValueError):
                value = math.nan
            out.setdefault(row["method"], []).append(value)
    return out


def curve_records(curves: dict[str, BudgetCurve]) -> list[dict]:
    """Long rows (method, n, expected, lo, hi, trials, dropped) for a CSV or DataFrame."""
    rows = []
    for method, c in curves.items():
        for k in range(c.trials):
            rows.append({"method": method, "n": int(c.n[k]), "expected": float(c.expected[k]),
                         "lo": None if c.lo is None else float(c.lo[k]),
                         "hi": None if c.hi is None else float(c.hi[k]),
                         "trials": c.trials, "dropped": c.dropped})
    return rows
