"""Time one full sampler step against Hugging Face's filtering chain, in the same process.

    python scripts/bench/bench_sampler.py                 # V = 151,936 (Qwen2.5), B = 1 and 32, CPU
    python scripts/bench/bench_sampler.py --device cuda --batch 1 32 128

One step of ours = alpha metrics (token + attention) + solver + filtering + draw.
The baseline = RepetitionPenalty -> Temperature -> TopK(50) -> TopP(0.9) -> softmax ->
multinomial on the same tensors (the chain `generate` runs; TopP sorts the whole vocabulary).
Prints median milliseconds and the ratio ours / HF (goal for the bisection solver: <= 0.5 at
B = 32). Random float32 logits and a random attention row; timings are medians of --repeat.
"""

from __future__ import annotations

import argparse

import alpha  # noqa: F401  first: it sets the CPU thread policy before torch loads (docs/threads.md)

# isort: split
import torch
from transformers import (
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from alpha import AdaptiveEntropixSampler, SamplerConfig
from alpha.runner import timing


def hf_step(chain, logits, ids, gen):
    scores = chain(ids, logits)
    return torch.multinomial(scores.softmax(-1), 1, generator=gen).squeeze(1)


def bench(batch: int, vocab: int, heads: int, seq: int, repeat: int, device: str,
          compile: bool = False) -> dict:
    g = torch.Generator(device=device).manual_seed(batch)
    logits = torch.randn(batch, vocab, generator=g, device=device) * 3
    ids = torch.randint(0, vocab, (batch, seq), generator=g, device=device)
    attn = torch.rand(batch, heads, seq, generator=g, device=device)
    attn = attn / attn.sum(-1, keepdim=True)
    mask = torch.ones(batch, seq, dtype=torch.bool, device=device)
    chain = LogitsProcessorList([RepetitionPenaltyLogitsProcessor(1.2),
                                 TemperatureLogitsWarper(0.7), TopKLogitsWarper(50),
                                 TopPLogitsWarper(0.9)])
    win = ids[:, -128:]
    fns = {"hf": lambda: hf_step(chain, logits, win, g)}
    for solver in ("bisection", "seed_adam") + (("compiled",) if compile else ()):
        sampler = AdaptiveEntropixSampler(SamplerConfig(solver=solver.replace("compiled",
                                                                              "bisection")),
                                          compile=solver == "compiled")
        sampler.reset(batch)
        fns[solver] = lambda s=sampler: s.sample(logits, ids, attention=attn, key_mask=mask,
                                                 generators=g)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    rows = timing.interleaved(fns, repeats=repeat, warmup=2, baseline="hf", sync=sync)
    return {r.name: r.median * 1e3 for r in rows}  # milliseconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--vocab", type=int, default=151_936)
    ap.add_argument("--heads", type=int, default=14)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true",
                    help="also time the compiled bisection step (compile=True; the one-off "
                         "compile happens in the warm-up)")
    args = ap.parse_args()
    print(f"device={args.device} V={args.vocab} H={args.heads} S={args.seq} "
          f"threads={torch.get_num_threads()} torch={torch.__version__} load={timing.load()}; "
          f"medians of {args.repeat} interleaved rounds")
    extra = " compiled ms | ratio |" if args.compile else ""
    print("| B | HF chain ms | bisection ms | ratio | seed_adam ms | ratio |" + extra)
    print("|---|---|---|---|---|---|" + ("---|---|" if args.compile else ""))
    for b in args.batch:
        r = bench(b, args.vocab, args.heads, args.seq, args.repeat, args.device, args.compile)
        row = (f"| {b} | {r['hf']:.2f} | {r['bisection']:.2f} | {r['bisection'] / r['hf']:.2f} | "
               f"{r['seed_adam']:.2f} | {r['seed_adam'] / r['hf']:.2f} |")
        if args.compile:
            row += f" {r['compiled']:.2f} | {r['compiled'] / r['hf']:.2f} |"
        print(row)


if __name__ == "__main__":
    main()
