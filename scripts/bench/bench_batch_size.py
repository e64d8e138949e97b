"""Tokens/s of `alpha.generate` at several batch sizes, same prompts, same process (alternating).

    python scripts/bench/bench_batch_size.py --model qwen2.5-coder-0.5b --batches 16,32 --prompts 32
    python scripts/bench/bench_batch_size.py --model-path models/tiny-shakespeare --prompts-json P.json

Prompts are Study 2's (dataset=multiarith, 8-shot chain of thought: a ~740-token shared prefix,
prefilled once per batch with `prefix_cache`), or a JSON list. Every row decodes `--new-tokens`
(`ignore_eos`), so each batch size generates the same number of tokens; the ratio to the first
batch size is the speed-up from batching alone (> 1: faster). Finished rows leave the batch in
real runs, so a study's runs see a somewhat smaller gain.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import alpha  # noqa: F401  first: it sets the CPU thread policy before torch loads (docs/threads.md)

# isort: split
import torch

# isort: split
from bench_prefix_cache import (  # scripts/bench/ is on the path of `python scripts/bench/...`
    load,
    prompts,
)

from alpha import build_sampler
from alpha.generation import generate
from alpha.runner import timing


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="catalogue name of a cached model")
    ap.add_argument("--model-path", help="a save_pretrained folder instead of --model")
    ap.add_argument("--prompts-json", help="a JSON list of prompts instead of dataset=multiarith")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--batches", default="16,32", help="comma-separated batch sizes")
    ap.add_argument("--new-tokens", type=int, default=24)
    ap.add_argument("--sampler", default="alpha")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.device, args.dtype, args.random_weights = "cpu", "float32", False

    model, tok = load(args)
    texts = (json.loads(Path(args.prompts_json).read_text())[:args.prompts] if args.prompts_json
             else prompts(args.prompts))
    sizes = [int(b) for b in args.batches.split(",")]
    before = timing.load()

    def run(b):
        return lambda: generate(model, tok, texts, sampler=build_sampler(args.sampler), seed=0,
                                max_new_tokens=args.new_tokens, batch_size=b, ignore_eos=True)

    rows = timing.interleaved({str(b): run(b) for b in sizes}, repeats=args.repeats, warmup=1,
                              baseline=str(sizes[0]))
    n_tokens = sum(len(ids) for ids in rows[0].result.token_ids)
    print(f"{args.model_path or args.model}: {len(texts)} prompts x {args.new_tokens} new tokens, "
          f"sampler {args.sampler}, {args.threads} thread(s), median of {args.repeats}")
    report = {}
    for b, row in zip(sizes, rows, strict=True):
        row.extra["tokens/s"] = f"{n_tokens / row.median:.2f}"
        report[b] = {"seconds": row.median, "tokens_per_s": n_tokens / row.median,
                     "ratio": 1 / row.ratio}
    print(timing.report(rows, title=f"batch size (baseline: batch {sizes[0]})", before=before,
                        columns=("tokens/s",)))
    return report


if __name__ == "__main__":
    main()
