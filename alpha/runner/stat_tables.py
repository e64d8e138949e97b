"""make_tables' statistics: paired differences against a reference configuration, and the
tuner's budget curves, as Markdown/LaTeX/CSV and a figure.

`--reference LABEL`: every configuration minus LABEL, paired per prompt from each run's
generations.jsonl (seeds averaged per prompt), via alpha.evaluation.compare. `--trials`: the
expected best of N of each method's dev trials (alpha.evaluation.budget). What they mean and
do not claim: docs/statistics.md.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alpha.runner.runs import Run, flatten, read_generations, run_groups
from alpha.runner.tables import fmt, latex_escape


def _pick(name: str, labels: list[str]) -> str:
    """`name` as a row label: exact, or the one label whose value after "=" is `name`."""
    if name in labels:
        return name
    hits = [c for c in labels if c.rsplit("=", 1)[-1] == name]
    if len(hits) != 1:
        raise ValueError(f"--reference {name!r} matches {len(hits)} configurations; pass one "
                         f"of {labels}")
    return hits[0]



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
    simctg = bool(flatten(groups[ref][0].config).get("evaluation.options.simctg_compat"))
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
           " & ".join(latex_escape(h).replace("Δ", r"$\Delta$") for h in heads) + r" \\",
           r"\midrule"]
    tex += [" & ".join(latex_escape(r.get(h, "-")) for h in heads) + r" \\" for r in shown]
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


def read_studies(paths: list[str]) -> tuple[dict[str, list[float]], dict]:
    """Scores and meta (as trials_meta) of one or several tuning studies' trials.csv.

    A method found in more than one file is labelled `method (folder)`, the folder holding
    that trials.csv (e.g. `top_p (equal_range)`), so two studies' curves of one method can be
    compared; the files must agree on the objective and its direction."""
    from alpha.evaluation import budget

    tables = [(path, budget.read_trials(path), trials_meta(path)) for path in paths]
    count: dict[str, int] = {}
    for _, scores, _ in tables:
        for m in scores:
            count[m] = count.get(m, 0) + 1
    merged: dict[str, list[float]] = {}
    meta: dict = {}
    for path, scores, one in tables:
        for key in ("metric", "direction"):
            if key in one and meta.setdefault(key, one[key]) != one[key]:
                raise ValueError(f"{path}: {key} {one[key]!r} differs from {meta[key]!r} of "
                                 f"{paths[0]}; compare studies of one objective")
        for m, values in scores.items():
            label = f"{m} ({Path(path).resolve().parent.name})" if count[m] > 1 else m
            merged[label] = values
            for column in ("optuna_sampler", "tuned"):
                if m in one.get(column, {}):
                    meta.setdefault(column, {})[label] = one[column][m]
    return merged, meta


def budget_curves(trials: list[str], objective: str | None, direction: str | None,
                  methods: list[str] | None = None) -> tuple[dict, str, list[str]]:
    """({method: BudgetCurve}, objective label, notes) of the tuner's trials.csv files (one or
    several: see read_studies). `methods`: keep only these (a method's name matches its curves
    from every file, `top_p` both `top_p (results)` and `top_p (equal_range)`).

    The objective's name and direction come from the file (the tuner writes them);
    --objective renames it and --direction overrides the direction. An older trials.csv
    without them: direction from the --objective metric's own higher_is_better."""
    from alpha.evaluation import METRICS, budget

    scores, meta = read_studies(trials)
    if methods:
        base = {label: label.split(" (")[0] for label in scores}
        missing = [m for m in methods if m not in base.values()]
        if missing:
            raise ValueError(f"--trial-methods names {missing}, which no trials.csv has; they "
                             f"have {sorted(set(base.values()))}")
        scores = {label: v for label, v in scores.items() if base[label] in methods}
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
        band = "" if c.lo is None else f" [{fmt(c.lo[k])}, {fmt(c.hi[k])}]"
        return fmt(c.expected[k]) + band

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

