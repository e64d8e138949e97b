"""MAUVE (Pillutla et al. 2021) between generations and reference continuations.

Features come from the caller (see `embeddings.py`); this module only checks there are enough
and calls `mauve.compute_mauve(p_features=..., q_features=...)` from the mauve-text package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SAMPLES = 2  # k-means needs at least two points per side; MAUVE is noisy well above this


@dataclass(frozen=True)
class MauveResult:
    value: float | None
    n_p: int
    n_q: int
    num_buckets: int | None
    note: str


def mauve_from_features(p: np.ndarray, q: np.ndarray, *, seed: int = 25,
                        num_buckets: int | str = "auto", scaling_factor: float = 5.0,
                        kmeans_seeds: int = 1) -> MauveResult:
    """MAUVE of generation features `p` (N, D) against reference features `q` (M, D), the mean
    over `kmeans_seeds` k-means seeds (seed, seed + 1, ...) on the same features."""
    if min(len(p), len(q)) < MIN_SAMPLES:
        return MauveResult(None, len(p), len(q), None, too_few_note(len(p), len(q)))
    import mauve

    outs = [mauve.compute_mauve(p_features=p, q_features=q, num_buckets=num_buckets,
                                mauve_scaling_factor=scaling_factor, seed=seed + k, verbose=False)
            for k in range(kmeans_seeds)]
    values = np.array([float(o.mauve) for o in outs])
    note = (f"MAUVE on {len(p)} generations vs {len(q)} references, {outs[0].num_buckets} buckets"
            + (f", mean of {kmeans_seeds} k-means seeds (sd {values.std(ddof=1):.3f})"
               if kmeans_seeds > 1 else "")
            + ("; unreliable below a few hundred samples" if min(len(p), len(q)) < 500 else ""))
    return MauveResult(float(values.mean()), len(p), len(q), int(outs[0].num_buckets), note)


def too_few_note(n_p: int, n_q: int) -> str:
    return (f"MAUVE undefined: needs >= {MIN_SAMPLES} non-empty generations and references, "
            f"got {n_p} and {n_q}")
