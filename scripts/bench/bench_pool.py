"""The adaptive sampler's candidate pool: chunked exact top-k vs `torch.topk`, in one process.

    python scripts/bench/bench_pool.py                      # B = 32, V = 151,936, k = 200 + 128
    python scripts/bench/bench_pool.py --batch 8 --vocab 49152
    python scripts/bench/bench_pool.py --device cuda --batch 64      # run by gpu_check.sh

Times `alpha.chunked_topk.topk_exact` against `torch.topk` on the same random logits (the k the
pool asks for: top_k_max + rep_window), and the whole `build_pool` against what it replaced (the
seen tokens masked in a copy of the logits, then `torch.topk`); checks the values are equal.
Timing: alpha/runner/timing.py (interleaved rounds, medians, ratios, machine load).
"""

from __future__ import annotations

import argparse

import alpha  # noqa: F401  first: the CPU thread policy

# isort: split
import torch

from alpha.chunked_topk import topk_exact
from alpha.runner import timing
from alpha.solvers import build_pool


def main(argv: list[str] | None = None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=151_936)
    ap.add_argument("--top-k-max", type=int, default=200)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda (the chunked top-k is unmeasured on a GPU so far)")
    args = ap.parse_args(argv)
    b, v, k, w = args.batch, args.vocab, args.top_k_max, args.window
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(b, v, generator=g) * 3).to(args.device)
    ids = torch.randint(0, v, (b, w), generator=g).to(args.device)
    seen = ids.sort(dim=1).values
    assert torch.equal(topk_exact(x, k + w)[0], torch.topk(x, k + w, dim=-1).values)

    def masked_copy():  # the pool's core before the chunked top-k
        return torch.topk(x.scatter(1, seen, float("-inf")), k, dim=-1)

    rows = timing.interleaved(
        {"torch.topk": lambda: torch.topk(x, k + w, dim=-1),
         "topk_exact": lambda: topk_exact(x, k + w),
         "masked copy + topk": masked_copy,
         "build_pool": lambda: build_pool(x, ids, input_mask=None, rep_window=w, top_k_max=k)},
        repeats=args.repeats, warmup=2, baseline="torch.topk",
        sync=torch.cuda.synchronize if args.device.startswith("cuda") else None)
    print(timing.report(rows, title=f"B={b}, V={v:,}, k={k}+{w}, {args.device}, "
                                    f"threads={torch.get_num_threads()}"))
    return rows


if __name__ == "__main__":
    main()
