"""Multirun folders (or a W&B project) -> Markdown, LaTeX and CSV tables.

One row per configuration, mean +/- std over seeds of each metric's per-run `mean` from
`metrics.json`, the best value per column in bold, arrows for higher/lower-is-better, the cost
columns (tokens/s, wall time, ...) last. Failed or partial runs are listed and left out of the
table; configurations with different metric sets show "-" where a metric is missing.

    python scripts/make_tables.py multirun/window_size/2026-11-27_13-00-00 --out outputs/tables/window_size
    python scripts/make_tables.py multirun/ --metrics rep_4,distinct_2,tokens_per_s
    python scripts/make_tables.py --wandb my-team/alpha-sampler --group window_size_2026-11-27_13-00-00

A configuration is the set of a run's command-line overrides (`.hydra/overrides.yaml`) minus
`seed`; rows are labelled with the overrides that differ between configurations. `--by` groups
by dotted config keys instead (always the case for W&B runs, which have no overrides file).

`--reference LABEL` adds the table of differences of every configuration against LABEL (a row
label, or the value after its "="), paired per prompt from each run's generations.jsonl (seeds
averaged per prompt): mean difference with a paired bootstrap 95% CI, sign-test and sign-flip
permutation p-values, n (OUT_diff.md/.tex/.csv). `--trials` reads the tuner's trials.csv and
draws the budget curves, expected best-of-N over each method's trials with bootstrap bands
(OUT_budget.png/.csv): stat_tables.py. Reading and grouping runs: runs.py. Statistics:
alpha/evaluation/{paired,compare,budget}.py; what they mean and do not claim: docs/statistics.md.

    python scripts/make_tables.py outputs/tune/tiny/runs/test --by sampler.name --reference top_p \
        --trials outputs/tune/tiny/trials.csv --out outputs/tune/tiny/table
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from alpha.runner.runs import Run, find_runs, long_frame, natural, read_wandb

COST = ("generated_tokens", "tokens_per_s", "wall_time_s", "eos_rate", "mean_length")


# ---------------------------------------------------------------------------- table


@dataclass
class Table:
    """Aggregated table: stats[config][metric] = (mean, std or nan, n); runs[config] = how many
    runs a row aggregates (more than its seeds where `--by` merges runs of other settings)."""

    configs: list[str]
    metrics: list[str]
    stats: dict[str, dict[str, tuple[float, float, int]]]
    seeds: dict[str, int]
    higher: dict[str, bool | None]
    skipped: list[tuple[str, str]]
    notes: list[str]
    runs: dict[str, int]

    @property
    def merged(self) -> bool:
        """Some row holds runs that differ in more than the seed: its ± is over those too."""
        return any(self.runs[c] > self.seeds[c] for c in self.configs)

    def count_heads(self) -> list[str]:
        return ["seeds", "runs"] if self.merged else ["seeds"]

    def counts(self, config: str) -> list[str]:
        return [str(self.seeds[config])] + ([str(self.runs[config])] if self.merged else [])

    def best(self, metric: str) -> set[str]:
        """Configs holding the best mean of `metric` (none when its direction is unknown)."""
        direction = self.higher.get(metric)
        values = {c: self.stats[c][metric][0] for c in self.configs if metric in self.stats[c]}
        if direction is None or len(values) < 2:
            return set()
        target = max(values.values()) if direction else min(values.values())
        best = {c for c, v in values.items() if math.isclose(v, target, rel_tol=1e-12)}
        return best if len(best) < len(values) else set()  # all equal: nothing to mark


def _order_metrics(found: list[str], wanted: list[str] | None) -> list[str]:
    if wanted:
        missing = [m for m in wanted if m not in found]
        if missing:
            raise ValueError(f"--metrics names {missing}, which no run has; available: {found}")
        return wanted
    quality = sorted(m for m in found if m not in COST)
    return quality + [m for m in COST if m in found]


def build_table(runs: list[Run], *, metrics: list[str] | None = None,
                by: list[str] | None = None) -> Table:
    """Aggregate usable runs; failed/partial ones go to `skipped` with their reason."""
    skipped = [(r.source, r.problem) for r in runs if r.problem]
    good = [r for r in runs if not r.problem]
    if not good:
        reasons = "; ".join(f"{s}: {p}" for s, p in skipped[:5])
        raise ValueError(f"none of the {len(runs)} runs is complete, nothing to table ({reasons})")
    frame = long_frame(good, by)
    grouped = frame.groupby(["config", "metric"], sort=False)["value"]
    agg = grouped.agg(["mean", "std", "count"])
    configs = sorted(frame["config"].unique(), key=natural)
    names = _order_metrics(sorted(frame["metric"].unique()), metrics)
    stats = {c: {} for c in configs}
    for (config, metric), row in agg.iterrows():
        stats[config][metric] = (float(row["mean"]), float(row["std"]), int(row["count"]))
    seeds = frame.groupby("config")["seed"].nunique().to_dict()
    n_runs = frame.groupby("config")["source"].nunique().to_dict()
    higher = {}
    for run in good:
        for m, h in run.higher.items():
            higher.setdefault(m, h)
    notes = [f"{m}: missing for {', '.join(c for c in configs if m not in stats[c])}"
             for m in names if any(m not in stats[c] for c in configs)]
    return Table(configs, names, stats, seeds, higher, skipped, notes, n_runs)


def fmt(value: float) -> str:
    return f"{value:.4g}"


def _cell(table: Table, config: str, metric: str) -> tuple[str, bool]:
    if metric not in table.stats[config]:
        return "-", False
    mean, std, n = table.stats[config][metric]
    text = fmt(mean) if math.isnan(std) else f"{fmt(mean)} ± {fmt(std)}"
    if n < table.runs[config]:
        text += f" (n={n})"
    return text, config in table.best(metric)


def header(table: Table, metric: str, up: str, down: str) -> str:
    direction = table.higher.get(metric)
    return metric + ("" if direction is None else (up if direction else down))


def to_markdown(table: Table) -> str:
    heads = ["config", *table.count_heads()] + [header(table, m, " ↑", " ↓")
                                                for m in table.metrics]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for c in table.configs:
        cells = [c, *table.counts(c)]
        for m in table.metrics:
            text, best = _cell(table, c, m)
            cells.append(f"**{text}**" if best else text)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    spread = ("a row's runs (rows merge runs of different settings, so the spread is over those "
              "settings as well as seeds)" if table.merged else "seeds")
    lines.append(f"Mean ± sample std over {spread}; **bold** = best per column; "
                 f"cost columns: {', '.join(m for m in table.metrics if m in COST) or 'none'}.")
    lines += [f"- missing metric: {n}" for n in table.notes]
    if table.skipped:
        lines.append(f"- skipped {len(table.skipped)} run(s):")
        lines += [f"  - `{s}`: {p}" for s, p in table.skipped]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", text).replace("±", r"$\pm$")


def to_latex(table: Table) -> str:
    heads = ["config", *table.count_heads()] + [
        latex_escape(header(table, m, r" $\uparrow$", r" $\downarrow$")).replace(r"\$", "$")
        for m in table.metrics]
    lines = [r"\begin{tabular}{l" + "r" * (len(heads) - 1) + "}", r"\toprule",
             " & ".join(heads) + r" \\", r"\midrule"]
    for c in table.configs:
        cells = [latex_escape(c), *table.counts(c)]
        for m in table.metrics:
            text, best = _cell(table, c, m)
            cells.append(rf"\textbf{{{latex_escape(text)}}}" if best else latex_escape(text))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_frame(table: Table) -> pd.DataFrame:
    """Numbers only: config, seeds (runs where rows merge settings), then <metric>_mean, <metric>_std, <metric>_n."""
    rows = []
    for c in table.configs:
        row = {"config": c, "seeds": table.seeds[c]} | ({"runs": table.runs[c]} if table.merged
                                                        else {})
        for m in table.metrics:
            mean, std, n = table.stats[c].get(m, (math.nan, math.nan, 0))
            row.update({f"{m}_mean": mean, f"{m}_std": std, f"{m}_n": n})
        rows.append(row)
    return pd.DataFrame(rows)


def write_outputs(table: Table, out: str | None) -> str:
    """Write <out>.md/.tex/.csv (folders created); return the Markdown."""
    md = to_markdown(table)
    if out:
        base = Path(out)
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_suffix(".md").write_text(md)
        base.with_suffix(".tex").write_text(to_latex(table))
        to_frame(table).to_csv(base.with_suffix(".csv"), index=False)
    return md


    return md


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="multirun or run folders")
    parser.add_argument("--wandb", help="read entity/project from W&B instead (online)")
    parser.add_argument("--group", help="with --wandb: only this group (a sweep)")
    parser.add_argument("--metrics", help="comma-separated metric columns, in order")
    parser.add_argument("--by", help="comma-separated dotted config keys that define a row")
    parser.add_argument("--out", help="write OUT.md, OUT.tex and OUT.csv")
    parser.add_argument("--reference", help="row label (or its value, e.g. top_p) to pair every "
                        "other configuration against: OUT_diff.md/.tex/.csv")
    parser.add_argument("--diff-metrics", help="comma-separated metrics of the difference "
                        "table (default: the table's non-cost metrics)")
    parser.add_argument("--separability", help="comma-separated metrics: every pair of rows "
                        "compared, Holm-corrected over all the tests: OUT_separability.md/.csv")
    parser.add_argument("--human", help="comma-separated metrics: each row's distance to the "
                        "human continuations' value (runs scored by scripts/score_human.py): "
                        "OUT_human.md/.csv; where the scoring kept per-prompt values, every "
                        "pair of rows tested for which is nearer human, Holm-corrected: "
                        "OUT_human_pairs.md/.csv")
    parser.add_argument("--frontier", help="X,Y: every run a point, each row's Pareto frontier "
                        "under both metrics' directions (+ human text where scored): "
                        "OUT_frontier.png/.csv (needs --out)")
    parser.add_argument("--trials", help="the tuner's trials.csv (several: comma-separated; "
                        "a method in more than one is labelled by its folder): budget curves, "
                        "OUT_budget.png/.csv (needs --out)")
    parser.add_argument("--trial-methods", help="with --trials: comma-separated methods to "
                        "draw and tabulate (default: all; a name covers it in every file)")
    parser.add_argument("--objective", help="with --trials: the metric the trials scored "
                        "(default: trials.csv's metric column, written by the tuner)")
    parser.add_argument("--direction", choices=("maximize", "minimize"),
                        help="with --trials: override the direction (default: trials.csv's, "
                        "else the objective metric's own)")
    args = parser.parse_args(argv)
    from alpha.runner.stat_tables import budget_curves, difference_table, write_statistics

    try:
        if bool(args.paths) == bool(args.wandb):
            raise ValueError("give run folders or --wandb entity/project (one of the two)")
        if args.trials and not args.out:
            raise ValueError("--trials draws a figure: give --out OUT (writes OUT_budget.png)")
        runs = read_wandb(args.wandb, args.group) if args.wandb else find_runs(args.paths)
        table = build_table(runs, metrics=_split(args.metrics), by=_split(args.by))
        diff = None
        if args.reference:
            wanted = _split(args.diff_metrics) or [m for m in table.metrics if m not in COST]
            diff = difference_table(runs, args.reference, wanted, by=_split(args.by))
        separable = separability_table(runs, _split(args.separability), _split(args.by)) \
            if args.separability else None
        frontier = None
        if args.frontier:
            frontier = _frontier(runs, _split(args.frontier), _split(args.by), args.out)
        human = nearer = None
        if args.human:
            from alpha.runner import human as hu

            values = hu.human_values(runs)
            wanted = _split(args.human)
            human = (hu.distance_records(table, values, wanted), values, wanted)
            nearer = human_pairs(runs, wanted, _split(args.by))
        curves, objective, notes = (
            budget_curves(_split(args.trials), args.objective, args.direction,
                          _split(args.trial_methods))
            if args.trials else (None, args.objective, []))
    except ValueError as err:
        print(f"make_tables: {err}", file=sys.stderr)
        return 2
    for source, problem in table.skipped:
        print(f"make_tables: skipped {source}: {problem}", file=sys.stderr)
    print(write_outputs(table, args.out))
    if diff or curves:
        print(write_statistics(args.out, diff, curves, objective or "objective", notes))
    if separable is not None:
        print(write_separability(args.out, separable))
    if human is not None:
        print(write_human(args.out, *human))
    if nearer is not None:
        from alpha.evaluation.human_distance import distance_pairs_markdown

        print(write_pairs(args.out, "human_pairs", nearer, distance_pairs_markdown))
    if frontier is not None:
        print(frontier)
    return 0


def _frontier(runs, metrics: list[str], by: list[str] | None, out: str | None) -> str:
    """Write OUT_frontier.png/.csv; return a one-line summary."""
    from alpha.runner import frontier as fr
    from alpha.runner import human as hu
    from alpha.runner.runs import run_groups

    if not out:
        raise ValueError("--frontier draws a figure: give --out OUT (writes OUT_frontier.png)")
    if len(metrics) != 2:
        raise ValueError(f"--frontier takes two metrics X,Y (e.g. diversity,coherence); got "
                         f"{metrics}")
    x, y = metrics
    records = fr.frontier_points(run_groups(runs, by), x, y, fr.directions(runs, x, y))
    if not records:
        raise ValueError(f"--frontier: no run has both {x} and {y}")
    try:
        human = hu.human_values(runs)
    except ValueError:
        human = None  # nothing scored: no human marker
    base = Path(out)
    fr.plot_frontier(records, x, y, base.parent / f"{base.name}_frontier.png", human)
    pd.DataFrame(records).to_csv(base.parent / f"{base.name}_frontier.csv", index=False)
    n_front = sum(r["on_frontier"] for r in records)
    study = sorted({r["group"].split("=", 1)[-1] for r in records if r["on_study_frontier"]})
    return (f"frontier: {len(records)} runs, {n_front} on their method's frontier; the study's "
            f"frontier holds runs of {study} ({base.name}_frontier.png/.csv)")


def write_human(out: str | None, records: list[dict], values: dict, metrics: list[str]) -> str:
    """OUT_human.md/.csv: every row's metrics beside their distance to human text's value."""
    from alpha.runner.human import distance_markdown

    md = distance_markdown(records, values, metrics)
    if out:
        base = Path(out)
        base.parent.mkdir(parents=True, exist_ok=True)
        (base.parent / f"{base.name}_human.md").write_text(md)
        pd.DataFrame(records + [{"config": "human", **values}]).to_csv(
            base.parent / f"{base.name}_human.csv", index=False)
    return md


def separability_table(runs, metrics: list[str], by: list[str] | None) -> list[dict]:
    """Every pair of configurations (rows of the main table) on `metrics`, Holm-corrected."""
    from alpha.evaluation.separability import separability_records
    from alpha.runner.runs import read_generations, run_groups

    groups = run_groups(runs, by)
    return separability_records({label: [read_generations(r) for r in group]
                                 for label, group in groups.items()}, metrics)


def human_pairs(runs, metrics: list[str], by: list[str] | None) -> list[dict] | None:
    """Every pair of configurations: which is nearer human text on `metrics`, paired over
    prompts, Holm-corrected (None, with a note on stderr, when the human scoring kept no
    per-prompt values or there is one configuration)."""
    from alpha.evaluation.human_distance import distance_pairs
    from alpha.runner import human as hu
    from alpha.runner.runs import read_generations, run_groups

    rows = hu.human_rows(runs)
    groups = run_groups(runs, by)
    if rows is None or len(groups) < 2:
        print("make_tables: no paired distance-to-human test (" + (
            "the human scoring kept no per-prompt values: re-run scripts/score_human.py"
            if rows is None else "one configuration") + ")", file=sys.stderr)
        return None
    return distance_pairs({label: [read_generations(r) for r in group]
                           for label, group in groups.items()}, rows, metrics)


def write_separability(out: str | None, records: list[dict]) -> str:
    """OUT_separability.md and .csv (when --out is given); returns the Markdown."""
    from alpha.evaluation.separability import separability_markdown

    return write_pairs(out, "separability", records, separability_markdown)


def write_pairs(out: str | None, name: str, records: list[dict], markdown) -> str:
    """OUT_NAME.md and .csv of a pair table (`markdown(records)` its text); returns the text."""
    import csv

    text = markdown(records)
    if out:
        Path(f"{out}_{name}.md").write_text(text + "\n")
        keys = list(dict.fromkeys(k for r in records for k in r))
        with open(f"{out}_{name}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(records)
    return text

