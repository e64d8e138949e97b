"""float32 vs bfloat16 weights on CPU through `alpha.generate`, in one process.

    python scripts/bench/bench_dtype.py                               # smollm2-135m, batch 64
    python scripts/bench/bench_dtype.py --model qwen2.5-coder-0.5b --batch 16 --new-tokens 32

The same prompts (the embedded default's held-out passages, repeated to fill the batch) decode
`--new-tokens` each (EOS ignored) with the model loaded as float32 (run.py's `dtype=auto` on CPU)
and as bfloat16 (`dtype=bfloat16`); tokens/s and the ratio to float32 from interleaved rounds
(alpha/runner/timing.py). On CPUs with AMX or AVX512-BF16 the bfloat16 matmuls run on those
units; elsewhere bfloat16 can be slower. The tokens differ (other weights, other logits):
printed is how many rows agree and where the first difference falls, so a study never mixes
the two within one comparison.
"""

from __future__ import annotations

import argparse

import alpha  # noqa: F401  first: the CPU thread policy

# isort: split
import torch
from bench_static_cache import _prompts  # scripts/bench/ is on the path of `python scripts/...`

from alpha.data.sources import get_source
from alpha.fetch import model_path
from alpha.generation import generate
from alpha.models import load_model_and_tokenizer
from alpha.registry import build_sampler
from alpha.runner import timing


def cpu_bf16_units() -> list[str]:
    """The CPU flags that run bfloat16 matmuls natively (Linux /proc/cpuinfo; [] elsewhere)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return [f for f in ("amx_bf16", "avx512_bf16") if f in flags]


def main(argv: list[str] | None = None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m", help="catalogue name of a cached model")
    ap.add_argument("--model-path", default=None, help="a local model folder instead")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--sampler", default="top_p")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    folder = args.model_path or str(model_path(get_source(args.model)))
    models = {dt: load_model_and_tokenizer(folder, device="cpu", dtype=dt)
              for dt in ("float32", "bfloat16")}
    base = _prompts(min(args.batch, 8))
    prompts = [base[i % len(base)] for i in range(args.batch)]
    outs = {}

    def run(dt):
        def fn():
            model, tok = models[dt]
            outs[dt] = generate(model, tok, prompts, sampler=build_sampler(args.sampler),
                                max_new_tokens=args.new_tokens, seed=0, ignore_eos=True)
            return outs[dt]
        return fn

    before = timing.load()
    rows = timing.interleaved({dt: run(dt) for dt in models}, repeats=args.repeats, warmup=1,
                              baseline="float32")
    for r in rows:
        r.extra["tokens/s"] = f"{args.batch * args.new_tokens / r.median:.1f}"
    print(timing.report(rows, title=f"{args.model_path or args.model}, batch {args.batch}, "
                                    f"{args.new_tokens} new tokens, {args.sampler}, "
                                    f"{torch.get_num_threads()} thread(s), CPU bf16 units: "
                                    f"{cpu_bf16_units() or 'none'}",
                        before=before, columns=("tokens/s",)))
    pairs = zip(outs["float32"].token_ids, outs["bfloat16"].token_ids, strict=True)
    firsts = [next((t for t, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
              for a, b in pairs]
    print(f"same tokens: {sum(f is None for f in firsts)}/{len(firsts)} rows; first difference "
          f"at steps {sorted(f for f in firsts if f is not None)}")
    return rows


if __name__ == "__main__":
    main()
