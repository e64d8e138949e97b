"""Cost of each baseline sampler: tokens/s through `alpha.generate`, as a ratio, same process.

For each processor baseline the reference is Hugging Face `generate` with the same warper
(`ratio_vs_hf`); for the dynamic/rule samplers (edt, dynatemp, entropix) and alpha, the
reference is the engine with `top_p` (`ratio_vs_top_p`, the price of the per-step rule).
Each sampler and its reference run alternately `--repeats` times; the median times are kept
(a ratio > 1 means the baseline through our engine is faster than its reference).

    python scripts/bench/bench_baselines.py --config scripts/configs/bench-cpu-small.json
    python scripts/bench/bench_baselines.py --model-path models/tiny-shakespeare --batch 16 --new-tokens 64
    python scripts/bench/bench_baselines.py --model-path PATH --samplers contrastive,greedy
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]

import alpha  # noqa: E402  first: it sets the CPU thread policy before torch loads (docs/threads.md)

# isort: split
import torch  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from alpha.runner.timing import interleaved  # noqa: E402

PROMPTS = ["Once upon a time", "To be, or not to be:", "My lord, I pray you", "The king is dead,",
           "Now is the winter", "All the world's a stage", "A horse! a horse!", "In the beginning"]
# name -> (sampler params, equivalent generate kwargs or None)
CASES = {
    "greedy": ({}, dict(do_sample=False)),
    "pure": ({}, dict(do_sample=True, top_k=0)),
    "top_k": (dict(top_k=40), dict(do_sample=True, top_k=40)),
    "top_p": (dict(top_p=0.9), dict(do_sample=True, top_k=0, top_p=0.9)),
    "min_p": (dict(min_p=0.1), dict(do_sample=True, top_k=0, min_p=0.1)),
    "typical": (dict(typical_p=0.9), dict(do_sample=True, top_k=0, typical_p=0.9)),
    "epsilon": (dict(epsilon=3e-4), dict(do_sample=True, top_k=0, epsilon_cutoff=3e-4)),
    "eta": (dict(eta=3e-4), dict(do_sample=True, top_k=0, eta_cutoff=3e-4)),
    "edt": ({}, None),
    "dynatemp": ({}, None),
    "entropix": ({}, None),
    "alpha": ({}, None),
    "contrastive": (dict(penalty_alpha=0.6, top_k=4), None),  # a decoder: k model rows a step
}


def load(args):
    if args.model_path:
        tok = AutoTokenizer.from_pretrained(args.model_path)
        model = AutoModelForCausalLM.from_pretrained(args.model_path, attn_implementation="sdpa")
    else:
        tok = AutoTokenizer.from_pretrained(ROOT / "tests" / "assets" / "tokenizer")
        cfg = json.loads(Path(args.config).read_text())
        cfg.pop("architectures", None)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(
            AutoConfig.for_model(cfg.pop("model_type"), **cfg), attn_implementation="sdpa")
        model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model.eval(), tok


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(ROOT / "scripts" / "configs" / "bench-cpu-small.json"))
    p.add_argument("--model-path")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--samplers", help="comma-separated subset of " + ",".join(CASES))
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok = load(args)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.batch)]
    enc = tok(prompts, return_tensors="pt", padding=True)
    n = args.new_tokens

    def ours(name, params):
        sampler = alpha.build_sampler(name, **params)
        return lambda: alpha.generate(model, tok, prompts, sampler=sampler, max_new_tokens=n,
                                      seed=0, ignore_eos=True)

    def hf(kwargs):
        return lambda: model.generate(**enc, max_new_tokens=n, min_new_tokens=n, **kwargs)

    ours("top_p", {})(), hf(CASES["top_p"][1])()  # warm-up
    rows = {}
    with torch.no_grad():
        for name in (args.samplers.split(",") if args.samplers else CASES):
            params, hf_kwargs = CASES[name]
            ref = hf(hf_kwargs) if hf_kwargs is not None else ours("top_p", dict(top_p=0.9))
            t_ours, t_ref = (r.median for r in interleaved(
                {"ours": ours(name, params), "ref": ref}, repeats=args.repeats))
            row = {"tokens_per_s": args.batch * n / t_ours}
            if hf_kwargs is not None:
                row.update(hf_tokens_per_s=args.batch * n / t_ref, ratio_vs_hf=t_ref / t_ours)
            else:
                row["ratio_vs_top_p"] = t_ref / t_ours
            rows[name] = row
            ratio = (f"{row['ratio_vs_hf']:.2f}x HF generate" if "ratio_vs_hf" in row
                     else f"{row['ratio_vs_top_p']:.2f}x engine+top_p")
            print(f"{name:12s} {row['tokens_per_s']:9.1f} tok/s  {ratio}", flush=True)
    out = {"batch": args.batch, "new_tokens": n, "threads": torch.get_num_threads(),
           "model": args.model_path or args.config, "results": rows}
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
