"""Multirun folders (or a W&B project) -> Markdown, LaTeX and CSV tables.

One row per configuration, mean +/- std over seeds of each metric's per-run `mean` from
`metrics.json`, the best value per column in bold, arrows for higher/lower-is-better, the cost
columns (tokens/s, wall time, ...) last. Failed or partial runs are listed and left out of the
table; configurations with different metric sets show "-" where a metric is missing.

    python scripts/make_tables.py multirun/window_size/2026-11-27_13-00-00 --out experiments/window_size/table
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
(OUT_budget.png/.csv). Statistics: alpha/evaluation/{paired,compare,budget}.py; what they
mean and do not claim: docs/statistics.md.

    python scripts/make_tables.py multirun/tune/test --by sampler.name --reference top_p \
        --trials experiments/baselines/tiny/trials.csv --out experiments/baselines/tiny/table
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

COST = ("generated_tokens", "tokens_per_s", "wall_time_s", "eos_rate", "mean_length")
SEED_KEYS = ("seed",)
_PATHLIKE = re.compile(r"(dir|path|output|hydra)", re.I)  # config keys never used as row labels


@dataclass
class Run:
    """One run: where it came from, what it changed, and its metrics (None if unusable)."""

    source: str
    overrides: dict[str, str]  # override key -> value, seed included
    config: dict
    metrics: dict | None = None
    problem: str | None = None
    higher: dict[str, bool | None] = field(default_factory=dict)


# ---------------------------------------------------------------------------- reading runs


def _flatten(cfg, prefix=""):
    """Nested dict -> {"a.b": value}."""
    out = {}
    for key, value in (cfg or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _parse_overrides(lines: list[str]) -> dict[str, str]:
    """["sampler.x=1", "seed=0", "+a=b"] -> {"sampler.x": "1", "seed": "0", "a": "b"}."""
    out = {}
    for line in lines or []:
        key, _, value = str(line).partition("=")
        out[key.lstrip("+~")] = value
    return out


def _metric_means(metrics_json: dict) -> tuple[dict[str, float], dict[str, bool | None]]:
    """metrics.json -> ({name: mean}, {name: higher_is_better}); null means are left out."""
    means, higher = {}, {}
    for name, entry in (metrics_json.get("metrics") or {}).items():
        entry = entry if isinstance(entry, dict) else {"mean": entry}
        value = entry.get("mean")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            means[name] = float(value)
            higher[name] = entry.get("higher_is_better")
    return means, higher


def read_run(run_dir: Path) -> Run:
    """Read one Hydra run folder; a problem (no/invalid/partial metrics.json) is recorded."""
    hydra = run_dir / ".hydra"
    config = yaml.safe_load((hydra / "config.yaml").read_text()) or {}
    ov_file = hydra / "overrides.yaml"
    overrides = _parse_overrides(yaml.safe_load(ov_file.read_text()) if ov_file.exists() else [])
    run = Run(str(run_dir), overrides, config)
    path = run_dir / "metrics.json"
    if not path.exists():
        run.problem = "no metrics.json (the run failed or is still running)"
        return run
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        run.problem = f"metrics.json is not valid JSON ({err})"
        return run
    if data.get("status") != "complete":
        run.problem = f"status={data.get('status')!r} (partial run), not 'complete'"
        return run
    run.metrics, run.higher = _metric_means(data)
    return run


def find_runs(paths: list[str]) -> list[Run]:
    """Every Hydra run folder (one holding `.hydra/config.yaml`) under the given paths."""
    runs = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise ValueError(f"path {raw!r} does not exist; pass a multirun or run folder")
        dirs = sorted({p.parent.parent for p in root.rglob(".hydra/config.yaml")})
        runs += [read_run(d) for d in dirs]
    if not runs:
        raise ValueError(
            f"no runs under {', '.join(paths)}: expected Hydra run folders holding "
            ".hydra/config.yaml and metrics.json (e.g. multirun/<task>/<time>/ from "
            "`python run.py -m experiment=NAME`)"
        )
    return runs


def read_wandb(project: str, group: str | None = None) -> list[Run]:
    """Runs of a W&B project (entity/project) through the public API; needs to be online."""
    if not os.environ.get("WANDB_API_KEY") and not (Path.home() / ".netrc").exists():
        raise ValueError(
            f"reading W&B project {project!r} needs an API key (set WANDB_API_KEY or run "
            "`wandb login`); offline runs: pass their run folders instead"
        )
    import wandb

    try:
        found = list(wandb.Api().runs(project, filters={"group": group} if group else None))
    except Exception as err:  # noqa: BLE001 - wandb raises several types for a bad path
        raise ValueError(
            f"W&B project {project!r} could not be read ({type(err).__name__}: {err}); "
            "check the entity/project spelling and your access"
        ) from err
    if not found:
        raise ValueError(f"W&B project {project!r} has no runs" + (f" in group {group!r}"
                                                                   if group else ""))
    return [_wandb_run(r) for r in found]


def _wandb_run(remote) -> Run:
    summary = dict(remote.summary._json_dict)
    metrics = {k[: -len("/mean")]: {"mean": v,
                                    "higher_is_better": _hib(summary.get(k[:-5] + "/higher_is_better"))}
               for k, v in summary.items() if k.endswith("/mean")}
    means, higher = _metric_means({"metrics": metrics})
    run = Run(f"wandb:{remote.path}", {}, dict(remote.config), means, None, higher)
    if remote.state != "finished":
        run.metrics, run.problem = None, f"state={remote.state!r}, not 'finished'"
    return run


def _hib(value):
    return None if value is None else bool(value)


# ---------------------------------------------------------------------------- grouping


def _config_key(run: Run, by: list[str] | None) -> tuple[tuple[str, str], ...]:
    """The configuration a run belongs to: overrides (or `by` keys / config) minus the seed."""
    if by:
        flat = _flatten(run.config)
        return tuple((k, str(flat.get(k))) for k in by)
    if run.overrides or not run.source.startswith("wandb:"):
        return tuple(sorted((k, v) for k, v in run.overrides.items() if k not in SEED_KEYS))
    flat = _flatten(run.config)
    return tuple(sorted((k, str(v)) for k, v in flat.items()
                        if k not in SEED_KEYS and not _PATHLIKE.search(k)))


def natural(text: str):
    """Sort key that orders numbers numerically: "w=10" after "w=2"."""
    parts = re.split(r"(-?\d+(?:\.\d+)?)", text)
    return [(0, float(p), "") if re.fullmatch(r"-?\d+(?:\.\d+)?", p) else (1, 0.0, p)
            for p in parts if p]


def label_configs(keys: list[tuple]) -> dict[tuple, str]:
    """Row label per configuration: only the key=value pairs that differ between them."""
    all_keys = {k for key in keys for k, _ in key}
    varying = {k for k in all_keys if len({dict(key).get(k) for key in keys}) > 1}
    labels = {}
    for key in keys:
        parts = [f"{k}={v}" for k, v in key if k in varying]
        labels[key] = ", ".join(parts) or (", ".join(f"{k}={v}" for k, v in key) or "default")
    return labels


def long_frame(runs: list[Run], by: list[str] | None = None) -> pd.DataFrame:
    """Usable runs as rows (config, seed, metric, value)."""
    keys = [_config_key(r, by) for r in runs]
    labels = label_configs(list(dict.fromkeys(keys)))
    rows = []
    for run, key in zip(runs, keys, strict=True):
        seed = run.overrides.get("seed", str(_flatten(run.config).get("seed")))
        rows += [{"config": labels[key], "seed": seed, "metric": m, "value": v,
                  "source": run.source} for m, v in run.metrics.items()]
    return pd.DataFrame(rows, columns=["config", "seed", "metric", "value", "source"])


# ---------------------------------------------------------------------------- table


@dataclass
class Table:
    """Aggregated table: stats[config][metric] = (mean, std or nan, n)."""

    configs: list[str]
    metrics: list[str]
    stats: dict[str, dict[str, tuple[float, float, int]]]
    seeds: dict[str, int]
    higher: dict[str, bool | None]
    skipped: list[tuple[str, str]]
    notes: list[str]

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
    higher = {}
    for run in good:
        for m, h in run.higher.items():
            higher.setdefault(m, h)
    notes = [f"{m}: missing for {', '.join(c for c in configs if m not in stats[c])}"
             for m in names if any(m not in stats[c] for c in configs)]
    return Table(configs, names, stats, seeds, higher, skipped, notes)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _cell(table: Table, config: str, metric: str) -> tuple[str, bool]:
    if metric not in table.stats[config]:
        return "-", False
    mean, std, n = table.stats[config][metric]
    text = _fmt(mean) if math.isnan(std) else f"{_fmt(mean)} ± {_fmt(std)}"
    if n < table.seeds[config]:
        text += f" (n={n})"
    return text, config in table.best(metric)


def header(table: Table, metric: str, up: str, down: str) -> str:
    direction = table.higher.get(metric)
    return metric + ("" if direction is None else (up if direction else down))


def to_markdown(table: Table) -> str:
    heads = ["config", "seeds"] + [header(table, m, " ↑", " ↓") for m in table.metrics]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for c in table.configs:
        cells = [c, str(table.seeds[c])]
        for m in table.metrics:
            text, best = _cell(table, c, m)
            cells.append(f"**{text}**" if best else text)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Mean ± sample std over seeds; **bold** = best per column; "
                 f"cost columns: {', '.join(m for m in table.metrics if m in COST) or 'none'}.")
    lines += [f"- missing metric: {n}" for n in table.notes]
    if table.skipped:
        lines.append(f"- skipped {len(table.skipped)} run(s):")
        lines += [f"  - `{s}`: {p}" for s, p in table.skipped]
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", text).replace("±", r"$\pm$")


def to_latex(table: Table) -> str:
    heads = ["config", "seeds"] + [_tex(header(table, m, r" $\uparrow$", r" $\downarrow$"))
                                   .replace(r"\$", "$") for m in table.metrics]
    lines = [r"\begin{tabular}{l" + "r" * (len(heads) - 1) + "}", r"\toprule",
             " & ".join(heads) + r" \\", r"\midrule"]
    for c in table.configs:
        cells = [_tex(c), str(table.seeds[c])]
        for m in table.metrics:
            text, best = _cell(table, c, m)
            cells.append(rf"\textbf{{{_tex(text)}}}" if best else _tex(text))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_frame(table: Table) -> pd.DataFrame:
    """Numbers only: config, seeds, then <metric>_mean, <metric>_std, <metric>_n."""
    rows = []
    for c in table.configs:
        row = {"config": c, "seeds": table.seeds[c]}
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


# ---------------------------------------------------------------------------- statistics


def run_groups(runs: list[Run], by: list[str] | None = None) -> dict[str, list[Run]]:
    """Usable runs by row label (the labels of the main table), in the table's order."""
    good = [r for r in runs if not r.problem]
    keys = [_config_key(r, by) for r in good]
    labels = label_configs(list(dict.fromkeys(keys)))
    groups: dict[str, list[Run]] = {}
    for run, key in zip(good, keys, strict=True):
        groups.setdefault(labels[key], []).append(run)
    return dict(sorted(groups.items(), key=lambda kv: natural(kv[0])))


def _pick(name: str, labels: list[str]) -> str:
    """`name` as a row label: exact, or the one label whose value after "=" is `name`."""
    if name in labels:
        return name
    hits = [c for c in labels if c.rsplit("=", 1)[-1] == name]
    if len(hits) != 1:
        raise ValueError(f"--reference {name!r} matches {len(hits)} configurations; pass one "
                         f"of {labels}")
    return hits[0]


def read_generations(run: Run) -> list[dict]:
    """The per-prompt rows of one run folder (checked against metrics.json's n_prompts)."""
    if run.source.startswith("wandb:"):
        raise ValueError("--reference needs run folders with generations.jsonl; W&B runs "
                         "carry no per-prompt rows here")
    path = Path(run.source) / "generations.jsonl"
    if not path.exists():
        raise ValueError(f"{path} is missing: --reference pairs prompts from each run's "
                         f"generations.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    n = json.loads((Path(run.source) / "metrics.json").read_text()).get("n_prompts")
    if n is not None and n != len(rows):
        raise ValueError(f"{path} holds {len(rows)} rows but metrics.json n_prompts={n} (rows "
                         f"of another num_prompts share the folder); re-run into a fresh folder")
    return rows


def difference_table(runs: list[Run], reference: str, metrics: list[str],
                     by: list[str] | None = None) -> tuple[str, list[dict]]:
    """(reference label, records of every other configuration minus the reference)."""
    from alpha.evaluation.compare import difference_records

    groups = run_groups(runs, by)
    ref = _pick(reference, list(groups))
    if len(groups) < 2:
        raise ValueError(f"--reference {reference!r}: {ref} is the only configuration; "
                         f"nothing to compare it with")
    found = {m for group in groups.values() for r in group for m in r.metrics}
    unknown = [m for m in metrics if m not in found]
    if unknown:
        raise ValueError(f"--diff-metrics names {unknown}, which no run has; available: "
                         f"{sorted(found)}")
    simctg = bool(_flatten(groups[ref][0].config).get("evaluation.options.simctg_compat"))
    rows = {label: [read_generations(r) for r in group] for label, group in groups.items()}
    return ref, difference_records(rows, ref, metrics, simctg_compat=simctg, seed=0)


DIFF_NOTE = ("Δ = row − {ref}, paired over prompts (seeds averaged per prompt); 95% paired "
             "percentile bootstrap CI over prompts (2000 resamples, seed 0); sign = exact "
             "binomial sign test, ties dropped; perm = sign-flip permutation test (exact for "
             "n ≤ 16, else 10000 seeded draws); two-sided, not corrected for multiple "
             "comparisons. rep-n/diversity: pooled ratios, recounted from the texts, no sign "
             "test.")


def diff_outputs(records: list[dict], reference: str) -> tuple[str, str]:
    """(Markdown, LaTeX) of the difference table: rows = configurations."""
    from alpha.evaluation.compare import display_rows

    shown = display_rows(records)
    heads = list(dict.fromkeys(k for r in shown for k in r))
    md = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    md += ["| " + " | ".join(r.get(h, "-") for h in heads) + " |" for r in shown]
    arrows = {r["metric"]: r["higher_is_better"] for r in records}
    md += ["", DIFF_NOTE.format(ref=reference),
           "Better is " + ", ".join(f"{m} {'↑' if h else '↓'}" for m, h in arrows.items()
                                    if h is not None) + "."]
    untested = dict.fromkeys((r["metric"], r["note"]) for r in records if "diff" not in r)
    md += [f"- {m}: {note}" for m, note in untested]
    tex = [r"\begin{tabular}{l" + "r" * (len(heads) - 1) + "}", r"\toprule",
           " & ".join(_tex(h).replace("Δ", r"$\Delta$") for h in heads) + r" \\",
           r"\midrule"]
    tex += [" & ".join(_tex(r.get(h, "-")) for h in heads) + r" \\" for r in shown]
    tex += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(md) + "\n", "\n".join(tex) + "\n"


TPE_STARTUP = 10  # hydra-optuna-sweeper's TPESampler n_startup_trials: random draws before TPE


def trials_meta(path: str) -> dict:
    """What the tuner (alpha/runner/tuning.py) writes beside each score in trials.csv: the
    objective's name and direction, per method the Optuna sampler and the number of tunables.
    Columns an older trials.csv lacks are left out; a file mixing studies raises."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    meta: dict = {}
    for column, key in (("metric", "metric"), ("direction", "direction")):
        values = sorted({v for v in frame.get(column, []) if v})
        if len(values) > 1:
            raise ValueError(f"{path} mixes {column}s {values}; give the trials.csv of one study")
        if values:
            meta[key] = values[0]
    if meta.get("direction") not in (None, "maximize", "minimize"):
        raise ValueError(f"{path}: direction={meta['direction']!r}; expected maximize or minimize")
    for column in ("optuna_sampler", "tuned"):
        if column in frame:
            meta[column] = dict(zip(frame["method"], frame[column], strict=True))
    return meta


def budget_curves(trials: str, objective: str | None,
                  direction: str | None) -> tuple[dict, str, list[str]]:
    """({method: BudgetCurve}, objective label, notes) of the tuner's trials.csv.

    The objective's name and direction come from the file (the tuner writes them);
    --objective renames it and --direction overrides the direction. An older trials.csv
    without them: direction from the --objective metric's own higher_is_better."""
    from alpha.evaluation import METRICS, budget

    scores = budget.read_trials(trials)
    meta = trials_meta(trials)
    notes = []
    label = objective or meta.get("metric")
    if objective and meta.get("metric") not in (None, objective):
        notes.append(f"--objective {objective!r} renames the trials' metric "
                     f"{meta['metric']!r}")
    if direction is None and label == meta.get("metric"):
        direction = meta.get("direction")
    if direction is None:
        spec = METRICS.get(label or "")
        if spec is None or spec.higher_is_better is None:
            raise ValueError(f"--objective {label!r} has no known direction; pass "
                             f"--direction maximize or --direction minimize")
        direction = "maximize" if spec.higher_is_better else "minimize"
    curves = {m: budget.budget_curve(s, higher_is_better=direction == "maximize", seed=0)
              for m, s in scores.items()}
    tuned, drawn = meta.get("tuned", {}), meta.get("optuna_sampler", {})
    fixed = [m for m in curves if tuned.get(m) == "0"]
    if fixed:
        notes.append(f"{', '.join(fixed)}: no tunables, 1 trial: the curve is a single point")
    adaptive = [m for m in curves if m not in fixed and drawn.get(m, "random") != "random"]
    if "optuna_sampler" not in meta:
        notes.append("this trials.csv does not say how the trials were drawn (written before "
                     "the tuner recorded it): random search is assumed, not known")
    if adaptive:
        notes.append(f"{', '.join(f'{m} ({drawn[m]})' for m in adaptive)}: trials not drawn "
                     f"by random search (TPE draws its first {TPE_STARTUP} at random, then "
                     f"adaptively); the curve reads them as random draws")
    notes.append(f"direction: {direction}")
    return curves, label or "objective", notes


def budget_markdown(curves: dict, objective: str, notes: list[str] = ()) -> str:
    """Per method: trials, failed, E[best of 1] and E[best of T] with bootstrap bands."""
    def cell(c, k):
        band = "" if c.lo is None else f" [{_fmt(c.lo[k])}, {_fmt(c.hi[k])}]"
        return _fmt(c.expected[k]) + band

    lines = [f"| method | trials | failed | E[best of 1] {objective} | E[best of T] |",
             "|---|---|---|---|---|"]
    lines += [f"| {m} | {c.trials} | {c.dropped} | {cell(c, 0)} | {cell(c, c.trials - 1)} |"
              for m, c in curves.items()]
    lines += ["", "Exact expected best of N trials drawn without replacement (order "
              "statistics); bands: 95% bootstrap over trials (1000 resamples, seed 0). Only "
              "an honest random-draw reading when the trials were drawn by random search."]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_statistics(out: str | None, diff: tuple | None, curves: dict | None,
                     objective: str, notes: list[str] = ()) -> str:
    """Write OUT_diff.md/.tex/.csv and OUT_budget.png/.csv; return their Markdown."""
    from alpha.evaluation.budget import curve_records
    from alpha.evaluation.budget_plot import plot_budget_curves

    text = ""
    base = Path(out) if out else None
    if base:
        base.parent.mkdir(parents=True, exist_ok=True)
    if diff:
        ref, records = diff
        md, tex = diff_outputs(records, ref)
        text += md
        if base:
            base.with_name(base.name + "_diff.md").write_text(md)
            base.with_name(base.name + "_diff.tex").write_text(tex)
            pd.DataFrame(records).to_csv(base.with_name(base.name + "_diff.csv"), index=False)
    if curves:
        text += "\n" + budget_markdown(curves, objective, notes)
        pd.DataFrame(curve_records(curves)).to_csv(base.with_name(base.name + "_budget.csv"),
                                                   index=False)
        plot_budget_curves(curves, base.with_name(base.name + "_budget.png"), metric=objective)
    return text


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
    parser.add_argument("--trials", help="the tuner's trials.csv: budget curves, "
                        "OUT_budget.png/.csv (needs --out)")
    parser.add_argument("--objective", help="with --trials: the metric the trials scored "
                        "(default: trials.csv's metric column, written by the tuner)")
    parser.add_argument("--direction", choices=("maximize", "minimize"),
                        help="with --trials: override the direction (default: trials.csv's, "
                        "else the objective metric's own)")
    args = parser.parse_args(argv)
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
        curves, objective, notes = (budget_curves(args.trials, args.objective, args.direction)
                                    if args.trials else (None, args.objective, []))
    except ValueError as err:
        print(f"make_tables: {err}", file=sys.stderr)
        return 2
    for source, problem in table.skipped:
        print(f"make_tables: skipped {source}: {problem}", file=sys.stderr)
    print(write_outputs(table, args.out))
    if diff or curves:
        print(write_statistics(args.out, diff, curves, objective or "objective", notes))
    return 0

