"""The command line of a study's report script (experiments/*/NAME.py RESULTS): compute from the
results folder, write RESULTS/NAME.csv and RESULTS/NAME.md, print the Markdown; a folder the
computation cannot read is one line on stderr and exit 2, with nothing written."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def report_main(argv: list[str] | None, doc: str, name: str,
                compute: Callable[[Path], tuple[pd.DataFrame, dict]],
                render: Callable[[pd.DataFrame, dict], str]) -> int:
    """`compute(results) -> (rows, stats)` (ValueError: the one-line reason), `render(rows,
    stats) -> Markdown`; returns the exit status."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("results", type=Path)
    a = ap.parse_args(argv)
    try:
        rows, stats = compute(a.results)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows.to_csv(a.results / f"{name}.csv", index=False)
    md = render(rows, stats)
    (a.results / f"{name}.md").write_text(md)
    print(md)
    return 0
