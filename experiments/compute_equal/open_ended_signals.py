"""Study 4's signal question on open-ended text: does any trace feature predict the continuations
that lose coherence with their prefix? (issue 27, item 3; from committed raw runs only)

    python experiments/compute_equal/open_ended_signals.py experiments/compute_equal/open_ended/runs \
        --out experiments/compute_equal/open_ended/results

The runs (made by the command in open_ended/README.md: Study 1's tuned top-p and adaptive-sampler
winners on its 128 OpenWebText test passages, SmolLM2-135M, with `record_signals: true`) hold
per-token uncertainty traces and each continuation's coherence. Per run and feature (mean / max /
last-16 mean of token entropy, varentropy, attention entropy, attention varentropy, alpha; and
length as a control): Spearman's rho with coherence and the AUROC for a low-coherence
continuation (the run's bottom quartile), each with a bootstrap CI over passages; then the AUROC
gain of adding the attention features to logit-only ones (held-out logistic scores; also on top
of length), Holm-corrected over the gain rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from alpha.evaluation import signals as S
from alpha.evaluation.separability import holm
from alpha.runner.runs import read_rows

VOCAB = 49_152  # SmolLM2-135M's logits width
BOOT = 1000


def rho_ci(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, list[float]]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(BOOT, len(x)))
    boots = [spearmanr(x[i], y[i]).statistic for i in idx]
    return float(spearmanr(x, y).statistic), [float(v) for v in np.nanpercentile(boots, [2.5, 97.5])]


def analyse(runs_dir: Path) -> tuple[list[dict], list[dict]]:
    feats_rows, gains = [], []
    for run in sorted(p for p in runs_dir.iterdir() if (p / "generations.jsonl.xz").exists()):
        rows = [r for r in read_rows(run) if "u_attn_entropy" in r.get("trace", {})
                and (r.get("metrics") or {}).get("coherence") is not None]
        feats = [{**S.trace_features(r["trace"], vocab_size=VOCAB),
                  "length": float(r["num_tokens"])} for r in rows]
        coh = np.array([r["metrics"]["coherence"] for r in rows])
        low = (coh <= np.quantile(coh, 0.25)).astype(int)
        names = S.feature_names(S.SIGNALS) + ["length"]
        for f in names:
            x = np.array([d[f] for d in feats])
            rho, rci = rho_ci(x, coh)
            auc, aci = S.auroc_ci(x, low, samples=BOOT)
            feats_rows.append({"run": run.name, "feature": f, "rho": rho, "rho_ci95": rci,
                               "auroc_low": auc, "auroc_ci95": aci, "n": len(rows)})
        logit = S.feature_names(S.LOGIT_SIGNALS)
        attn = S.feature_names(("u_attn_entropy", "u_attn_varentropy"))
        for label, base_f in (("logit", logit), ("logit + length", logit + ["length"])):
            base = np.array([[d[f] for f in base_f] for d in feats])
            full = np.array([[d[f] for f in base_f + attn] for d in feats])
            gains.append({"run": run.name, "base_features": label,
                          **S.auroc_gain(base, full, low, samples=BOOT)})
    for g, p in zip(gains, holm([g["p"] for g in gains]), strict=True):
        g["p_holm"] = p
    return feats_rows, gains


def _ci(ci) -> str:
    return "" if not ci else f" [{ci[0]:.3f}, {ci[1]:.3f}]"


def write(feats_rows: list[dict], gains: list[dict], out: Path) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(feats_rows).to_csv(out / "signals.csv", index=False)
    pd.DataFrame(gains).to_csv(out / "signals_gain.csv", index=False)
    lines = ["# Open-ended: trace features against coherence (128 OWT test passages a run)", "",
             "| run | feature | Spearman rho with coherence | AUROC for a bottom-quartile continuation |",
             "|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['feature']} | {r['rho']:.3f}{_ci(r['rho_ci95'])} | "
              f"{r['auroc_low']:.3f}{_ci(r['auroc_ci95'])} |" for r in feats_rows]
    lines += ["", "## Adding the attention features (held-out logistic scores, Holm over rows)", "",
              "| run | base features | AUROC base | AUROC + attention | gain | p (Holm) |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {g['run']} | {g['base_features']} | {g['auroc_base']:.3f} | "
              f"{g['auroc_full']:.3f} | {g['gain']:+.3f}{_ci(g['ci95'])} | {g['p_holm']:.3g} |"
              for g in gains]
    (out / "signals.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    feats_rows, gains = analyse(a.runs)
    write(feats_rows, gains, a.out)
    print((a.out / "signals.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
