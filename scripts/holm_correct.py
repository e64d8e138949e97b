"""Holm-correct every paired test a study made, across its difference tables, in one family.

    python scripts/holm_correct.py experiments/open_ended/results/paired_diff.csv
    python scripts/holm_correct.py experiments/temperature_robustness/results/summary_diff.csv \
        experiments/temperature_robustness/results/table_diff.csv --out outputs/study2_holm.csv

Reads the `perm_p` column (the paired sign-flip permutation p-value `make_tables.py
--reference` and the study summaries write) of every row of every file, applies Holm's step-down
correction over all of them together (alpha.evaluation.separability.holm), and prints (or
writes) each row with `p_holm` and `survives` (p_holm < 0.05). The READMEs' corrected claims
come from this command. A p of 1/10001 is a 10,000-draw permutation test's floor (no draw reached
the observed difference); where the family is large enough that the floor cannot survive Holm
(m x 1e-4 >= 0.05), it says so on stderr: such tests need the refined p (`make_tables.py
--separability` refines; alpha/evaluation/paired.py's `perm_refine`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from alpha.evaluation.separability import holm


def corrected(paths: list[Path], column: str = "perm_p", level: float = 0.05) -> pd.DataFrame:
    frames = []
    for p in paths:
        f = pd.read_csv(p)
        if column not in f.columns:
            raise ValueError(f"{p} has no {column!r} column; give a difference table "
                             f"(make_tables.py --reference ... writes OUT_diff.csv)")
        frames.append(f.assign(file=str(p)))
    out = pd.concat(frames, ignore_index=True)
    p = [None if pd.isna(v) else float(v) for v in out[column]]
    out["p_holm"] = holm(p)
    out["survives"] = [h is not None and h < level for h in out["p_holm"]]
    return out


def floor_limited(table: pd.DataFrame, column: str = "perm_p", level: float = 0.05) -> int:
    """How many p-values sit at the 10,000-draw floor where that floor cannot survive Holm."""
    m = int(table[column].notna().sum())
    at_floor = int((table[column] - 1 / 10001).abs().lt(1e-12).sum())
    return at_floor if m / 10001 >= level else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="+", type=Path)
    ap.add_argument("--column", default="perm_p")
    ap.add_argument("--out", type=Path, help="write the table here (CSV) instead of printing it")
    a = ap.parse_args(argv)
    try:
        out = corrected(a.csv, a.column)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(a.out, index=False)
    else:
        print(out.to_string(max_colwidth=60))
    print(f"{len(out)} tests, {int(out['survives'].sum())} survive Holm at 0.05", file=sys.stderr)
    floor = floor_limited(out, a.column)
    if floor:
        print(f"warning: {floor} tests sit at the 10,000-draw floor p = 1/10001, which cannot "
              f"survive Holm over {len(out)} tests (needs p < {0.05 / len(out):.2g}); recompute "
              f"them with more draws (make_tables.py --separability refines)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
