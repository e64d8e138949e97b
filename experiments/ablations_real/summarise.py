"""One table of Study 3: every ablation row's paired difference to its default, with 95% CIs.

Reads experiments/ablations_real/<ablation>_diff.csv (written by run.sh via make_tables.py) and
writes summary.md/.csv beside them (a CI that excludes 0 is marked *) and summary.png (the
coherence and perplexity differences with their CIs, one row per grid point).
    python experiments/ablations_real/summarise.py
"""
import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["window_size", "bounds", "alpha_weights", "solver", "target_scale", "attention_source"]
METRICS = ["coherence", "perplexity", "rep_4", "diversity", "self_bleu"]


def cell(row: dict) -> str:
    d, lo, hi = (float(row[k]) for k in ("diff", "ci_lo", "ci_hi"))
    mark = "*" if lo > 0 or hi < 0 else ""
    return f"{d:+.3g} [{lo:+.3g}, {hi:+.3g}]{mark}"


def main() -> None:
    rows = []
    for name in ORDER:
        path = HERE / f"{name}_diff.csv"
        if not path.is_file():
            continue
        by_method: dict[str, dict] = {}
        for r in csv.DictReader(path.open()):
            by_method.setdefault(r["method"], {"ablation": name, "row": r["method"],
                                               "reference": r["reference"]})[r["metric"]] = r
        rows += by_method.values()
    head = ["ablation", "row (vs its default)", *[f"Δ {m} [95% CI]" for m in METRICS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out = []
    for r in rows:
        cells = [cell(r[m]) if m in r else "-" for m in METRICS]
        lines.append("| " + " | ".join([r["ablation"], r["row"], *cells]) + " |")
        out.append(dict(zip(head, [r["ablation"], r["row"], *cells], strict=True)))
    note = ("\nΔ = row − the ablation's default row, paired over the same 128 prompts (seed 0); "
            "95% paired bootstrap CI; * = the CI excludes 0 (uncorrected for the ~20 rows x 5 "
            "metrics compared). Better: coherence ↑, rep_4 ↓, diversity ↑, self_bleu ↓; "
            "perplexity (under the generator) has no better direction.\n")
    (HERE / "summary.md").write_text("\n".join(lines) + "\n" + note)
    with open(HERE / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=head)
        w.writeheader()
        w.writerows(out)
    plot(rows)
    print("\n".join(lines))


def plot(rows: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['ablation']}: " + r['row'].replace('sampler.', '').replace('ablation.', '') for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * len(rows) + 1.5), sharey=True)
    for ax, metric in zip(axes, ["coherence", "perplexity"], strict=True):
        for y, r in enumerate(rows):
            d, lo, hi = (float(r[metric][k]) for k in ("diff", "ci_lo", "ci_hi"))
            color = "C3" if lo > 0 or hi < 0 else "C0"
            ax.errorbar(d, y, xerr=[[d - lo], [hi - d]], fmt="o", color=color, capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(f"Δ {metric} vs the ablation's default (95% CI)")
    axes[0].set_yticks(range(len(rows)), labels, fontsize=7)
    axes[0].invert_yaxis()
    fig.suptitle("Study 3: SmolLM2-135M, 128 OWT prompts x 96 tokens, seed 0 (red: CI excludes 0)")
    fig.tight_layout()
    fig.savefig(HERE / "summary.png", dpi=110)


if __name__ == "__main__":
    main()
