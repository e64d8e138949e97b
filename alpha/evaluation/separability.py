"""Which methods a study can tell apart: every pair, every metric, Holm-corrected.

`separability_records(groups, metrics)` compares every pair of methods (A before B in the order
given) on every metric with `alpha.evaluation.compare.difference_records` (paired over prompts:
bootstrap CI of A - B, sign-flip permutation p), then adjusts all the permutation p-values made
together with Holm's step-down method (`holm`): the family is every test of the table, so a
claim survives only if it survives all of them. Such a family runs to thousands of tests, and a
permutation p from 10,000 draws cannot fall below 1e-4, while Holm over m tests needs level / m
(3e-5 for 1,625 tests): every test the first draws cannot resolve is redrawn with `perm_refine`
(1,000,000) draws (`alpha.evaluation.paired`), so the resolution is 1e-6. Each record gets
`holm_p` and a verdict:
"A better", "B better" (by the metric's direction; "A higher" / "B higher" for metrics without
one) when holm_p < level, else "not separable". Metrics without per-prompt values (MAUVE,
distinct-n, cost) get no test and say so.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from alpha.evaluation.compare import Rows, difference_records
from alpha.evaluation.paired import REFINE_HITS


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input order (None, no test, stays None).

    Sorted ascending, the i-th smallest of m gets max over j <= i of min(1, (m - j + 1) p_(j)).
    """
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(tested)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def verdict(rec: dict, level: float) -> str:
    """A record's verdict from its `holm_p`, `diff` and `higher_is_better` (module docstring)."""
    if rec.get("holm_p") is None:
        return "no test"
    if rec["holm_p"] >= level:
        return "not separable"
    up = rec["diff"] > 0
    better = rec.get("higher_is_better")
    if better is None:
        return "A higher" if up else "B higher"
    return "A better" if up == bool(better) else "B better"


PERM_REFINE = 1_000_000  # draws for a test the first 10,000 leave at their floor (docstring)


def separability_records(groups: dict[str, Sequence[Rows]], metrics: Sequence[str], *,
                         level: float = 0.05, seed: int = 0,
                         perm_refine: int = PERM_REFINE) -> list[dict]:
    """One record per (pair, metric): A, B, the paired difference A - B with its CI, the raw
    and Holm-adjusted permutation p and the verdict (module docstring)."""
    if len(groups) < 2:
        raise ValueError(f"separability needs at least two methods; got {list(groups)}")
    records = []
    for a, b in itertools.combinations(list(groups), 2):
        for rec in difference_records({a: groups[a], b: groups[b]}, b, metrics, seed=seed,
                                      perm_refine=perm_refine):
            records.append({"A": a, "B": b, **{k: v for k, v in rec.items()
                                               if k not in ("method", "reference")}})
    return adjust(records, level)


def adjust(records: list[dict], level: float, say=verdict) -> list[dict]:
    """Holm over the records' `perm_p` as one family: each record gets `holm_p` and the verdict
    `say(record, level)`."""
    for rec, p in zip(records, holm([r.get("perm_p") for r in records]), strict=True):
        rec["holm_p"] = p
        rec["verdict"] = say(rec, level)
    return records


def diff_cell(r: dict) -> str:
    """"A - B [95% CI]" of a record."""
    ci = "" if r.get("ci_lo") is None else f" [{r['ci_lo']:.3g}, {r['ci_hi']:.3g}]"
    return f"{r['diff']:.3g}{ci}"


def pairs_markdown(records: list[dict], header: str, columns: list[str], cells) -> str:
    """A pair table: `header`, then per record A, B, metric, `cells(record)` under `columns`, the
    raw and Holm p and the verdict (a record without a test: its note)."""
    lines = [header, "", "| A | B | metric | " + " | ".join(columns) + " | p | Holm p | verdict |",
             "|" + "---|" * (len(columns) + 6)]
    for r in records:
        head = f"| {r['A']} | {r['B']} | {r['metric']} | "
        if r.get("holm_p") is None:
            lines.append(head + "- | " * (len(columns) + 2) + f"{r.get('note') or 'no test'} |")
            continue
        lines.append(head + " | ".join(cells(r)) + f" | {r['perm_p']:.3g} | {r['holm_p']:.3g} | "
                     f"{r['verdict']} |")
    return "\n".join(lines)


def separability_markdown(records: list[dict], level: float = 0.05) -> str:
    """The table: pair, metric, A - B [95% CI], raw p, Holm p, verdict."""
    tests = sum(r.get("holm_p") is not None for r in records)
    header = (f"Every pair of methods on every metric; paired over prompts (A - B, 95% percentile "
              f"bootstrap CI); p = sign-flip permutation (10,000 draws, redrawn with "
              f"{PERM_REFINE:,} where fewer than {REFINE_HITS} reach the observed difference), "
              f"Holm-adjusted over all {tests} tests of this table; separable when the adjusted "
              f"p < {level}.")
    return pairs_markdown(records, header, ["A - B [95% CI]"], lambda r: [diff_cell(r)])
