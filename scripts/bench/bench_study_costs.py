"""Cost of each method of a study: tokens/s through `alpha.generate`, same process, same load.

The study runs themselves report tokens/s, but on a shared box each run sees a different load,
so those columns do not compare across rows. Here every method and the reference (`top_p`)
run alternately `--repeats` times on the same prompts (median kept), so the ratio to the
reference is the method's cost under the same conditions (> 1: faster than the reference).

A method is `NAME` or `NAME:key=value,key=value`: the `conf/sampler/NAME.yaml` option as the
runner composes it (its defaults, e.g. alpha's base_temp 0.8, not the library's), with the given
parameters on top; `capture=...` sets the attention capture, e.g. `alpha:capture=mean_last2`,
`alpha:attention_mode=per_head`:

    python scripts/bench/bench_study_costs.py --model smollm2-135m --out experiments/ablations_real/costs \\
        alpha alpha:solver=seed_adam alpha:attention_mode=per_head alpha:capture=mean_last2

`--winners winners.yaml` (written by `scripts/tune.py`) benchmarks every tuned method of a study
at its winning settings, the reference at its own:

    python scripts/bench/bench_study_costs.py --winners experiments/open_ended/results/winners.yaml \\
        --out experiments/open_ended/results/costs
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import alpha  # first: the CPU thread policy is set before torch loads (docs/threads.md)
from alpha.runner.timing import interleaved

# isort: split
import torch

from alpha.data.sources import SOURCES
from alpha.fetch import fetch
from alpha.models import load_model_and_tokenizer
from alpha.runner.config import build_sampler
from alpha.runner.tuning import check_method, compose

# isort: split

PROMPTS = ["The history of the city begins", "In a statement released on Monday, the company",
           "Scientists have long wondered why", "The recipe calls for", "After the match, the coach",
           "The new law will require", "When the first settlers arrived", "Researchers found that"]


def parse_method(spec: str) -> tuple[str, dict, object]:
    """`name:key=value,...` -> (sampler name, sampler params, capture)."""
    name, _, rest = spec.partition(":")
    params, capture = {}, "last"
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"method {spec!r}: expected key=value after ':', got {item!r}")
        if key == "capture":
            capture = ("mean_last", int(value.removeprefix("mean_last"))) \
                if value.startswith("mean_last") else value
            continue
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return name, params, capture


def make_sampler(spec: str):
    """-> (sampler, capture): conf/sampler/NAME.yaml as the runner composes it, params on top."""
    name, params, capture = parse_method(spec)
    try:
        check_method(name)
    except ValueError as err:
        raise SystemExit(f"method {spec!r}: {err}") from None
    return build_sampler({**compose([f"sampler={name}"])["sampler"], **params}), capture


def winner_specs(path: str | Path) -> dict[str, str]:
    """`scripts/tune.py`'s winners.yaml -> {method: spec}, e.g. `top_p:top_p=0.98,temperature=0.76`."""
    import yaml

    specs = {}
    for method, entry in yaml.safe_load(Path(path).read_text()).items():
        items = []
        for key, value in (entry.get("params") or {}).items():
            if not key.startswith("sampler."):
                raise SystemExit(f"{path}: {method}'s winning parameter {key!r} is not a sampler "
                                 "parameter (sampler.*); benchmark that method by hand")
            items.append(f"{key.removeprefix('sampler.')}={value}")
        specs[method] = method + (":" + ",".join(items) if items else "")
    return specs


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("methods", nargs="*", help="NAME or NAME:key=value,... (or use --winners)")
    p.add_argument("--winners", help="a tune.py winners.yaml: every method at its tuned settings")
    p.add_argument("--model", default="smollm2-135m", help="catalogue name or a local folder")
    p.add_argument("--reference", default="top_p")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--new-tokens", type=int, default=48)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", help="write OUT.csv and OUT.md")
    args = p.parse_args(argv)
    if args.winners:
        specs = winner_specs(args.winners)
        ref_spec = specs.pop(args.reference, args.reference)
        args.methods = [*args.methods, *specs.values()]
    else:
        ref_spec = args.reference
    if not args.methods:
        p.error("give methods (NAME or NAME:key=value,...) or --winners winners.yaml")
    path = fetch(SOURCES[args.model]) if args.model in SOURCES else args.model
    model, tok = load_model_and_tokenizer(str(path), device="cpu", dtype="float32")
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.batch)]

    def run(spec):
        sampler, capture = make_sampler(spec)
        return lambda: alpha.generate(model, tok, prompts, sampler=sampler, capture=capture,
                                      max_new_tokens=args.new_tokens, seed=0, ignore_eos=True)

    reference = run(ref_spec)  # built once; each generate resets the sampler's state
    reference()  # warm-up
    tokens = args.batch * args.new_tokens
    rows = []
    for spec in args.methods:  # no outer no_grad: seed_adam's solver needs autograd
        t_m, t_ref = (r.median for r in interleaved({"method": run(spec), "reference": reference},
                                                       repeats=args.repeats))
        rows.append({"method": spec, "tokens_per_s": round(tokens / t_m, 1),
                     f"{args.reference}_tokens_per_s": round(tokens / t_ref, 1),
                     f"ratio_vs_{args.reference}": round(t_ref / t_m, 3)})
        print(rows[-1], flush=True)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out.with_suffix(".csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        head = list(rows[0])
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows]
        note = (f"\n{args.model}, batch {args.batch}, {args.new_tokens} new tokens (EOS ignored), "
                f"{torch.get_num_threads()} thread(s), median of {args.repeats} alternating "
                f"repeats against `{ref_spec}` in one process.\n")
        out.with_suffix(".md").write_text("\n".join(lines) + "\n" + note)
    return rows


if __name__ == "__main__":
    main()
