"""Static vs dynamic KV cache in the engine's decode loop, in one process (issue 26's CPU proxy).

    python scripts/bench/bench_static_cache.py                        # smollm2-135m, batch 8, 64 tokens
    python scripts/bench/bench_static_cache.py --batch 8 --new-tokens 128 --sampler alpha

Times `alpha.generate(..., cache_implementation=...)` on the same prompts (held-out passages,
dataset=heldout), every row decoding `--new-tokens` (EOS ignored), greedy by default so the two
give the same tokens up to float near-ties (rows with equal tokens and where the first
difference is are printed). Timing: alpha/runner/timing.py (warm-up,
interleaved rounds, medians, ratio to the dynamic cache from the same rounds, machine load).
Also prints the share of the dynamic path's time in `aten::cat` (DynamicCache grows by
concatenation; a static cache writes in place) from one profiled run.
"""

from __future__ import annotations

import argparse

import alpha  # noqa: F401  first: the CPU thread policy

# isort: split
import torch

from alpha.data.records import load_records
from alpha.data.sources import get_source
from alpha.fetch import model_path
from alpha.generation import generate
from alpha.models import load_model_and_tokenizer
from alpha.registry import build_sampler
from alpha.runner import timing


def cat_share(fn) -> float:
    """Share of self CPU time spent in aten::cat during one call of `fn`."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    rows = prof.key_averages()
    total = sum(r.self_cpu_time_total for r in rows)
    return sum(r.self_cpu_time_total for r in rows if r.key == "aten::cat") / max(total, 1)


def main(argv: list[str] | None = None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m", help="catalogue name of a cached model")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--sampler", default="greedy")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compile", action="store_true",
                    help="also the static cache with the decode forward torch.compile'd "
                         "(compile_decode; inductor, compiled once before timing)")
    args = ap.parse_args(argv)
    model, tok = load_model_and_tokenizer(str(model_path(get_source(args.model))), device="cpu",
                                          dtype="float32")
    prompts = _prompts(args.batch)
    outs = {}

    def run(impl, compiled=False):
        def fn():
            key = impl + (" + compiled decode" if compiled else "")
            outs[key] = generate(model, tok, prompts, sampler=build_sampler(args.sampler),
                                 max_new_tokens=args.new_tokens, seed=0, ignore_eos=True,
                                 cache_implementation=impl, prefix_cache=False,
                                 compile_decode=compiled)
            return outs[key]
        return fn

    fns = {"dynamic": run("dynamic"), "static": run("static")}
    if args.compile:
        import time

        t0 = time.perf_counter()
        run("static", True)()  # the one compilation, outside the timed rounds
        print(f"compile_decode: first call (compiles) {time.perf_counter() - t0:.1f} s")
        fns["static + compiled decode"] = run("static", True)
    before = timing.load()
    rows = timing.interleaved(fns, repeats=args.repeats, warmup=1, baseline="dynamic")
    n_tok = args.batch * args.new_tokens
    for r in rows:
        r.extra["tokens/s"] = f"{n_tok / r.median:.1f}"
    pairs = zip(outs["dynamic"].token_ids, outs["static"].token_ids, strict=True)
    firsts = [next((t for t, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), None)
              for a, b in pairs]
    same = f"{sum(f is None for f in firsts)}/{len(firsts)} rows; first difference at step " \
           f"{[f for f in firsts if f is not None]} (float near-ties: SDPA over the static " \
           f"buffer's longer masked key range rounds differently)"
    print(timing.report(rows, title=f"{args.model}, batch {args.batch}, {args.new_tokens} new "
                                    f"tokens, {args.sampler}, {torch.get_num_threads()} "
                                    f"thread(s)", before=before, columns=("tokens/s",)))
    print(f"same tokens: {same}\naten::cat share of the dynamic path's CPU time: "
          f"{cat_share(run('dynamic')):.1%}; of the static path's: {cat_share(run('static')):.1%}")
    return rows


def _prompts(n: int) -> list[str]:
    """The first n prompts of the embedded default (dataset=heldout: held-out passages)."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    ds = yaml.safe_load((root / "conf" / "dataset" / "heldout.yaml").read_text())
    return [r["prompt"] for r in load_records(ds, num_prompts=n)]


if __name__ == "__main__":
    main()
