"""Does the model's uncertainty, as a run's traces hold it, predict a wrong answer or a fork?

Everything here reads traces only (`record_signals: true` writes them for any sampler; no extra
model pass):

    trace_features(trace)                     -> {"u_entropy_mean": ..., "alpha_late": ...}
    auroc_ci(scores, wrong)                   -> (AUROC, [lo, hi])   P(score_wrong > score_right)
    out_of_fold(X, y)                         -> cross-validated logistic-regression scores
    auroc_gain(X_logit, X_full, y)            -> AUROC(full) - AUROC(logit-only), paired CI
    fork_labels(samples)                      -> per sample and step: do the samples that share
                                                 this prefix disagree on the next token?

Signals (`alpha.generation.step_signals`): `u_entropy` / `u_varentropy` (bits, bits²) of the
next-token distribution, `u_attn_entropy` / `u_attn_varentropy` of the last layer's attention
row (normalised), and `alpha`, the adaptive sampler's combination w·(H/log2 V, VH/(log2 V)², H_attn,
VH_attn) with the default weights (recomputed here, so a greedy run has one too). Per sequence
each becomes three features: the mean over its tokens, the max, and the mean of the last
`window` tokens ("late"). Intervals are percentile bootstraps over the items (problems), seeded;
the gain's interval resamples the same items for both models (paired).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SIGNALS = ("u_entropy", "u_varentropy", "u_attn_entropy", "u_attn_varentropy", "alpha")
LOGIT_SIGNALS = ("u_entropy", "u_varentropy")
STATS = ("mean", "max", "late")


def alpha_from_signals(trace: dict, vocab_size: int,
                       weights: tuple[float, float, float, float] | None = None) -> list[float]:
    """The adaptive sampler's alpha at each step of a trace with the four `u_*` signals."""
    if weights is None:
        from alpha.config import SamplerConfig

        weights = SamplerConfig().weights()
    lv = math.log2(max(vocab_size, 2))
    cols = zip(trace["u_entropy"], trace["u_varentropy"], trace["u_attn_entropy"],
               trace["u_attn_varentropy"], strict=True)
    w = weights
    return [w[0] * h / lv + w[1] * vh / lv**2 + w[2] * ha + w[3] * vha for h, vh, ha, vha in cols]


def trace_features(trace: dict, *, vocab_size: int, window: int = 16) -> dict[str, float]:
    """`{signal}_{mean,max,late}` of one sequence's trace (signals it lacks are left out; an
    empty trace gives NaN)."""
    if window < 1:
        raise ValueError(f"window={window} must be >= 1")
    series = {k: list(trace[k]) for k in SIGNALS[:4] if k in trace}
    if len(series) == 4:
        series["alpha"] = alpha_from_signals(trace, vocab_size)
    out = {}
    for k, v in series.items():
        a = np.asarray(v, dtype=np.float64)
        empty = a.size == 0
        out[f"{k}_mean"] = math.nan if empty else float(a.mean())
        out[f"{k}_max"] = math.nan if empty else float(a.max())
        out[f"{k}_late"] = math.nan if empty else float(a[-window:].mean())
    return out


def feature_names(signals: Sequence[str]) -> list[str]:
    return [f"{s}_{t}" for s in signals for t in STATS]


def _auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney AUROC from average ranks (ties count half): the same number as sklearn's
    `roc_auc_score` (the test compares them) without its per-call validation, which dominated
    a 1,000-resample bootstrap."""
    from scipy.stats import rankdata

    pos = labels == 1
    n1 = int(pos.sum())
    n0 = labels.size - n1
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _items(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if s.shape[0] != y.shape[0]:
        raise ValueError(f"{s.shape[0]} scores but {y.shape[0]} labels; give one per item")
    return s, y


def _boot_indices(n: int, samples: int, seed: int, groups: Sequence | None = None) -> list:
    """Index arrays of `samples` bootstrap draws: items with replacement, or, with `groups`
    (one label per item, e.g. the problem of each sample), whole groups with replacement."""
    rng = np.random.default_rng(seed)
    if groups is None:
        return list(rng.integers(0, n, size=(samples, n)))
    if len(groups) != n:
        raise ValueError(f"{len(groups)} group labels for {n} items; give one per item")
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]
    draws = rng.integers(0, len(members), size=(samples, len(members)))
    return [np.concatenate([members[g] for g in d]) for d in draws]


def _interval(stats: list[float]) -> list[float] | None:
    a = np.asarray(stats, dtype=np.float64)
    a = a[np.isfinite(a)]
    return None if a.size == 0 else [float(x) for x in np.percentile(a, [2.5, 97.5])]


def auroc_ci(scores: Sequence[float], labels: Sequence[int], *, samples: int = 1000,
             seed: int = 0, groups: Sequence | None = None) -> tuple[float, list[float] | None]:
    """AUROC of `scores` for `labels` (1 = the positive class, e.g. a wrong answer; ties count
    half) and its bootstrap interval over items (over `groups` when given: the samples of one
    problem are resampled together). NaN when one class is absent."""
    s, y = _items(scores, labels)
    point = _auroc(s, y)
    stats = [_auroc(s[i], y[i]) for i in _boot_indices(len(y), samples, seed, groups)]
    return point, _interval(stats)


def out_of_fold(x: np.ndarray, y: Sequence[int], *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Each item's score from a standardised L2 logistic regression fitted on the other folds
    (stratified, shuffled with `seed`): a held-out score, so the AUROC is not fitted to itself."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    folds = min(folds, int(np.bincount(y, minlength=2).min()))
    if folds < 2:
        raise ValueError("out_of_fold needs at least 2 items of each class")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]


def auroc_gain(x_base: np.ndarray, x_full: np.ndarray, labels: Sequence[int], *,
               samples: int = 1000, seed: int = 0, groups: Sequence | None = None) -> dict:
    """AUROC of out-of-fold scores from `x_full` minus from `x_base` (same items, same folds),
    with a paired bootstrap interval over items (over `groups` when given) and the bootstrap's
    two-sided p-value for "no gain": twice the smaller share of resampled gains <= 0 or >= 0."""
    y = np.asarray(labels, dtype=np.int64)
    a, b = out_of_fold(x_base, y, seed=seed), out_of_fold(x_full, y, seed=seed)
    stats = [_auroc(b[i], y[i]) - _auroc(a[i], y[i])
             for i in _boot_indices(len(y), samples, seed, groups)]
    base, full = _auroc(a, y), _auroc(b, y)
    d = np.asarray(stats, dtype=np.float64)
    d = d[np.isfinite(d)]
    p = None if d.size == 0 else min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean()))
    return {"auroc_base": base, "auroc_full": full, "gain": full - base, "ci95": _interval(stats),
            "p": None if p is None else float(p), "n": int(len(y)), "positives": int(y.sum())}


def trie_nodes(samples: Sequence[Sequence[int]]) -> list[list[int]]:
    """For each sample and step t, the id of its prefix of t + 1 tokens in the samples' trie:
    samples that share a prefix share its id. One dict lookup per token."""
    ids: dict[tuple[int, int], int] = {}
    out = []
    for seq in samples:
        node, row = -1, []  # -1: the empty prefix (the trie's root)
        for token in seq:
            node = ids.setdefault((node, int(token)), len(ids))
            row.append(node)
        out.append(row)
    return out


def fork_labels(samples: Sequence[Sequence[int]]) -> list[list[int | None]]:
    """For each sample j and step t: 1 if the samples that share sample j's first t tokens do not
    all take the same token t, 0 if they do, None where no other sample shares that prefix (or
    every other one that does has ended there). Read off the samples' trie (`trie_nodes`): a
    prefix's peers are the samples passing through it, their next tokens its children."""
    nodes = trie_nodes(samples)
    children: dict[int, set[int]] = {}
    peers: dict[int, int] = {}
    for row in nodes:
        for parent, node in zip([-1, *row][:len(row)], row, strict=True):
            children.setdefault(parent, set()).add(node)
            peers[parent] = peers.get(parent, 0) + 1
    return [[None if peers[parent] < 2 else int(len(children[parent]) > 1)
             for parent in [-1, *row][:len(row)]] for row in nodes]
