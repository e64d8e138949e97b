"""Does a frontier drawn on dev hold on test? Every dev trial against its own re-run on test.

    python experiments/leaderboard/frontier_shift.py experiments/leaderboard/results

Issue 25 asks for quality-diversity frontiers "from every tuned trial on test": the dev frontier
(RESULTS/dev_frontier.csv, every dev trial a point) was drawn on the passages that chose the
winners. run.sh's trials stage re-ran every dev trial once on test passages
(RESULTS/test_trials_frontier.csv). This matches the two by method and trial (the run folders
`dev/<method>/<N>` and `test_trials/<method>/trial<N>`) and writes RESULTS/frontier_shift.md and
.csv: per trial its dev and test point and whether each is on its split's study frontier (no run of
any method beats it on both axes); per axis Spearman's rho between dev and test over all trials,
and over the trials with each method's mean taken out (do the settings within a method keep their
order?), each with a 95% percentile bootstrap CI over trials (2,000 resamples, seed 0); how many of
the dev frontier's points are on the test frontier; per method its frontier points on each split.
A results folder without the two CSVs, or whose trials do not match, is one line, exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from alpha.runner.report_cli import report_main

KEYS = ["method", "trial"]


def _points(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """(frame keyed by method and trial, the two axis names) from a make_tables frontier CSV."""
    if not path.exists():
        raise ValueError(f"{path} is missing; make it with make_tables.py --frontier "
                         "(experiments/leaderboard/tables.sh)")
    df = pd.read_csv(path)
    axes = [c for c in df.columns if c not in ("group", "source", "on_frontier",
                                               "on_study_frontier")]
    parts = df["source"].str.rstrip("/").str.split("/")
    df["method"] = parts.str[-2]
    df["trial"] = parts.str[-1].str.removeprefix("trial").astype(int)
    return df[[*KEYS, *axes, "on_study_frontier"]], axes


def _rho_ci(a: np.ndarray, b: np.ndarray, resamples: int, seed: int):
    rho = float(spearmanr(a, b).statistic)
    rng, draws = np.random.default_rng(seed), []
    for _ in range(resamples):
        i = rng.integers(0, len(a), len(a))
        draws.append(spearmanr(a[i], b[i]).statistic)
    draws = np.asarray(draws)[np.isfinite(draws)]
    return rho, (float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5)))


def shift(results: Path, resamples: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Matched trials (one row each) and the summary numbers."""
    dev, axes = _points(results / "dev_frontier.csv")
    test, test_axes = _points(results / "test_trials_frontier.csv")
    if axes != test_axes:
        raise ValueError(f"the dev frontier is drawn on {axes}, the test one on {test_axes}; "
                         "draw both with the same --frontier")
    rows = dev.merge(test, on=KEYS, suffixes=("_dev", "_test"), how="inner")
    unmatched = len(dev) + len(test) - 2 * len(rows)
    if len(rows) < 3:
        raise ValueError(f"only {len(rows)} trials are in both {results}/dev_frontier.csv and "
                         "test_trials_frontier.csv; run the trials stage (run.sh STAGES=trials)")
    stats = {"n": len(rows), "unmatched": unmatched, "axes": axes, "rho": {}, "rho_within": {}}
    for ax in axes:
        d, t = rows[f"{ax}_dev"].to_numpy(), rows[f"{ax}_test"].to_numpy()
        stats["rho"][ax] = _rho_ci(d, t, resamples, seed)
        centred = [rows.groupby("method")[f"{ax}_{s}"].transform("mean").to_numpy()
                   for s in ("dev", "test")]
        stats["rho_within"][ax] = _rho_ci(d - centred[0], t - centred[1], resamples, seed)
    on_dev, on_test = rows["on_study_frontier_dev"], rows["on_study_frontier_test"]
    stats["dev_front"], stats["test_front"] = int(on_dev.sum()), int(on_test.sum())
    stats["kept"] = int((on_dev & on_test).sum())
    return rows.sort_values(KEYS).reset_index(drop=True), stats


def _ci(v) -> str:
    rho, (lo, hi) = v
    return f"**{rho:.2f}** [{lo:.2f}, {hi:.2f}]"


def markdown(rows: pd.DataFrame, stats: dict) -> str:
    x, y = stats["axes"]
    out = [f"# Dev frontier vs test: every dev trial re-run on test ({stats['n']} trials)", ""]
    if stats["unmatched"]:
        out += [f"{stats['unmatched']} points are in only one of the two CSVs (left out).", ""]
    out += [f"Spearman's rho between a trial's dev and test value (95% bootstrap over trials): "
            f"{x} {_ci(stats['rho'][x])}, {y} {_ci(stats['rho'][y])}; with each method's mean "
            f"taken out (the settings within a method): {x} {_ci(stats['rho_within'][x])}, "
            f"{y} {_ci(stats['rho_within'][y])}.", "",
            f"Study frontier (no trial of any method beats it on both {x} and {y}): "
            f"{stats['dev_front']} points on dev, {stats['test_front']} on test, "
            f"{stats['kept']} of the dev frontier's points on the test frontier too.", "",
            "| method | trials | on dev frontier | on test frontier | both |", "|---|---|---|---|---|"]
    for method, g in rows.groupby("method"):
        d, t = g["on_study_frontier_dev"], g["on_study_frontier_test"]
        out.append(f"| {method} | {len(g)} | {int(d.sum())} | {int(t.sum())} | "
                   f"{int((d & t).sum())} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    return report_main(argv, __doc__, "frontier_shift", shift, markdown)


if __name__ == "__main__":
    sys.exit(main())
