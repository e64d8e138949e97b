"""Does the extended re-run reproduce Study 2? Compare two summary.csv files cell by cell.

    python experiments/temperature_robustness/same_cells.py \
        experiments/temperature_robustness/results/summary.csv \
        experiments/temperature_robustness/results_ext/summary.csv

A cell is (method, temperature, metric) in both files with the same number of seeds; it is the
same when its mean over seeds, its std over seeds and its bootstrap CI agree to 1e-9 (the same
per-seed accuracies on the same problems give exactly these numbers). Prints how many cells are
the same and lists the others; exit 0 either way (the count is the answer), 2 on a file that
cannot be read or lacks summarise.py's columns.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

KEY = ["method", "temperature", "metric", "seeds"]
VALUES = ["mean", "std", "ci_lo", "ci_hi"]


def compare(first: pd.DataFrame, second: pd.DataFrame, tol: float = 1e-9) -> pd.DataFrame:
    """The cells in both (KEY) with a `same` column: every VALUES entry within `tol`."""
    for name, df in (("first", first), ("second", second)):
        if missing := sorted(set(KEY + VALUES) - set(df.columns)):
            raise ValueError(f"same_cells: the {name} table lacks {missing}; give summarise.py's "
                             f"summary.csv")
    both = first.merge(second, on=KEY, suffixes=("_a", "_b"))
    same = pd.Series(True, index=both.index)
    for v in VALUES:
        a, b = both[f"{v}_a"], both[f"{v}_b"]
        same &= ((a - b).abs() <= tol) | (a.isna() & b.isna())
    return both.assign(same=same)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    a = ap.parse_args(argv)
    try:
        cells = compare(pd.read_csv(a.first), pd.read_csv(a.second))
    except (ValueError, FileNotFoundError, pd.errors.EmptyDataError) as err:
        print(str(err).splitlines()[0], file=sys.stderr)
        return 2
    print(f"{int(cells['same'].sum())} of {len(cells)} cells (method, T, metric, seeds) in both "
          f"files are the same (mean, std, CI within 1e-9)")
    for r in cells[~cells["same"]].itertuples():
        print(f"  differs: {r.method} T={r.temperature:g} {r.metric}: "
              f"{r.mean_a:.4f} ± {r.std_a:.4f} vs {r.mean_b:.4f} ± {r.std_b:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
