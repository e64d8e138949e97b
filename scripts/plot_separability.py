"""Draw the separability figure from a separability table or the study-wide Holm table.

    python scripts/plot_separability.py experiments/leaderboard/results/holm.csv \
        --select confirmatory --out experiments/leaderboard/results/confirmatory_separability.png

`--select TEXT` keeps the rows whose `file` column (holm_correct.py's) contains TEXT: one split
of a study-wide family, still with the family's adjusted p. alpha/runner/separability_plot.py
says what a cell means. A table without the needed columns is one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from alpha.runner.separability_plot import plot_separability, short_label


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--select", help="keep rows whose 'file' column contains this text")
    ap.add_argument("--title", default="")
    a = ap.parse_args(argv)
    try:
        pairs = pd.read_csv(a.csv)
        if a.select:
            if "file" not in pairs.columns:
                raise ValueError(f"--select needs holm_correct.py's 'file' column; {a.csv} "
                                 f"has none")
            pairs = pairs[pairs["file"].str.contains(a.select, regex=False)]
        if pairs.empty:
            raise ValueError(f"no rows to draw in {a.csv}"
                             + (f" with file containing {a.select!r}" if a.select else ""))
        names = plot_separability(pairs, a.out, title=a.title)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    shown = ", ".join(short_label(n) for n in names[:5])
    print(f"{a.out}: {len(names)} methods, most wins first: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
