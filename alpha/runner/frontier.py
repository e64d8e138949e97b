"""Quality-diversity frontiers from every run of a study, not just its winners (issue 25).

    python scripts/make_tables.py multirun/tune/leaderboard/runs/dev --by sampler.name \
        --frontier diversity,coherence --out experiments/leaderboard/results/dev

Each run (a tuning trial, a seed) is one point (x, y) = its two metric means; a group's frontier
is its Pareto set under both metrics' own directions (a point no other point of the group beats
on both). One operating point per method hides the trade-off; the frontier shows what each
method can reach. Where the runs were scored by `scripts/score_human.py`, human text's (x, y) is
drawn too. Writes OUT_frontier.png and OUT_frontier.csv (every point; `on_frontier`: on its
method's frontier, `on_study_frontier`: no run of any method beats it on both).
"""

from __future__ import annotations

import math
from pathlib import Path


def pareto(points: list[tuple[float, float]], higher: tuple[bool, bool]) -> list[bool]:
    """Which points no other point dominates (at least as good on both, better on one)."""
    sign = [1.0 if h else -1.0 for h in higher]
    s = [(sign[0] * x, sign[1] * y) for x, y in points]
    return [not any(o[0] >= p[0] and o[1] >= p[1] and o != p for o in s) for p in s]


def frontier_points(groups: dict, x: str, y: str, higher: tuple[bool, bool]) -> list[dict]:
    """One record per usable run: group, source, x, y, on_frontier (within its group) and
    on_study_frontier (no run of any group beats it on both)."""
    out = []
    for label, runs in groups.items():
        pts = [(r, r.metrics.get(x), r.metrics.get(y)) for r in runs]
        pts = [(r, a, b) for r, a, b in pts if isinstance(a, (int, float))
               and isinstance(b, (int, float)) and math.isfinite(a) and math.isfinite(b)]
        front = pareto([(a, b) for _, a, b in pts], higher)
        out += [{"group": label, "source": r.source, x: a, y: b, "on_frontier": f}
                for (r, a, b), f in zip(pts, front, strict=True)]
    for rec, f in zip(out, pareto([(r[x], r[y]) for r in out], higher), strict=True):
        rec["on_study_frontier"] = f
    return out


def directions(runs, x: str, y: str) -> tuple[bool, bool]:
    """Each metric's better direction, as the runs' metrics.json record it."""
    found = {}
    for r in runs:
        for m in (x, y):
            if r.higher.get(m) is not None:
                found.setdefault(m, r.higher[m])
    missing = [m for m in (x, y) if m not in found]
    if missing:
        raise ValueError(f"--frontier: {missing} has no direction (or no run has it); pick "
                         f"metrics with a better direction, e.g. diversity,coherence")
    return found[x], found[y]


def plot_frontier(records: list[dict], x: str, y: str, out: Path,
                  human: dict[str, float] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r["group"] for r in records))
    colors = plt.get_cmap("tab20" if len(labels) > 10 else "tab10").colors
    fig, ax = plt.subplots(figsize=(8.5 if len(labels) > 10 else 7.5, 5))
    for k, label in enumerate(labels):  # beyond 20 groups: colours repeat with another line
        color, style = colors[k % len(colors)], ("-", "--", ":")[k // len(colors) % 3]
        pts = [r for r in records if r["group"] == label]
        ax.scatter([p[x] for p in pts], [p[y] for p in pts], s=14, alpha=0.45, color=color)
        front = sorted((p for p in pts if p["on_frontier"]), key=lambda p: p[x])
        ax.plot([p[x] for p in front], [p[y] for p in front], style, lw=1.4, color=color,
                label=label.split("=", 1)[-1])
    if human and x in human and y in human:
        ax.scatter([human[x]], [human[y]], marker="*", s=180, color="k", label="human text")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=7, ncol=1 + len(labels) // 14, loc="center left",
              bbox_to_anchor=(1.01, 0.5), frameon=False)  # outside: the points stay visible
    ax.set_title("every run a dot; each method's Pareto frontier a line")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
