"""Figure of budget curves: expected best-of-N vs N per method, with bootstrap bands.

matplotlib (Agg) is imported inside the function, so `alpha.evaluation` stays light.
"""

from __future__ import annotations

from pathlib import Path

from alpha.evaluation.budget import BudgetCurve


def plot_budget_curves(curves: dict[str, BudgetCurve], path: str | Path, *,
                       metric: str = "objective", title: str | None = None) -> Path:
    """Write one line per method (band = bootstrap 95%) to `path` (.png/.pdf/.svg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("no budget curves to plot; give at least one method's trials")
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    colors = plt.get_cmap("tab20" if len(curves) > 10 else "tab10").colors
    for k, (method, c) in enumerate(curves.items()):
        label = method + (f" ({c.dropped} failed)" if c.dropped else "")
        color, style = colors[k % len(colors)], ("-", "--", ":")[k // len(colors) % 3]
        ax.plot(c.n, c.expected, style, color=color, marker="o" if c.trials == 1 else None,
                ms=4, label=label)
        if c.lo is not None:
            ax.fill_between(c.n, c.lo, c.hi, color=color, alpha=0.12, lw=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("N (tuning trials drawn at random)")
    ax.set_ylabel(f"expected best {metric} of N")
    ax.set_title(title or f"Budget curves: expected best {metric} vs trials")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
