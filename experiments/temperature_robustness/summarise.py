"""Study 2 in the min-p paper's shape: accuracy of each method (rows) at each temperature (columns).

Reads the run folders `run.sh` wrote (greedy, the baselines' grid, the adaptive sampler's grid)
and writes, beside `--out`:
- `summary.md|.tex|.csv`: per method and temperature, accuracy (strict and flexible) as the mean
  over seeds, the std over seeds, and a 95% bootstrap CI over problems (each problem's accuracy
  averaged over its seeds first, so the problem is the unit of resampling);
- `summary_diff.md|.csv`: at each temperature, alpha minus each other sampled method there
  (Study 2's baselines, then the extension's heat samplers), paired per problem
  (alpha.evaluation.compare: paired bootstrap CI, sign-flip permutation p);
- `summary.png`: accuracy vs temperature per method with its CI band, greedy as a line;
- in `summary.md` and `summary_temperature.csv`: the temperature each method actually sampled at
  (the per-token `temperature` of every run's trace, all seeds pooled: mean, 90th percentile,
  max, share of tokens above 1), which says what the adaptive sampler's ceiling changed;
- `inputs.json` beside it: the sha256 of the model and dataset files the runs read.

    python experiments/temperature_robustness/summarise.py                  # the default folders
    python experiments/temperature_robustness/summarise.py multirun/study_temperature_robustness \
        --out experiments/temperature_robustness/results/summary

A baseline's temperature is `sampler.temperature`; the adaptive sampler's is its ceiling
`sampler.temp_max` (the study's mapping, README). Unfinished runs are listed and left out.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from alpha.evaluation import bootstrap as bs
from alpha.evaluation.compare import compare_metric, per_prompt_mean
from alpha.runner.runs import find_runs, read_generations

ROOT = Path(__file__).resolve().parents[2]
METRICS = ("gsm8k_strict", "gsm8k_flexible")
ADAPTIVE = "alpha"
STRICT = "alpha_base_at_T"  # the adaptive sampler with base_temp = temp_max = T (stricter mapping)
STUDY2 = ("temperature", "top_p", "min_p")  # Study 2's baselines, compared first


def cell_key(config: dict) -> tuple[str, float | None]:
    """(method, temperature) of a run: greedy has none; alpha's is its ceiling temp_max, and an
    alpha run whose operating point base_temp is the ceiling too is the row `alpha_base_at_T`."""
    from omegaconf import OmegaConf

    # Hydra saves config.yaml unresolved: base_temp may be "${sampler.temp_max}"
    sampler = OmegaConf.to_container(OmegaConf.create({"sampler": config.get("sampler") or {}}),
                                     resolve=True)["sampler"]
    name = sampler.get("name", "?")
    if name == "greedy":
        return name, None
    value = sampler.get("temp_max") if name == ADAPTIVE else sampler.get("temperature")
    if name == ADAPTIVE and value is not None and sampler.get("base_temp") is not None \
            and float(sampler["base_temp"]) == float(value):
        name = STRICT
    return name, None if value is None else float(value)


def group_rows(paths: list[str]) -> tuple[dict, dict, list[str], dict]:
    """{(method, T): [rows of each seed's run]}, {(method, T): [each run's metric means]}, one
    line per run left out, and the sha256 of the package-index inputs (model, dataset) the runs
    read (alpha.fetch verified each file against it)."""
    from alpha.runner.tuning import catalogue_inputs

    groups: dict[tuple, list[list[dict]]] = {}
    costs: dict[tuple, list[dict]] = {}
    skipped, inputs = [], {}
    for run in find_runs(paths):
        if run.problem:
            skipped.append(f"{run.source}: {run.problem}")
            continue
        key = cell_key(run.config)  # resolves the sampler config: once a run
        groups.setdefault(key, []).append(read_generations(run))
        costs.setdefault(key, []).append(run.metrics)
        inputs.update(catalogue_inputs(run.config))
    return groups, costs, skipped, inputs


def cell_stats(runs: list[list[dict]], metric: str, samples: int = 2000) -> dict:
    """Mean over seeds, std over seeds, 95% CI over problems of the seed-averaged accuracy."""
    per_seed = [np.mean([r["metrics"][metric] for r in rows if r["metrics"].get(metric) is not None])
                for rows in runs]
    per_problem = per_prompt_mean([sorted(rows, key=lambda r: int(r["index"])) for rows in runs], metric)
    ci = bs.mean_ci(bs.resample_weights(len(per_problem), samples, 0), per_problem)
    return {"mean": float(np.mean(per_seed)), "std": float(np.std(per_seed, ddof=1)) if len(runs) > 1 else 0.0,
            "ci_lo": ci[0] if ci else None, "ci_hi": ci[1] if ci else None, "seeds": len(runs),
            "n": sum(v is not None for v in per_problem)}


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def summary(groups: dict) -> tuple[list[dict], list[float], list[str]]:
    temps = sorted({t for _, t in groups if t is not None})
    methods = list(dict.fromkeys(["greedy", "temperature", "top_p", "min_p", ADAPTIVE, STRICT,
                                  *sorted(m for m, _ in groups)]))
    methods = [m for m in methods if any(k[0] == m for k in groups)]
    records = [{"method": m, "temperature": t, "metric": metric, **cell_stats(groups[(m, t)], metric)}
               for metric in METRICS for m in methods for t in ([None] if m == "greedy" else temps)
               if (m, t) in groups]
    return records, temps, methods


def cost_markdown(costs: dict, temps: list[float], methods: list[str]) -> str:
    """tokens/s and tokens per answer, mean over seeds (same machine; see the README on load)."""
    def cell(runs):
        if not runs:
            return "-"
        tps = np.mean([r.get("tokens_per_s", np.nan) for r in runs])
        length = np.mean([r.get("mean_length", np.nan) for r in runs])
        return f"{tps:.1f} · {length:.0f}"

    lines = ["**cost** (tokens/s · tokens per answer, mean over seeds)", "",
             "| method | " + " | ".join(f"T={t:g}" for t in temps) + " |",
             "|---|" + "---|" * len(temps)]
    for m in methods:
        lines.append(f"| {m} | " + " | ".join(
            cell(costs.get((m, None if m == "greedy" else t))) for t in temps) + " |")
    return "\n".join(lines) + "\n"


def realised_temperature(groups: dict) -> list[dict]:
    """Per (method, T): the per-token temperatures the runs sampled at (their traces), pooled
    over problems and seeds: mean, 90th percentile, max and the share above 1. Runs without a
    `temperature` trace (greedy; older runs) give no row."""
    out = []
    for (method, t), runs in groups.items():
        temps = [x for rows in runs for r in rows for x in (r.get("trace") or {}).get("temperature") or []]
        if temps and t is not None:
            a = np.asarray(temps, dtype=float)
            out.append({"method": method, "temperature": t, "tokens": a.size, "mean": float(a.mean()),
                        "p90": float(np.percentile(a, 90)), "max": float(a.max()),
                        "share_above_1": float((a > 1).mean())})
    return sorted(out, key=lambda r: (r["method"], r["temperature"]))


def temperature_markdown(rows: list[dict], temps: list[float], methods: list[str]) -> str:
    got = {(r["method"], r["temperature"]): r for r in rows}
    lines = ["**realised temperature** (per-token, from the traces, all seeds: mean / p90 / max; "
             "share of tokens above 1)", "",
             "| method | " + " | ".join(f"T={t:g}" for t in temps) + " |", "|---|" + "---|" * len(temps)]
    for m in methods:
        if not any((m, t) in got for t in temps):
            continue
        cells = [got.get((m, t)) for t in temps]
        lines.append(f"| {m} | " + " | ".join(
            "-" if c is None else f"{c['mean']:.2f} / {c['p90']:.2f} / {c['max']:.2f}; "
            f"{100 * c['share_above_1']:.0f}%" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def pivot_markdown(records: list[dict], temps: list[float], methods: list[str]) -> str:
    lines = ["Greedy has no temperature: its one run is repeated in every column.", ""]
    for metric in METRICS:
        lines += [f"**{metric}** (%: mean over seeds ± std over seeds, [95% CI over problems])", "",
                  "| method | " + " | ".join(f"T={t:g}" for t in temps) + " |",
                  "|---|" + "---|" * len(temps)]
        for m in methods:
            got = {r["temperature"]: r for r in records if r["method"] == m and r["metric"] == metric}
            cells = [got.get(None if m == "greedy" else t) for t in temps]
            lines.append(f"| {m} | " + " | ".join(
                "-" if c is None else f"{pct(c['mean'])} ± {pct(c['std'])} [{pct(c['ci_lo'])}, "
                f"{pct(c['ci_hi'])}]" for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def differences(groups: dict, temps: list[float]) -> list[dict]:
    """At each T: each adaptive row (alpha, alpha_base_at_T) minus each other sampled method
    there (Study 2's temperature, top_p, min_p first, then the extension's heat samplers), paired
    per problem (seeds averaged)."""
    others = sorted({m for m, _ in groups} - {ADAPTIVE, STRICT, "greedy", *STUDY2})
    out = []
    for adaptive in (ADAPTIVE, STRICT):
        for metric in METRICS:
            for t in temps:
                if (adaptive, t) not in groups:
                    continue
                for base in (*STUDY2, *others):
                    if (base, t) not in groups:
                        continue
                    res = compare_metric(groups[(adaptive, t)], groups[(base, t)], metric)
                    ci = res.ci95 or [None, None]
                    out.append({"adaptive": adaptive, "metric": metric, "temperature": t,
                                "vs": base, "n": res.n,
                                "alpha": res.value_a, "baseline": res.value_b, "diff": res.diff,
                                "ci_lo": ci[0], "ci_hi": ci[1], "perm_p": res.perm_p})
    return out


def pivot_latex(records: list[dict], temps: list[float], methods: list[str]) -> str:
    def tex(text: str) -> str:
        return text.replace("_", r"\_")

    lines = [r"\begin{tabular}{ll" + "r" * len(temps) + "}", r"\toprule",
             "metric & method & " + " & ".join(f"$T={t:g}$" for t in temps) + r" \\", r"\midrule"]
    for metric in METRICS:
        for m in methods:
            got = {r["temperature"]: r for r in records if r["method"] == m and r["metric"] == metric}
            cells = [got.get(None if m == "greedy" else t) for t in temps]
            shown = ["-" if c is None else f"{pct(c['mean'])} $\\pm$ {pct(c['std'])}" for c in cells]
            lines.append(f"{tex(metric)} & {tex(m)} & " + " & ".join(shown) + r" \\")
        lines.append(r"\midrule")
    lines[-1] = r"\bottomrule"
    return "\n".join([*lines, r"\end{tabular}"]) + "\n"


def diff_markdown(rows: list[dict]) -> str:
    lines = ["| adaptive | metric | T | − baseline | adaptive % | baseline % | Δ points [95% CI] | perm p | n |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = "*" if r["ci_lo"] is not None and (r["ci_lo"] > 0 or r["ci_hi"] < 0) else ""
        lines.append(f"| {r['adaptive']} | {r['metric']} | {r['temperature']:g} | {r['vs']} | {pct(r['alpha'])} | "
                     f"{pct(r['baseline'])} | {100 * r['diff']:+.1f} [{pct(r['ci_lo'])}, "
                     f"{pct(r['ci_hi'])}]{mark} | {r['perm_p']:.3g} | {r['n']} |")
    return "\n".join(lines) + ("\n\nΔ = the adaptive sampler (alpha: temperature ceiling T; "
                               "alpha_base_at_T: ceiling and base_temp T) − the baseline at "
                               "temperature T, paired over problems (seeds averaged per problem); "
                               "95% paired bootstrap CI; * = CI excludes 0; two-sided sign-flip "
                               "permutation p; not corrected for multiple comparisons.\n")


def plot(records: list[dict], temps: list[float], methods: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(11, 4), sharey=True)
    for ax, metric in zip(axes, METRICS, strict=True):
        for i, m in enumerate(methods):
            rs = [r for r in records if r["method"] == m and r["metric"] == metric]
            if m == "greedy":
                ax.axhline(100 * rs[0]["mean"], color="k", ls="--", lw=1, label="greedy")
                continue
            rs.sort(key=lambda r: r["temperature"])
            x = [r["temperature"] for r in rs]
            ax.plot(x, [100 * r["mean"] for r in rs], "o-", color=f"C{i}", label=m)
            ax.fill_between(x, [100 * (r["ci_lo"] or 0) for r in rs],
                            [100 * (r["ci_hi"] or 0) for r in rs], color=f"C{i}", alpha=0.15)
        ax.set_xscale("log")
        ax.set_xticks(temps, [f"{t:g}" for t in temps])
        ax.set_xlabel("temperature (alpha: its ceiling temp_max)")
        ax.set_title(metric)
    axes[0].set_ylabel("accuracy % (95% CI over problems)")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sweep", nargs="?", default=str(ROOT / "multirun/study_temperature_robustness"))
    ap.add_argument("--out", default=str(ROOT / "experiments/temperature_robustness/results/summary"))
    args = ap.parse_args(argv)
    groups, costs, skipped, inputs = group_rows([args.sweep])
    records, temps, methods = summary(groups)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    realised = realised_temperature(groups)
    md = pivot_markdown(records, temps, methods) + "\n" + cost_markdown(costs, temps, methods)
    if realised:
        md += "\n" + temperature_markdown(realised, temps, methods)
        write_csv(out.with_name(out.name + "_temperature.csv"), realised)
    notes = [f"- left out: {s}" for s in skipped]
    out.with_suffix(".md").write_text(md + "\n".join(notes) + ("\n" if notes else ""))
    out.with_suffix(".tex").write_text(pivot_latex(records, temps, methods))
    (out.parent / "inputs.json").write_text(json.dumps(inputs, indent=1, sort_keys=True) + "\n")
    write_csv(out.with_suffix(".csv"), records)
    diffs = differences(groups, temps)
    if diffs:
        out.with_name(out.name + "_diff.md").write_text(diff_markdown(diffs))
        write_csv(out.with_name(out.name + "_diff.csv"), diffs)
    plot(records, temps, methods, out.with_suffix(".png"))
    print(md + "\n".join(notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
