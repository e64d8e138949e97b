"""Differences of methods against a reference method, per metric, from generations.jsonl rows.

Which test a metric gets follows its registered aggregation (alpha.evaluation.registry):
- "mean": the per-prompt values stored in each row's "metrics" -> `paired.paired_mean`;
- rep_n and diversity ("pooled", ratios of sums): their per-prompt n-gram counts are recomputed
  from the row texts with `repetition.unique_total` -> `paired.paired_pooled` (unrounded even
  under simctg_compat);
- distinct_n, MAUVE, Zipf (set statistics), sums and run figures (cost): no per-prompt values,
  so no paired test; the record says so and carries no numbers.
A method with several runs (seeds) on the same prompts is averaged per prompt (means) or has
its counts summed per prompt (pooled), so the prompt stays the unit of resampling.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from alpha.evaluation import paired
from alpha.evaluation import repetition as rep
from alpha.evaluation.metrics import REP_ORDERS
from alpha.evaluation.registry import METRICS

Rows = list[dict]  # generations.jsonl rows of one run: "index", "text", "metrics": {...}


def no_test_reason(metric: str) -> str | None:
    """Why `metric` gets no paired test, or None when it gets one."""
    spec = METRICS.get(metric)
    if spec is None:
        return "not a registered metric: no paired test"
    if spec.aggregation == "mean" or metric in POOLED:
        return None
    if spec.aggregation in ("pooled", "corpus"):
        return "set-level statistic: no per-prompt values, no paired test"
    return f"{spec.aggregation} over the run: no per-prompt values, no paired test"


def _rep_components(text: str, n: int, drop_last: bool) -> list[float]:
    return list(rep.unique_total(rep.words(text), n, drop_last=drop_last))


def _rep_stat(s: np.ndarray) -> np.ndarray:
    return 100.0 * (1.0 - s[:, 0] / s[:, 1])


def _diversity_stat(s: np.ndarray) -> np.ndarray:
    return np.prod(s[:, 0::2] / s[:, 1::2], axis=1)


# name -> (per-text components, statistic of the column sums)
POOLED = {f"rep_{n}": (lambda t, d, n=n: _rep_components(t, n, d), _rep_stat)
           for n in REP_ORDERS}
POOLED["diversity"] = (lambda t, d: sum((_rep_components(t, n, d) for n in REP_ORDERS), []),
                        _diversity_stat)


def ordered(runs: Sequence[Rows], order: list[int]) -> list[Rows]:
    """Each run's rows in the prompt order `order`; a differing prompt set raises."""
    out = []
    for rows in runs:
        idx = [int(r["index"]) for r in rows]
        _, pos = paired.align(order, idx)
        out.append([rows[p] for p in pos])
    return out


def pooled_counts(runs: Sequence[Rows], metric: str, simctg_compat: bool) -> np.ndarray:
    """(n, k) per-prompt components of a pooled metric (`POOLED`) recounted from the rows'
    texts, summed over runs (seeds); `runs`: each run's rows in the same prompt order."""
    components = POOLED[metric][0]
    return np.sum([[components(r["text"], simctg_compat) for r in rows] for rows in runs],
                  axis=0).astype(np.float64)


def per_prompt_mean(runs: list[Rows], metric: str) -> list[float | None]:
    """Mean over runs of each prompt's value (runs where it is undefined left out).

    `runs`: each run's rows in the same prompt order (one list per seed)."""
    vals = np.array([[np.nan if r.get("metrics", {}).get(metric) is None
                      else r["metrics"][metric] for r in rows] for rows in runs], float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: undefined prompt
        mean = np.nanmean(vals, axis=0)  # (n,)
    return [None if not np.isfinite(v) else float(v) for v in mean]


def compare_metric(runs_a: Sequence[Rows], runs_b: Sequence[Rows], metric: str, *,
                   simctg_compat: bool = False, samples: int = 2000, seed: int = 0,
                   perm_samples: int = 10000, perm_refine: int = 0) -> paired.PairedResult | str:
    """A - B on `metric` over the shared prompts; a string (the reason) when it has no test."""
    reason = no_test_reason(metric)
    if reason:
        return reason
    order = sorted(int(r["index"]) for r in runs_b[0])
    a, b = ordered(runs_a, order), ordered(runs_b, order)
    kw = {"samples": samples, "seed": seed, "perm_samples": perm_samples,
          "perm_refine": perm_refine}
    if metric not in POOLED:
        return paired.paired_mean(per_prompt_mean(a, metric), per_prompt_mean(b, metric), **kw)
    stat = POOLED[metric][1]
    return paired.paired_pooled(pooled_counts(a, metric, simctg_compat),
                                pooled_counts(b, metric, simctg_compat), stat, **kw)


def difference_records(groups: dict[str, Sequence[Rows]], reference: str,
                       metrics: Sequence[str], **kw) -> list[dict]:
    """One record per (method, metric): method - reference with CI, p-values, n, note.

    `groups` maps a method label to its runs' rows (one list per seed); `kw` goes to
    `compare_metric`. Raises ValueError naming the labels when `reference` is not a group.
    """
    if reference not in groups:
        raise ValueError(f"reference={reference!r} is not one of the methods {sorted(groups)}; "
                         f"pass one of them")
    records = []
    for method, runs in groups.items():
        if method == reference:
            continue
        for metric in metrics:
            spec = METRICS.get(metric)
            rec = {"method": method, "reference": reference, "metric": metric,
                   "higher_is_better": None if spec is None else spec.higher_is_better}
            res = compare_metric(runs, groups[reference], metric, **kw)
            if isinstance(res, str):
                rec["note"] = res
            else:
                ci = res.ci95 or [None, None]
                rec.update({"n": res.n, "value": res.value_a, "reference_value": res.value_b,
                            "diff": res.diff, "ci_lo": ci[0], "ci_hi": ci[1],
                            "sign_p": res.sign_p, "perm_p": res.perm_p, "wins": res.wins,
                            "losses": res.losses, "ties": res.ties,
                            "note": "; ".join(res.notes)})
            records.append(rec)
    return records


def _num(x, fmt=".3g") -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, fmt)


def display_rows(records: Sequence[dict]) -> list[dict]:
    """Rows = methods, per metric the columns "Δ [95% CI]", "sign p", "perm p", "n" (text)."""
    rows: dict[str, dict] = {}
    for r in records:
        row = rows.setdefault(r["method"], {"method": r["method"]})
        m = r["metric"]
        if "diff" not in r:
            row.update({f"{m} Δ [95% CI]": "no test", f"{m} sign p": "-", f"{m} perm p": "-",
                        f"{m} n": "-"})
            continue
        ci = f" [{_num(r['ci_lo'], '+.3g')}, {_num(r['ci_hi'], '+.3g')}]" \
            if r["ci_lo"] is not None else ""
        row.update({f"{m} Δ [95% CI]": _num(r["diff"], "+.3g") + ci,
                    f"{m} sign p": _num(r["sign_p"]), f"{m} perm p": _num(r["perm_p"]),
                    f"{m} n": str(r["n"])})
    return list(rows.values())
