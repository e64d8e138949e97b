"""The winner's curse of equal-budget tuning, from a tuning study's results (issue 25).

    python experiments/leaderboard/winners_curse.py experiments/leaderboard/results

Issue 25's review found that dev MAUVE barely predicted test MAUVE across Study 1's tuned methods
(Spearman 0.23 over 13), which no CI showed. This reads RESULTS/table.csv (the tuner's: each
method's dev objective at its winning trial, `dev_<metric>`, and its test mean over seeds,
`<metric>_mean`), RESULTS/trials.csv (which metric was the objective, and its direction) and,
where the tuning was repeated under other Optuna seeds, RESULTS/tuning_seed*/trials.csv. Writes
RESULTS/winners_curse.md and .csv: per tuned method the dev objective of its winner, its test
mean, the optimism dev - test, and the best dev objective under each extra tuning seed with
their spread (how much of a method's rank is the luck of its 10 draws; none for a method not
re-tuned), and how alike the tuning seeds rank the re-tuned methods (Spearman); and Spearman's rho
between dev and test over the tuned methods with a percentile bootstrap CI over methods (2,000
resamples, seed 0). A results folder without table.csv or trials.csv is one line, exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from alpha.runner.report_cli import report_main


def curse(results: Path, resamples: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Per-method rows and the dev-test rank correlation `{rho, ci, n}`."""
    for name in ("table.csv", "trials.csv"):
        if not (results / name).exists():
            raise ValueError(f"{results / name} is missing; give the tuner's results_dir "
                             "(scripts/tune.py writes table.csv and trials.csv there)")
    trials = pd.read_csv(results / "trials.csv")
    metric = str(trials["metric"].iloc[0])
    table = pd.read_csv(results / "table.csv")
    table = table[table["tuned"] > 0]
    rows = pd.DataFrame({"method": table["method"], "dev": table[f"dev_{metric}"],
                         "test": table[f"{metric}_mean"]})
    rows["dev_minus_test"] = rows["dev"] - rows["test"]
    maximize = str(trials["direction"].iloc[0]) != "minimize"
    extra = sorted(results.glob("tuning_seed*/trials.csv"))
    for path in extra:
        t = pd.read_csv(path)
        best = t.groupby("method")["objective"].agg("max" if maximize else "min")
        rows[f"dev_{path.parent.name}"] = rows["method"].map(best)
    seeds = ["dev", *(f"dev_{p.parent.name}" for p in extra)]
    agree = {}
    if extra:  # a method not re-tuned under every seed has no spread (NaN), not 0
        rows["dev_spread"] = (rows[seeds].max(axis=1, skipna=False)
                              - rows[seeds].min(axis=1, skipna=False))
        retuned = rows.dropna(subset=seeds)
        for col in seeds[1:]:  # do the tuning seeds rank the re-tuned methods alike?
            agree[col.removeprefix("dev_")] = (float(spearmanr(retuned["dev"], retuned[col])
                                                     .statistic) if len(retuned) > 2
                                               else float("nan"))
    dev, test = rows["dev"].to_numpy(), rows["test"].to_numpy()
    rho = float(spearmanr(dev, test).statistic) if len(rows) > 2 else float("nan")
    rng, draws = np.random.default_rng(seed), []
    for _ in range(resamples if len(rows) > 2 else 0):
        i = rng.integers(0, len(rows), len(rows))
        if len(set(dev[i])) > 1 and len(set(test[i])) > 1:
            draws.append(spearmanr(dev[i], test[i]).statistic)
    ci = (float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))) if draws else None
    return rows, {"metric": metric, "rho": rho, "ci": ci, "n": len(rows), "seed_rho": agree,
                  "n_retuned": int(rows.dropna(subset=seeds).shape[0]) if extra else 0}


def markdown(rows: pd.DataFrame, stats: dict) -> str:
    ci = "–" if stats["ci"] is None else f"[{stats['ci'][0]:.2f}, {stats['ci'][1]:.2f}]"
    head = (f"# The winner's curse: dev vs test {stats['metric']}\n\nSpearman's rho between each "
            f"tuned method's dev {stats['metric']} (its winning trial) and its test mean: "
            f"**{stats['rho']:.2f}** {ci} (95% bootstrap over {stats['n']} methods).\n\n")
    if stats.get("seed_rho"):
        head += (f"Tuning repeated under other Optuna seeds for {stats['n_retuned']} methods: "
                 f"Spearman's rho between their dev bests under seed 0 and under "
                 + ", ".join(f"{k} **{v:.2f}**" for k, v in stats["seed_rho"].items())
                 + "; dev_spread = max - min of a method's dev best over the tuning seeds "
                 "(- : not re-tuned).\n\n")
    cols = list(rows.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in rows.sort_values("dev", ascending=False).iterrows():
        lines.append("| " + " | ".join(r[c] if isinstance(r[c], str) else
                                       "-" if pd.isna(r[c]) else f"{r[c]:.4f}"
                                       for c in cols) + " |")
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return report_main(argv, __doc__, "winners_curse", curse, markdown)


if __name__ == "__main__":
    sys.exit(main())
