"""What alpha loses without its attention terms: paired per-prompt comparison of run folders.

    python scripts/bench/logits_only_gap.py BASE_RUN OTHER_RUN [OTHER_RUN ...]

Each folder is a finished `python run.py` run (generations.jsonl with traces and per-prompt
metrics). Runs are paired by prompt index: same prompts, same seeds (generators come from
(seed, prompt index)), so a difference is the sampler's, not the draw's. For each quantity it
prints the base mean, the other run's mean, the paired mean difference (other - base) with a
percentile-bootstrap 95% interval over prompts, and how many prompts went down / up.
Then, on the base run's own contexts (teacher-forced, from its traces): how well a logits-only
target (token terms + the attention terms' mean as a constant; or token terms with target_scale
raised to match the mean) tracks the base run's target entropy, step by step.
Used for docs/scaling.md ("A logits-only alpha for vLLM").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

TRACE = ["alpha_mean", "temperature", "top_p", "top_k", "final_entropy", "h_attn", "vh_attn"]
METRICS = ["perplexity", "rep_2", "rep_4", "distinct_2", "diversity", "coherence", "mean_length"]


def load(run: str) -> dict[int, dict]:
    rows = [json.loads(x) for x in (Path(run) / "generations.jsonl").read_text().splitlines() if x]
    return {int(r["index"]): r for r in rows}


def per_prompt(row: dict, name: str) -> float:
    """One number per prompt: the trace's mean over steps, or the per-prompt metric."""
    if name in TRACE:
        v = row["trace"].get(name) or []
        return float(np.mean(v)) if v else float("nan")
    v = row["metrics"].get(name)
    return float("nan") if v is None else float(v)


def first_divergence(a: dict, b: dict) -> int:
    """Generated tokens the two runs share before they first differ."""
    n = 0
    for x, y in zip(a["token_ids"], b["token_ids"], strict=False):
        if x != y:
            break
        n += 1
    return n


def paired(a: np.ndarray, b: np.ndarray, boot: int, seed: int = 0):
    keep = np.isfinite(a) & np.isfinite(b)
    d = b[keep] - a[keep]
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(boot, len(d)))].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return a[keep].mean(), b[keep].mean(), d.mean(), lo, hi, int((d < 0).sum()), int((d > 0).sum())


def moving_mean(x: np.ndarray, w: int) -> np.ndarray:
    """alpha's moving average as the sampler keeps it: the mean of the last min(t + 1, w) steps."""
    c = np.cumsum(np.insert(x, 0, 0.0))
    t = np.arange(1, len(x) + 1)
    lo = np.maximum(0, t - w)
    return (c[t] - c[lo]) / (t - lo)


def teacher_forced(base: dict[int, dict], w: tuple, scale: float, window: int) -> None:
    """Target entropy of full alpha vs two logits-only targets on the same steps (base traces)."""
    tok = [w[0] * np.array(r["trace"]["h_tok"]) + w[1] * np.array(r["trace"]["vh_tok"])
           for r in base.values()]
    att = [w[2] * np.array(r["trace"]["h_attn"]) + w[3] * np.array(r["trace"]["vh_attn"])
           for r in base.values()]
    c = float(np.concatenate(att).mean())
    full = np.concatenate([scale * moving_mean(t + a, window) for t, a in zip(tok, att, strict=True)])
    ratio = float(np.concatenate([t + a for t, a in zip(tok, att, strict=True)]).mean()
                  / np.concatenate(tok).mean())
    print(f"\nteacher-forced on {len(full)} steps of the base run: full target mean {full.mean():.4g}, "
          f"std {full.std():.4g}; attention part mean {c:.4g} (constant for 'offset')")
    for name, other in (("offset", [scale * moving_mean(t + c, window) for t in tok]),
                        (f"scale x{ratio:.3g}", [scale * ratio * moving_mean(t, window) for t in tok])):
        e = np.concatenate(other) - full
        print(f"  {name:<12} RMSE {np.sqrt((e ** 2).mean()):.4g}  bias {e.mean():+.3g}  "
              f"R2 {1 - e.var() / full.var():.3f}  corr {np.corrcoef(np.concatenate(other), full)[0, 1]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("others", nargs="+")
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--weights", type=float, nargs=4, default=(0.4, 0.2, 0.3, 0.1),
                    help="the base run's alpha weights (token H, token VH, attention H, VH)")
    ap.add_argument("--target-scale", type=float, default=0.5, help="the base run's target_scale")
    ap.add_argument("--window", type=int, default=5, help="the base run's alpha_window_size")
    args = ap.parse_args()
    base = load(args.base)
    teacher_forced(base, tuple(args.weights), args.target_scale, args.window)
    for other_run in args.others:
        other = load(other_run)
        idx = sorted(set(base) & set(other))
        print(f"\n{other_run} vs {args.base}: {len(idx)} paired prompts")
        print(f"{'quantity':<14}{'base':>10}{'other':>10}{'diff':>10}{'95% CI':>22}{'down/up':>10}")
        for name in TRACE + METRICS:
            a = np.array([per_prompt(base[i], name) for i in idx])
            b = np.array([per_prompt(other[i], name) for i in idx])
            if not (np.isfinite(a) & np.isfinite(b)).any():
                continue
            ma, mb, d, lo, hi, down, up = paired(a, b, args.boot)
            print(f"{name:<14}{ma:>10.4g}{mb:>10.4g}{d:>+10.3g}   [{lo:+.3g}, {hi:+.3g}]"
                  f"{down:>6}/{up}")
        shared = [first_divergence(base[i], other[i]) for i in idx]
        same = sum(base[i]["token_ids"] == other[i]["token_ids"] for i in idx)
        print(f"identical generations: {same}/{len(idx)}; tokens before the first difference: "
              f"median {np.median(shared):.0f}, mean {np.mean(shared):.1f}")
        for i in idx[:1]:
            print(f"first steps' temperature, prompt {i}: base "
                  f"{[round(t, 3) for t in base[i]['trace']['temperature'][:6]]} other "
                  f"{[round(t, 3) for t in other[i]['trace']['temperature'][:6]]}")


if __name__ == "__main__":
    main()
