"""Shared-prefix prefill on vs off, in the same process: MultiArith 8-shot prompts (Study 2).

    python scripts/bench/bench_prefix_cache.py                                 # smollm2-135m, 16 x 32
    python scripts/bench/bench_prefix_cache.py --model qwen2.5-coder-0.5b --prompts 16 --new-tokens 32

Every prompt is lm-eval gsm8k_cot's 8 exemplars + one question (dataset=multiarith, split test),
so a batch shares ~740 tokens. Times `alpha.generate` with `prefix_cache=True` and `False` on
the same prompts: "prefill" is `max_new_tokens=1` (prefill + one sampler step), "generate" is
`--new-tokens` with `ignore_eos` (every row decodes all of them). Runs alternate on/off per
repeat; medians are printed with the ratio off / on (> 1: the shared prefix is faster), and
how many rows' token ids differ between the two (float rounding only; 0 expected).
Models are catalogue names (`python -m alpha.fetch --list`), loaded from the local cache, or a
`--model-path` folder; `--random-weights` builds the model from that folder's config.json with
random weights (timing on a machine without the weights, e.g. a GPU box: the token-id check
then only compares the two layouts on a random model).

    python scripts/bench/bench_prefix_cache.py --model-path DIR --random-weights --device cuda \
        --dtype bfloat16 --prompts-json prompts.json --threads 4 --warmup 1 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import alpha  # noqa: F401  first: it sets the CPU thread policy before torch loads (docs/threads.md)

# isort: split
import torch
import yaml

from alpha.generation import encode_prompts, generate
from alpha.models import load_model_and_tokenizer
from alpha.registry import build_sampler
from alpha.runner import timing
from alpha.shared_prefix import shared_prefix_length

ROOT = Path(__file__).resolve().parents[2]


def prompts(n: int) -> list[str]:
    """The first n test-split prompts of dataset=multiarith (8-shot chain of thought)."""
    from alpha.data.records import load_records

    ds = yaml.safe_load((ROOT / "conf" / "dataset" / "multiarith.yaml").read_text())
    return [r["prompt"] for r in load_records({**ds, "split": "test"}, num_prompts=n)]


def load(args):
    """(model, tokenizer) from the catalogue cache, a folder, or a folder's config (random)."""
    from alpha.data.sources import get_source
    from alpha.fetch import model_path

    path = args.model_path or str(model_path(get_source(args.model)))
    if not args.random_weights:
        return load_model_and_tokenizer(path, device=args.device, dtype=args.dtype)
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    dtype = getattr(torch, args.dtype if args.dtype != "auto" else "float32")
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path), dtype=dtype,
                                             attn_implementation="sdpa")
    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    return model.to(args.device).eval(), tok


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m", help="catalogue name of a cached model")
    ap.add_argument("--model-path", help="a save_pretrained folder instead of --model")
    ap.add_argument("--random-weights", action="store_true",
                    help="build from the folder's config.json with random weights (timing only)")
    ap.add_argument("--prompts-json", help="a JSON list of prompts instead of dataset=multiarith")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", help="auto | float32 | bfloat16 | float16")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--sampler", default="greedy", help="registered sampler name (alpha: capture)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=0,
                    help="untimed full-size rounds of both first (GPU: 1; kernels and cuDNN "
                         "attention plans are set up per shape on first use)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, tok = load(args)
    texts = (json.loads(Path(args.prompts_json).read_text())[:args.prompts] if args.prompts_json
             else prompts(args.prompts))
    seqs = encode_prompts(tok, texts)
    batches = [seqs[i:i + args.batch] for i in range(0, len(seqs), args.batch)]
    shared = [shared_prefix_length(b) for b in batches]
    print(f"{args.model_path or args.model} ({args.device}, {args.dtype}"
          f"{', random weights' if args.random_weights else ''}): {len(texts)} prompts, batch {args.batch}, {args.new_tokens} new tokens, "
          f"{args.threads} thread(s), sampler {args.sampler}; prompt tokens mean "
          f"{statistics.mean(map(len, seqs)):.0f} (min {min(map(len, seqs))}, max "
          f"{max(map(len, seqs))}); shared prefix per batch {shared}")

    def run(flag: bool, n_new: int):
        return generate(model, tok, texts, sampler=build_sampler(args.sampler),
                        max_new_tokens=n_new, batch_size=args.batch, seed=0, ignore_eos=True,
                        prefix_cache=flag)

    generate(model, tok, texts[:2], sampler=build_sampler(args.sampler), max_new_tokens=2)  # warm-up
    before = timing.load()
    rows = {r.name: r for r in timing.interleaved(
        {f"{name} {state}": (lambda f=(state == "on"), n=n_new: run(f, n))
         for name, n_new in (("prefill", 1), ("generate", args.new_tokens))
         for state in ("on", "off")}, repeats=args.repeats, warmup=args.warmup)}
    outs = {True: rows["generate on"].result, False: rows["generate off"].result}
    report = {}
    for name in ("prefill", "generate"):
        on, off = rows[f"{name} on"].median, rows[f"{name} off"].median
        report[name] = {"on_s": on, "off_s": off, "ratio": off / on}
        print(f"{name:9s} prefix_cache off {off:8.2f} s   on {on:8.2f} s   ratio off/on "
              f"{off / on:5.2f}x")
    print(f"median of {args.repeats} interleaved rounds; load before {before}, after {timing.load()}")
    differ = sum(a != b for a, b in zip(outs[True].token_ids, outs[False].token_ids, strict=True))
    report["rows_differing"] = differ
    print(f"rows whose {args.new_tokens} token ids differ between on and off: {differ} of "
          f"{len(texts)}")
    return report


if __name__ == "__main__":
    main()
