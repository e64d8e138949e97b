"""Where the compiled adaptive step's time goes: torch.profiler over a few compiled steps.

    python scripts/bench/profile_compiled_step.py                 # B = 32, V = 151,936 (Qwen2.5)
    python scripts/bench/profile_compiled_step.py --batch 8 --vocab 49152 --steps 10

Compiles `AdaptiveEntropixSampler(compile=True)` (inductor, with kernel profiling so each fused
kernel shows by name), warms it up, profiles `--steps` steps on random logits and attention, and
prints the ops and kernels by self CPU time, per step. docs/performance.md quotes its output.
"""

from __future__ import annotations

import argparse

import alpha  # noqa: F401  first: the CPU thread policy

# isort: split
import torch
import torch._inductor.config as inductor_config
from torch.profiler import ProfilerActivity, profile

from alpha import AdaptiveEntropixSampler, SamplerConfig


def main(argv: list[str] | None = None) -> list[tuple[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=151_936)
    ap.add_argument("--heads", type=int, default=14)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--backend", default="inductor")
    args = ap.parse_args(argv)
    inductor_config.cpp.enable_kernel_profile = True
    b, v = args.batch, args.vocab
    g = torch.Generator().manual_seed(b)
    logits = torch.randn(b, v, generator=g) * 3
    ids = torch.randint(0, v, (b, args.seq), generator=g)
    attn = torch.rand(b, args.heads, args.seq, generator=g)
    attn = attn / attn.sum(-1, keepdim=True)
    mask = torch.ones(b, args.seq, dtype=torch.bool)
    sampler = AdaptiveEntropixSampler(SamplerConfig(), compile=False)
    sampler.enable_compile(args.backend)
    sampler.reset(b)

    def step():
        sampler.sample(logits, ids, attention=attn, key_mask=mask, generators=g)

    for _ in range(3):  # compile, then settle
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    rows = sorted(((e.key, e.self_cpu_time_total / 1e3 / args.steps) for e in prof.key_averages()
                   if not e.key.startswith(("## Call", "Torch-Compiled", "TorchDynamo"))),
                  key=lambda r: -r[1])
    total = sum(ms for _, ms in rows)
    print(f"B={b} V={v:,} threads={torch.get_num_threads()}: {total:.1f} ms self time a step")
    print("| op or fused kernel | ms a step | share |\n|---|---|---|")
    for name, ms in rows[:args.top]:
        print(f"| {name[:90]} | {ms:.2f} | {ms / total:.0%} |")
    return rows


if __name__ == "__main__":
    main()
