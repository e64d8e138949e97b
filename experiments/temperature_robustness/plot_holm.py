"""Study 2's separability figure: which paired differences survive Holm, per method and T.

    python experiments/temperature_robustness/plot_holm.py \
        experiments/temperature_robustness/results_ext/diff_holm.csv \
        --out experiments/temperature_robustness/results_ext/separability.png

Reads `tables_ext.sh`'s one Holm family (`scripts/holm_correct.py` over make_tables' paired
differences to greedy and summarise.py's adaptive-minus-method differences) and draws, for one
metric (`--metric`, default gsm8k_strict), one grid per comparison: "− greedy" (each method
minus greedy) and "alpha − method" / "alpha_base_at_T − method" (the adaptive sampler minus each
other method at the same T). Rows are methods, columns temperatures; a cell is "higher" or
"lower" where the Holm-adjusted p < 0.05, "not separable" otherwise, blank where no test was
made; each tested cell shows the difference in accuracy points. A table without the needed
columns or rows is one line, exit 2. matplotlib (Agg) is imported inside `plot`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from alpha.runner.separability_plot import BETTER, COLORS, NONE, TIED, WORSE

GREEDY = "− greedy"


def method_and_t(label: str) -> tuple[str, float | None]:
    """make_tables' run label ("experiment=temperature_robustness_heat, sampler=p_less,
    sampler.temperature=1.5") -> ("p_less", 1.5); the adaptive sampler's runs are named by their
    experiment (alpha / alpha_base_at_T) and its T is the ceiling `sampler.temp_max`."""
    keys = dict(part.strip().split("=", 1) for part in label.split(",") if "=" in part)
    name = keys.get("sampler")
    if name is None:
        exp = keys.get("experiment", "")
        name = "alpha_base_at_T" if exp.endswith("_alpha_base_at_T") else \
            "alpha" if exp.endswith("_alpha") else label
    t = keys.get("sampler.temperature", keys.get("sampler.temp_max"))
    return name, None if t is None else float(t)


def grids(holm: pd.DataFrame, metric: str,
          level: float = 0.05) -> dict[str, tuple[list[str], list[float], list[list[int]],
                                                  list[list[float | None]]]]:
    """Per comparison: (methods, temperatures, cell codes, differences in points). A code is
    BETTER (difference > 0, Holm-adjusted p < level), WORSE (<= 0), TIED or NONE (no test): the
    separability table's own rule (`alpha.evaluation.separability.verdict`), accuracy being
    higher-is-better."""
    from alpha.evaluation.separability import verdict

    need = {"metric", "diff", "p_holm"}
    if missing := sorted(need - set(holm.columns)):
        raise ValueError(f"plot_holm: {missing} missing; give holm_correct.py's output "
                         f"of tables_ext.sh's tables (diff_holm.csv)")
    rows = holm[holm["metric"] == metric]
    cells: dict[str, dict[tuple[str, float], tuple[float, float]]] = {}
    for r in rows.to_dict("records"):
        adaptive = r.get("adaptive")
        if isinstance(adaptive, str) and adaptive:  # summarise.py: adaptive − vs at temperature
            key, (m, t) = f"{adaptive} − method", (r["vs"], float(r["temperature"]))
        elif isinstance(r.get("method"), str):  # make_tables: method − greedy
            key, (m, t) = GREEDY, method_and_t(r["method"])
            if t is None:
                continue
        else:
            continue
        cells.setdefault(key, {})[(m, t)] = (float(r["diff"]), float(r["p_holm"]))
    if not cells:
        raise ValueError(f"plot_holm: no paired test of {metric!r} in the table; the metrics "
                         f"there: {sorted(set(holm['metric'].dropna()))}")
    out = {}
    for key in sorted(cells, key=lambda k: (k != GREEDY, k)):
        tested = cells[key]
        methods = list(dict.fromkeys(m for m, _ in tested))
        temps = sorted({t for _, t in tested})
        codes = [[NONE] * len(temps) for _ in methods]
        diffs: list[list[float | None]] = [[None] * len(temps) for _ in methods]
        for (m, t), (d, p) in tested.items():
            i, j = methods.index(m), temps.index(t)
            said = verdict({"holm_p": p, "diff": d, "higher_is_better": True}, level)
            codes[i][j] = TIED if said == "not separable" else \
                BETTER if said == "A better" else WORSE
            diffs[i][j] = 100 * d
        out[key] = (methods, temps, codes, diffs)
    return out


def plot(panels: dict, metric: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cmap = ListedColormap([COLORS[NONE], COLORS[WORSE], COLORS[TIED], COLORS[BETTER]])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for ax, (key, (methods, temps, codes, diffs)) in zip(axes.flat, panels.items(), strict=True):
        ax.imshow([[c + 1 for c in row] for row in codes], cmap=cmap, vmin=0, vmax=3)
        ax.set_xticks(range(len(temps)), [f"{t:g}" for t in temps], fontsize=8)
        ax.set_yticks(range(len(methods)), methods, fontsize=8)
        ax.set_xlabel("T", fontsize=8)
        ax.set_title(key, fontsize=9)
        for i, row in enumerate(diffs):
            for j, d in enumerate(row):
                if d is not None:
                    ax.text(j, i, f"{d:+.0f}" if round(d) else "0", ha="center", va="center", fontsize=7)
    fig.legend(handles=[Patch(color=COLORS[c], label=t) for c, t in
                        ((BETTER, "higher"), (WORSE, "lower"), (TIED, "not separable"))],
               loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"{metric}: paired differences (points) that survive Holm at 0.05 over "
                 f"the study's whole family", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--metric", default="gsm8k_strict")
    a = ap.parse_args(argv)
    try:
        panels = grids(pd.read_csv(a.csv), a.metric)
    except (ValueError, FileNotFoundError) as err:
        print(str(err).splitlines()[0], file=sys.stderr)
        return 2
    plot(panels, a.metric, a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
