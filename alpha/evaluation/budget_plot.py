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
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for method, c in curves.items():
        label = method + (f" ({c.dropped} failed)" if c.dropped else "")
        (line,) = ax.plot(c.n, c.expected, marker="o" if c.trials == 1 else None, ms=4,
                          label=label)
        if c.lo is not None:
            ax.fill_between(c.n, c.lo, c.hi, color=line.get_color(), alpha=0.15, lw=0)
    ax.set_xlabel("N (tuning trials drawn at random)")
    ax.set_ylabel(f"expected best {metric} of N")
    ax.set_title(title or f"Budget curves: expected best {metric} vs trials")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
