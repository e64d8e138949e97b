"""k samples of one prompt against one batch of k different prompts, in one process (issue 27).

    python scripts/bench/bench_num_samples.py                              # smollm2-135m, k = 8, 32 tokens
    python scripts/bench/bench_num_samples.py --model qwen2.5-coder-0.5b --k 8 --new-tokens 32
    python scripts/bench/bench_num_samples.py --branching       # + the gated sampler, forking

Prompts are MultiArith 8-shot chain of thought (dataset=multiarith, test split: ~740 shared
tokens), as Study 4 runs them. "k samples" is what `num_samples: k` makes: prompt 0 k times with
indices 0..k-1 (the whole prompt is the shared prefix, prefilled once); "k prompts" is the first
k prompts (the 8 exemplars shared, each question prefilled per row). Both top-p at T = 0.7,
every row decoding `--new-tokens` (EOS ignored). Timing: alpha/runner/timing.py (warm-up,
interleaved rounds, medians, ratio to "k prompts" from the same rounds). Goal: k samples cost
<= 1.2x, i.e. tokens/s >= 1 / 1.2 of the k-prompt batch's.

`--branching` adds two arms on prompt 0's k samples with Study 4's gated sampler (greedy at or
under 1 bit, top-p 0.9 at T = 0.7 above): the plain engine (k model rows every step) and
`branching=True` (one model row per distinct prefix, forked where the samples part); their
tokens are the same (checked here), the decode rows the model ran and the time are not.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import alpha  # noqa: F401  first: the CPU thread policy

# isort: split
import torch
import yaml

from alpha.data.records import load_records
from alpha.data.sources import get_source
from alpha.fetch import model_path
from alpha.generation import generate
from alpha.models import load_model_and_tokenizer
from alpha.registry import build_sampler
from alpha.runner import timing

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m", help="catalogue name of a cached model")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--branching", action="store_true", help="add the gated sampler's two arms")
    args = ap.parse_args(argv)
    model, tok = load_model_and_tokenizer(str(model_path(get_source(args.model))), device="cpu",
                                          dtype="float32")
    ds = yaml.safe_load((ROOT / "conf" / "dataset" / "multiarith.yaml").read_text())
    prompts = [r["prompt"] for r in load_records({**ds, "split": "test"}, num_prompts=args.k)]

    def run(batch, indices, sampler="top_p", **kw):
        params = ({"top_p": 0.9, "temperature": 0.7} if sampler == "top_p" else
                  {"threshold": 1.0, "inner_params": {"top_p": 0.9, "temperature": 0.7}})
        return lambda: generate(model, tok, batch, sampler=build_sampler(sampler, **params),
                                max_new_tokens=args.new_tokens, seed=0, prompt_indices=indices,
                                ignore_eos=True, stop_strings=None, **kw)

    k = args.k
    arms = {"k prompts": run(prompts, list(range(k))),
            "k samples": run([prompts[0]] * k, list(range(k)))}
    if args.branching:
        arms["k samples, gated"] = run([prompts[0]] * k, list(range(k)), "gated")
        arms["k samples, gated, branching"] = run([prompts[0]] * k, list(range(k)), "gated",
                                                  branching=True)
    before = timing.load()
    rows = timing.interleaved(arms, repeats=args.repeats, warmup=1, baseline="k prompts")
    for r in rows:
        r.extra["tokens/s"] = f"{k * args.new_tokens / r.median:.1f}"
        r.extra["decode rows"] = r.result.timing["decode_rows"]
    print(timing.report(rows, title=f"{args.model}, k = {k}, {args.new_tokens} new tokens, "
                                    f"top-p T=0.7, {torch.get_num_threads()} thread(s)",
                        before=before, columns=("tokens/s", "decode rows")))
    if args.branching:
        plain, forked = rows[2], rows[3]
        assert forked.result.token_ids == plain.result.token_ids, "branching changed the tokens"
        print(f"branching vs plain, gated: time {forked.median / plain.median:.2f}x, decode rows "
              f"{forked.extra['decode rows'] / plain.extra['decode rows']:.2f}x (same tokens)")
    return rows


if __name__ == "__main__":
    main()
