"""One sampler step of any registered samplers against top-p's, in one process.

    python scripts/bench/bench_sampler_steps.py                       # B=32, V=151,936 (Qwen's vocabulary)
    python scripts/bench/bench_sampler_steps.py --samplers top_p,min_p,top_n_sigma --batch 8 --vocab 49152

Each sampler is built with its registry defaults and stepped on the same random float32 logits
(scaled so the distributions are peaked, as an LM's are) with one generator per row, as the
engine calls it. Timing: alpha/runner/timing.py (warm-up, rotating interleaved rounds, medians,
the ratio to `--baseline` from the same rounds, the machine's load). The leaderboard issue's
goal: every new sampler <= 1.5x top-p's step; issue 27's for the gated sampler: <= 1.2x top-p's
when it samples (gate open on every row) and <= 0.5x when it is greedy (shut on every row).
"""

from __future__ import annotations

import argparse

import alpha  # noqa: F401  first: the CPU thread policy

# isort: split
import torch

from alpha import build_sampler
from alpha.runner import timing

NEW = "top_n_sigma,p_less,top_h,quadratic,xtc,mirostat_v2,adaptive_p,dry,gated"


def main(argv: list[str] | None = None) -> list:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samplers", default=f"top_p,min_p,{NEW}")
    ap.add_argument("--baseline", default="top_p")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=151_936)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--history", type=int, default=256, help="tokens of context per row (DRY reads them)")
    args = ap.parse_args(argv)
    names = args.samplers.split(",")
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(args.batch, args.vocab, generator=g) * 3.0
    motif = torch.randint(0, args.vocab, (8,), generator=g)  # a repeated motif: DRY has work
    ids = torch.randint(0, args.vocab, (args.batch, args.history), generator=g)
    ids[:, -64:] = motif.repeat(8)
    gens = [torch.Generator().manual_seed(i) for i in range(args.batch)]

    def step(sampler):
        return lambda: sampler.step(logits, ids, generators=gens)

    before = timing.load()
    extra = {"dry": {"sequence_breakers": []}}  # no tokenizer here: DRY without breakers
    fns = {n: step(build_sampler(n, **extra.get(n, {}))) for n in names}
    if "gated" in names:  # the gate open on every row, then shut on every row
        fns["gated"] = step(build_sampler("gated", threshold=0.0, inner="top_p"))
        fns["gated (all greedy)"] = step(build_sampler("gated", threshold=1e9, inner="top_p"))
    rows = timing.interleaved(fns,
                              repeats=args.repeats,
                              warmup=2, baseline=args.baseline)
    for r in rows:
        r.extra["ms"] = f"{r.median * 1e3:.2f}"
        r.extra["kept (mean)"] = f"{r.result.trace['candidate_size'].mean():.1f}"
    print(timing.report(rows, title=f"one step, B={args.batch}, V={args.vocab:,}, "
                                    f"{torch.get_num_threads()} thread(s)", before=before,
                        columns=("ms", "kept (mean)")))
    return rows


if __name__ == "__main__":
    main()
