"""Paired comparison of two runs on the same prompts: difference, bootstrap CI, sign and
sign-flip permutation tests.

The unit is the prompt: run A and run B generated for the same prompt indices, so each prompt
gives one pair. Two kinds of statistic:
- a mean of per-prompt values (coherence, accuracy, seq-rep, ...): the difference is
  mean(a - b) over the prompts where both are defined;
- a pooled statistic, g(column sums of per-prompt components) (rep-n = 100 (1 - sum u / sum t),
  diversity = prod of three such ratios): the difference is g(sums A) - g(sums B).

Intervals are paired percentile bootstraps (one resample of prompts shared by A and B, drawn
with `bootstrap.resample_weights`). The permutation test flips, per prompt, which run a pair
came from (H0: A and B are exchangeable within each prompt); it enumerates all 2^n flips when
n <= `exact_max`, else draws `perm_samples` seeded flips and reports (1 + hits) / (1 + draws).
That p can never fall below 1 / (1 + draws) (1e-4 at 10,000), and Holm over m tests needs the
smallest p below level / m: with m in the thousands (every pair of 26 methods on 5 metrics) no
test could survive. `perm_refine` > 0 draws that many fresh flips (a second seeded stream, summed
through byte lookup tables so a million draws cost ~0.1-0.5 s) for a test whose first draws gave
fewer than `REFINE_HITS` hits, and reports (1 + hits) / (1 + perm_refine) from those alone.
Still a valid p: a level below the first stage's smallest reportable p (11 / 10,001) can only be
reached by the second stage's own (valid) p, and at any higher level the second stage runs only
where the first p is already below it. Every test the first stage resolves keeps its p.
The sign test (exact binomial, ties dropped, scipy.stats.binomtest) needs per-prompt
differences, so pooled statistics get none. Pure numpy/scipy; knows nothing of metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from alpha.evaluation import bootstrap as bs

# (R, k) column sums of the components -> (R,) statistic
Pooled = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PairedResult:
    """A - B on the paired prompts; p-values are two-sided, None where a test does not apply."""

    n: int  # prompts used (pairs with both values defined)
    value_a: float
    value_b: float
    diff: float  # value_a - value_b
    ci95: list[float] | None
    sign_p: float | None
    perm_p: float | None
    wins: int = 0  # prompts where a > b (per-prompt statistics only)
    losses: int = 0
    ties: int = 0
    notes: list[str] = field(default_factory=list)


def align(index_a: Sequence[int], index_b: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Positions (pos_a, pos_b) that put both runs in the same prompt order (sorted index).

    Raises ValueError in one line when the prompt sets differ or an index repeats.
    """
    for name, idx in (("A", index_a), ("B", index_b)):
        if len(set(idx)) != len(idx):
            raise ValueError(f"run {name} repeats prompt indices; pass one row per prompt")
    only_a, only_b = sorted(set(index_a) - set(index_b)), sorted(set(index_b) - set(index_a))
    if only_a or only_b:
        raise ValueError(f"the runs cover different prompts ({len(only_a)} only in A, e.g. "
                         f"{only_a[:3]}; {len(only_b)} only in B, e.g. {only_b[:3]}); compare "
                         f"runs with the same dataset, split and num_prompts")
    order = sorted(index_a)
    pos_a = {i: p for p, i in enumerate(index_a)}
    pos_b = {i: p for p, i in enumerate(index_b)}
    return np.array([pos_a[i] for i in order]), np.array([pos_b[i] for i in order])


def sign_test(diffs: Sequence[float]) -> tuple[float | None, int, int, int]:
    """(two-sided exact binomial p, wins, losses, ties) of the signs; ties dropped; p is None
    when every pair is a tie."""
    from scipy.stats import binomtest

    d = np.asarray(diffs, dtype=np.float64)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    ties = int(d.size - wins - losses)
    if wins + losses == 0:
        return None, wins, losses, ties
    return float(binomtest(wins, wins + losses, 0.5).pvalue), wins, losses, ties


def flip_masks(n: int, *, exact_max: int, samples: int, seed: int) -> tuple[np.ndarray, bool]:
    """(R, n) 0/1 masks (1 = swap A and B on that prompt) and whether they are all 2^n."""
    if n <= exact_max:
        codes = np.arange(2**n, dtype=np.int64)[:, None]  # (2^n, 1)
        return ((codes >> np.arange(n)) & 1).astype(np.float64), True  # (2^n, n)
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(samples, n)).astype(np.float64), False


REFINE_HITS = 10  # fewer hits than this in the first draws: refine (module docstring)
_BYTE_BITS = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.float64)  # (256, 8)


def swapped_sums(values: np.ndarray, draws: int, seed: int, chunk: int = 32768) -> np.ndarray:
    """(draws, k) sums of the rows of `values` (n, k) that `draws` seeded fair 0/1 masks pick.

    Each mask is n / 8 random bytes; the sum of a byte's 8 rows is read from a 256-entry table
    per byte position, so a draw costs n / 8 lookups instead of n multiply-adds.
    """
    v = np.asarray(values, dtype=np.float64)
    n, k = v.shape
    nb = -(-n // 8)
    padded = np.zeros((nb * 8, k))
    padded[:n] = v  # a zero row adds nothing whichever way its bit falls
    # (k, nb * 256): entry (c, 256 b + code) = component c summed over byte b's set bits
    lut = np.einsum("cj,bjk->kbc", _BYTE_BITS, padded.reshape(nb, 8, k)).reshape(k, nb * 256)
    offsets = (np.arange(nb) * 256)[None, :]  # (1, nb)
    rng = np.random.default_rng(seed)
    out = np.empty((draws, k))
    for start in range(0, draws, chunk):
        m = min(chunk, draws - start)
        codes = rng.integers(0, 256, size=(m, nb), dtype=np.uint8) + offsets  # (m, nb)
        for c in range(k):  # one flat table per component: cache-friendly gathers
            out[start:start + m, c] = lut[c][codes].sum(axis=1)
    return out


def _hits(observed: float, flipped: np.ndarray) -> tuple[int, int] | None:
    """(flips whose |statistic| reaches |observed| (relative tolerance), finite flips)."""
    flipped = flipped[np.isfinite(flipped)]
    if not np.isfinite(observed) or flipped.size == 0:
        return None
    tol = 1e-12 * max(1.0, abs(observed))
    return int((np.abs(flipped) >= abs(observed) - tol).sum()), int(flipped.size)


def _p_value(observed: float, flipped: np.ndarray, exact: bool,
             refine: Callable[[], np.ndarray] | None = None) -> float | None:
    """Two-sided: share of flips whose |statistic| reaches |observed|; `refine()` gives a
    fresh, larger set of flipped statistics when this one has fewer than REFINE_HITS hits."""
    counted = _hits(observed, flipped)
    if counted is None:
        return None
    hits, size = counted
    if exact:
        return hits / size
    if refine is not None and hits < REFINE_HITS:
        counted = _hits(observed, refine())
        if counted is not None:
            hits, size = counted
    return (1 + hits) / (1 + size)


def paired_mean(a: Sequence[float | None], b: Sequence[float | None], *, samples: int = 2000,
                seed: int = 0, perm_samples: int = 10000, exact_max: int = 16,
                perm_refine: int = 0) -> PairedResult:
    """A - B for per-prompt values aligned by prompt; pairs with a None (or NaN) are dropped.
    `perm_refine`: draws for a test the first `perm_samples` cannot resolve (module docstring)."""
    va = np.array([np.nan if v is None else v for v in a], dtype=np.float64)
    vb = np.array([np.nan if v is None else v for v in b], dtype=np.float64)
    if va.shape != vb.shape:
        raise ValueError(f"paired_mean: {va.size} values for A but {vb.size} for B; align first")
    keep = np.isfinite(va) & np.isfinite(vb)
    notes = [f"{int((~keep).sum())} of {keep.size} prompts dropped (undefined in A or B)"] \
        if not keep.all() else []
    va, vb = va[keep], vb[keep]
    d = va - vb  # (n,)
    n = int(d.size)
    if n == 0:
        return PairedResult(0, np.nan, np.nan, np.nan, None, None, None, notes=notes + [
            "no prompt has both values"])
    ci = bs.interval(bs.resample_weights(n, samples, seed) @ d / n) if n > 1 else None
    sign_p, wins, losses, ties = sign_test(d)
    nz = d[d != 0]  # zero differences flip to themselves
    if nz.size == 0:
        perm_p = 1.0
    else:
        masks, exact = flip_masks(nz.size, exact_max=exact_max, samples=perm_samples, seed=seed)
        refine = (lambda: nz.sum() - 2 * swapped_sums(nz[:, None], perm_refine, seed + 1)[:, 0]) \
            if perm_refine > 0 else None
        perm_p = _p_value(float(nz.sum()), (1 - 2 * masks) @ nz, exact, refine)
    return PairedResult(n, float(va.mean()), float(vb.mean()), float(d.mean()), ci, sign_p,
                        perm_p, wins, losses, ties, notes)


def paired_pooled(comp_a: np.ndarray, comp_b: np.ndarray, stat: Pooled, *, samples: int = 2000,
                  seed: int = 0, perm_samples: int = 10000, exact_max: int = 16,
                  perm_refine: int = 0) -> PairedResult:
    """A - B of a pooled statistic `stat(column sums)` from (n, k) per-prompt components.

    E.g. rep-n: components [unique, total] per prompt, stat = 100 * (1 - s[:, 0] / s[:, 1]).
    No sign test: a pooled statistic has no per-prompt difference.
    """
    ca, cb = np.asarray(comp_a, np.float64), np.asarray(comp_b, np.float64)  # (n, k)
    if ca.shape != cb.shape or ca.ndim != 2:
        raise ValueError(f"paired_pooled: components {ca.shape} vs {cb.shape}; need equal (n, k)")
    n = ca.shape[0]
    sum_a, sum_b = ca.sum(0)[None, :], cb.sum(0)[None, :]  # (1, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        value_a, value_b = float(stat(sum_a)[0]), float(stat(sum_b)[0])
        w = bs.resample_weights(n, samples, seed)  # (B, n)
        ci = bs.interval(stat(w @ ca) - stat(w @ cb)) if n > 1 else None
        masks, exact = flip_masks(n, exact_max=exact_max, samples=perm_samples, seed=seed)
        moved = masks @ (cb - ca)  # (R, k): what the swapped prompts carry from B to A
        flipped = stat(sum_a + moved) - stat(sum_b - moved)  # (R,)

    def refine() -> np.ndarray:
        moved = swapped_sums(cb - ca, perm_refine, seed + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return stat(sum_a + moved) - stat(sum_b - moved)

    diff = value_a - value_b
    notes = ["pooled statistic: no per-prompt sign test"]
    perm_p = _p_value(diff, flipped, exact, refine if perm_refine > 0 else None)
    return PairedResult(n, value_a, value_b, diff, ci, None, perm_p, notes=notes)
