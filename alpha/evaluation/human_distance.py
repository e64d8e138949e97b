"""Which of two methods sits nearer human text, with a paired CI (issue 25: "report metrics
beside human text's value"; a point distance cannot say that one method is nearer).

The distance of a method to human text on a metric is |m - h| (|log m - log h| on the
perplexities: a ratio either way), m and h the method's and the human continuations' values
over the same prompts. `compare_distance(A, B, human)` tests dist(A) - dist(B), paired over
prompts. Each prompt carries A's and B's components beside the human text's own (a per-prompt
metric: [value, human value, 1], its mean a ratio of sums; rep-n and diversity: their n-gram
counts, recounted from the texts, the human text being the run rows' `reference`), and
D = d(A) - d(B) is a function of the column sums. The test runs on D's jackknife pseudo-values
d_i = n D - (n - 1) D_(-i) (D without prompt i): a bootstrap CI of their mean and the sign-flip
permutation p of their mean against 0 (`paired.paired_mean`, refined like the separability
table). For a per-prompt metric on a linear scale d_i is exactly s_A (a_i - h_i) - s_B (b_i -
h_i), s the side of human text each method sits on, so the CI is that of a mean. Not the swap of
A and B within prompts that the difference tests use: that holds human text's mean fixed, yet
when the methods sit on either side of it D rests on that mean (2 h above), whose noise the swap
leaves out; it called top-p nearer human rep-4 than alpha (p 0.0014) where the bootstrap CI was
[-2.8, +3.4] (tests/test_human_distance.py has the case). Near a kink (a
method's value at human text's) the linearisation is rough; that distance is small anyway.
`distance_pairs` does every pair of methods and Holm-corrects over its own tests (a study
adds them to its family with scripts/holm_correct.py). Human per-prompt values come from
`human_metrics.json`'s rows (scripts/score_human.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from alpha.evaluation import compare as cmp
from alpha.evaluation import paired
from alpha.evaluation import separability as sep
from alpha.evaluation.separability import PERM_REFINE

LOG_SCALE = ("perplexity", "oracle_perplexity")  # distance |log m - log h| (a ratio)


def distance(metric: str, value: float, human: float) -> float:
    """How far a method's value sits from human text's: |log m - log h| on the perplexities
    (a ratio either way), |m - h| elsewhere."""
    if metric in LOG_SCALE:
        return abs(math.log(value) - math.log(human))
    return abs(value - human)


def _mean_components(a: list, b: list, h: list, log: bool):
    """(n, 3) components [value, human, 1] of A and B on the prompts all three define, the
    distance as a function of a column sum, and a note on the dropped prompts."""
    arr = np.array([[np.nan if v is None else v for v in x] for x in (a, b, h)], np.float64)
    keep = np.isfinite(arr).all(0)
    ones = np.ones(int(keep.sum()))
    ca = np.stack([arr[0, keep], arr[2, keep], ones], 1)
    cb = np.stack([arr[1, keep], arr[2, keep], ones], 1)
    f = np.log if log else (lambda x: x)

    def stat(s: np.ndarray) -> np.ndarray:
        return np.abs(f(s[:, 0] / s[:, 2]) - f(s[:, 1] / s[:, 2]))

    dropped = int((~keep).sum())
    note = [f"{dropped} of {keep.size} prompts dropped (undefined in A, B or human)"] \
        if dropped else []
    return ca, cb, stat, note


def compare_distance(runs_a: Sequence[cmp.Rows], runs_b: Sequence[cmp.Rows],
                     human_rows: cmp.Rows, metric: str, *, simctg_compat: bool = False,
                     samples: int = 2000, seed: int = 0, perm_samples: int = 10000,
                     perm_refine: int = 0) -> paired.PairedResult | str:
    """dist(A) - dist(B) to human text on `metric` (module docstring); value_a and value_b are
    the two distances. A string (the reason) when the metric has no per-prompt test."""
    reason = cmp.no_test_reason(metric)
    if reason:
        return reason
    order = sorted(int(r["index"]) for r in runs_b[0])
    a, b = cmp.ordered(runs_a, order), cmp.ordered(runs_b, order)
    kw = {"samples": samples, "seed": seed, "perm_samples": perm_samples,
          "perm_refine": perm_refine}
    if metric not in cmp.POOLED:
        (h,) = cmp.ordered([human_rows], order)
        ca, cb, stat, notes = _mean_components(
            cmp.per_prompt_mean(a, metric), cmp.per_prompt_mean(b, metric),
            cmp.per_prompt_mean([h], metric), metric in LOG_SCALE)
        return _jackknife_test(ca, cb, stat, notes, kw)
    g = cmp.POOLED[metric][1]
    refs = [r.get("reference") for r in b[0]]
    if not all(isinstance(t, str) for t in refs):
        raise ValueError(f"{metric}: the runs' rows carry no `reference` text, so human text's "
                         f"n-grams cannot be counted; use a continuation dataset (e.g. owt)")

    hum = cmp.pooled_counts([[{"text": t} for t in refs]], metric, simctg_compat)
    k = hum.shape[1]

    def stat(s: np.ndarray) -> np.ndarray:
        return np.abs(g(s[:, :k]) - g(s[:, k:]))

    ca = np.hstack([cmp.pooled_counts(a, metric, simctg_compat), hum])
    cb = np.hstack([cmp.pooled_counts(b, metric, simctg_compat), hum])
    return _jackknife_test(ca, cb, stat, ["pooled ratio, recounted from the texts"], kw)


def _jackknife_test(ca: np.ndarray, cb: np.ndarray, stat, notes: list[str], kw: dict
                    ) -> paired.PairedResult:
    """D = stat(sums A) - stat(sums B) with its test on jackknife pseudo-values
    d_i = n D - (n - 1) D_(-i) (module docstring): their bootstrap CI and sign-flip p."""
    n = ca.shape[0]
    sa, sb = ca.sum(0)[None, :], cb.sum(0)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        value_a, value_b = float(stat(sa)[0]), float(stat(sb)[0])
        left_out = stat(sa - ca) - stat(sb - cb)  # (n,) D without prompt i
    diff = value_a - value_b
    if n < 2:
        return paired.PairedResult(n, value_a, value_b, diff, None, None, None,
                                   notes=notes + ["fewer than 2 prompts: no test"])
    pseudo = n * diff - (n - 1) * left_out
    res = paired.paired_mean(list(pseudo), [0.0] * n, **kw)
    # res.n and res.notes: prompts whose pseudo-value is undefined are dropped, and said
    return paired.PairedResult(res.n, value_a, value_b, diff, res.ci95, None, res.perm_p,
                               notes=notes + res.notes)


def distance_pairs(groups: dict[str, Sequence[cmp.Rows]], human_rows: cmp.Rows,
                   metrics: Sequence[str], *, level: float = 0.05, seed: int = 0,
                   perm_refine: int = PERM_REFINE) -> list[dict]:
    """One record per (pair, metric): A, B, metric, A's and B's distance to human text, their
    difference with its 95% CI, the raw and Holm-adjusted (over this table's tests) permutation
    p, and the verdict "A nearer" / "B nearer" / "not separable"."""
    if len(groups) < 2:
        raise ValueError(f"distance pairs need at least two methods; got {list(groups)}")
    records = []
    for (a, b), m in itertools.product(itertools.combinations(list(groups), 2), metrics):
        rec = {"A": a, "B": b, "metric": f"{m}_to_human", "higher_is_better": False}
        res = compare_distance(groups[a], groups[b], human_rows, m, seed=seed,
                               perm_refine=perm_refine)
        if isinstance(res, str):
            rec["note"] = res
        else:
            ci = res.ci95 or [None, None]
            rec.update({"n": res.n, "value": res.value_a, "reference_value": res.value_b,
                        "diff": res.diff, "ci_lo": ci[0], "ci_hi": ci[1], "sign_p": None,
                        "perm_p": res.perm_p, "note": "; ".join(res.notes)})
        records.append(rec)
    # nearer = better: a distance's direction is lower (higher_is_better False above)
    return sep.adjust(records, level,
                      lambda rec, lvl: sep.verdict(rec, lvl).replace("better", "nearer"))


def distance_pairs_markdown(records: list[dict], level: float = 0.05) -> str:
    """The table: pair, metric, both distances, their difference [95% CI], p, Holm p, verdict."""
    tests = sum(r.get("holm_p") is not None for r in records)
    header = (f"Every pair of methods: which sits nearer human text. Distance = |m - h| "
              f"(|log m - log h| for perplexities) over the same prompts; A - B of the distances, "
              f"tested on its jackknife pseudo-values over prompts (human text's own noise "
              f"included): their 95% percentile bootstrap CI and sign-flip permutation p (10,000 "
              f"draws, redrawn with {PERM_REFINE:,} where fewer than {paired.REFINE_HITS} reach "
              f"the observed value), Holm-adjusted over all {tests} tests of this table; "
              f"separable when the adjusted p < {level} (docs/statistics.md).")
    return sep.pairs_markdown(records, header, ["dist A", "dist B", "A - B [95% CI]"],
                              lambda r: [f"{r['value']:.3g}", f"{r['reference_value']:.3g}",
                                         sep.diff_cell(r)])
