"""The separability figure: for each metric, which method of every pair is better after Holm.

    python scripts/plot_separability.py experiments/leaderboard/results/holm.csv \
        --select confirmatory --out experiments/leaderboard/results/confirmatory_separability.png

Reads pair records (A, B, metric, diff, higher_is_better and a Holm-adjusted p: the study-wide
`p_holm` of scripts/holm_correct.py, else the table's own `holm_p`) and draws one grid per
metric: cell (row R, column C) is R's verdict against C: "better" or "worse" (by the metric's
direction) where the adjusted p < level, "not separable" otherwise, "no test" where none was
made; a metric without a better direction (perplexity: what matters is the distance to human
text's value) is coloured "higher" / "lower" instead and its title says so. Methods are ordered
by how many comparisons they win on the metrics that have a direction. With few methods each
cell also shows R - C. matplotlib (Agg) is imported inside the function.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

BETTER, WORSE, TIED, NONE = 2, 0, 1, -1  # cell codes
COLORS = {BETTER: "#2b7bba", TIED: "#e3e3e3", WORSE: "#d95f02", NONE: "#ffffff"}


def short_label(name: str) -> str:
    """`sampler.name=top_p` -> `top_p` (a label without a key stays as it is)."""
    return name.split("=", 1)[1] if "=" in name else name


def verdict_grid(pairs: pd.DataFrame, metric: str, methods: list[str], p_col: str,
                 level: float) -> list[list[int]]:
    """(M, M) cell codes of `metric`: row's verdict against the column, by the separability
    table's own rule (`alpha.evaluation.separability.verdict`) applied to `p_col`."""
    from alpha.evaluation.separability import verdict

    pos = {m: i for i, m in enumerate(methods)}
    grid = [[NONE] * len(methods) for _ in methods]
    for r in pairs[pairs["metric"] == metric].itertuples():
        p, higher = getattr(r, p_col), r.higher_is_better
        said = verdict({"holm_p": None if pd.isna(p) else p, "diff": r.diff,
                        "higher_is_better": None if pd.isna(higher) else bool(higher)}, level)
        if said == "no test":
            continue
        i, j = pos[r.A], pos[r.B]
        if said == "not separable":
            grid[i][j] = grid[j][i] = TIED
        else:  # "A better" / "A higher" / "B better" / "B higher"
            grid[i][j], grid[j][i] = (BETTER, WORSE) if said.startswith("A") else (WORSE, BETTER)
    return grid


def plot_separability(pairs: pd.DataFrame, out: Path, *, level: float = 0.05,
                      title: str = "") -> list[str]:
    """Draw the figure to `out`; returns the methods in the order drawn (most wins first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    p_col = "p_holm" if "p_holm" in pairs.columns else "holm_p"
    need = {"A", "B", "metric", "diff", "higher_is_better", p_col}
    if missing := sorted(need - set(pairs.columns)):
        raise ValueError(f"separability figure: the table lacks columns {missing}; give a "
                         f"separability table or holm_correct.py's output of one")
    metrics = list(dict.fromkeys(pairs["metric"]))
    methods = list(dict.fromkeys(list(pairs["A"]) + list(pairs["B"])))
    grids = {m: verdict_grid(pairs, m, methods, p_col, level) for m in metrics}
    directed = {m for m in metrics if pairs.loc[pairs["metric"] == m, "higher_is_better"]
                .notna().any()}
    wins = {name: sum(grids[m][i].count(BETTER) for m in directed)
            for i, name in enumerate(methods)}
    order = sorted(range(len(methods)), key=lambda i: -wins[methods[i]])
    names = [methods[i] for i in order]
    n = len(names)
    cmap = ListedColormap([COLORS[NONE], COLORS[WORSE], COLORS[TIED], COLORS[BETTER]])
    size = max(3.8, 0.24 * n + 1.2)
    cols = min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    # each row also holds its rotated method names under the grid (~0.05 in a character)
    label_room = 0.05 * max(len(short_label(x)) for x in methods)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, (size + label_room) * rows + 0.9),
                             squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.axis("off")
    for ax, metric in zip(axes.flat, metrics, strict=False):  # spare axes are off
        g = grids[metric]
        cells = [[g[i][j] for j in order] for i in order]
        ax.imshow([[c + 1 for c in row] for row in cells], cmap=cmap, vmin=0, vmax=3)
        ax.set_xticks(range(n), [short_label(x) for x in names], rotation=90, fontsize=7)
        ax.set_yticks(range(n), [short_label(x) for x in names], fontsize=7)
        ax.set_title(metric if metric in directed else
                     f"{metric}\n(no better direction: blue = row higher)", fontsize=9)
        if n <= 8:  # small grids: the difference row - column in each tested cell
            diffs = {(r.A, r.B): r.diff for r in pairs[pairs["metric"] == metric].itertuples()}
            for i, a in enumerate(names):
                for j, b in enumerate(names):
                    d = diffs.get((a, b), -diffs[(b, a)] if (b, a) in diffs else None)
                    if d is not None and cells[i][j] != NONE:
                        ax.text(j, i, f"{d:.2g}", ha="center", va="center", fontsize=6)
    fig.legend(handles=[Patch(color=COLORS[c], label=t) for c, t in
                        ((BETTER, "row better"), (WORSE, "row worse"),
                         (TIED, "not separable"))],
               loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(title or f"Which of each pair is better (Holm-adjusted p < {level})",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return names
