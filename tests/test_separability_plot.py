"""The separability figure (alpha/runner/separability_plot.py, scripts/plot_separability.py):
cell codes by hand from a three-method table (a lower-is-better metric flips the verdict, a p
at the level is not separable, a missing p is no test), the figure written from a table that
make_tables' separability records produced, and bad input: a table without the Holm column,
--select without holm_correct's 'file' column, a selection that keeps nothing."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from alpha.runner.separability_plot import BETTER, NONE, TIED, WORSE, verdict_grid
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "plot_separability.py"


def _pairs() -> pd.DataFrame:
    return pd.DataFrame([
        {"A": "a", "B": "b", "metric": "coherence", "diff": 0.1, "higher_is_better": True,
         "p_holm": 0.01, "file": "x/test_separability.csv"},
        {"A": "a", "B": "c", "metric": "coherence", "diff": 0.2, "higher_is_better": True,
         "p_holm": 0.05, "file": "x/test_separability.csv"},  # at the level: not separable
        {"A": "b", "B": "c", "metric": "coherence", "diff": 0.1, "higher_is_better": True,
         "p_holm": None, "file": "x/test_separability.csv"},  # no test made
        {"A": "a", "B": "b", "metric": "rep_4", "diff": 3.0, "higher_is_better": False,
         "p_holm": 0.001, "file": "x/confirmatory_separability.csv"},  # a repeats more: worse
    ])


def test_cells_by_hand():
    pairs = _pairs()
    g = verdict_grid(pairs, "coherence", ["a", "b", "c"], "p_holm", 0.05)
    assert g == [[NONE, BETTER, TIED], [WORSE, NONE, NONE], [TIED, NONE, NONE]]
    g = verdict_grid(pairs, "rep_4", ["a", "b", "c"], "p_holm", 0.05)
    assert g[0][1] == WORSE and g[1][0] == BETTER


def test_script_draws_and_refuses_bad_input(tmp_path):
    src = tmp_path / "holm.csv"
    _pairs().to_csv(src, index=False)
    out = tmp_path / "fig.png"
    res = subprocess.run([sys.executable, str(SCRIPT), str(src), "--select", "test", "--out",
                          str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "3 methods, most wins first: a" in \
        res.stdout
    cases = [
        (_pairs().drop(columns=["p_holm"]), ["--out", str(out)], "lacks columns ['holm_p']"),
        (_pairs().drop(columns=["file"]), ["--select", "test", "--out", str(out)],
         "needs holm_correct.py's 'file' column"),
        (_pairs(), ["--select", "dev", "--out", str(out)], "no rows to draw"),
    ]
    for table, args, message in cases:
        table.to_csv(src, index=False)
        bad = subprocess.run([sys.executable, str(SCRIPT), str(src), *args],
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and message in bad.stderr and bad.stderr.count("\n") == 1
