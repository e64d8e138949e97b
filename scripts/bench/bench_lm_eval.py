"""lm-evaluation-harness throughput: model `alpha` (each sampler) vs the harness's HF backend.

One process, one task (gsm8k_cot_local), the same docs, prompts and max_gen_toks for every
run; the HF backend decodes greedily (the task's do_sample=false) with `model.generate`. Each
model is loaded once, outside the timing; each run is timed `--repeats` times, interleaved (median kept), after
one untimed warm-up. Tokens are the responses re-tokenised (the harness keeps only the text
cut at the stop strings), so tokens/s counts what the task sees. Also prints each run's
strict/flexible accuracy and our scorer's (alpha.integrations.gsm8k_agreement).

    OMP_NUM_THREADS=1 python scripts/bench/bench_lm_eval.py --model models/tiny-shakespeare \
        --data tests/assets/gsm8k_mini.jsonl --limit 8 --max-gen-toks 128
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import lm_eval  # noqa: E402
import torch  # noqa: E402
from lm_eval.models.huggingface import HFLM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

from alpha.integrations.gsm8k_agreement import compare  # noqa: E402
from alpha.integrations.lm_eval import TASKS_DIR, AlphaLM  # noqa: E402
from alpha.runner import timing  # noqa: E402

TASK = "gsm8k_cot_local"


def run(lm, args) -> dict:
    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False,
                     metadata={"data_file": args.data})
    res = lm_eval.simple_evaluate(model=lm, tasks=[TASK], limit=args.limit, task_manager=tm,
                                  gen_kwargs=f"max_gen_toks={args.max_gen_toks}",
                                  log_samples=True, verbosity="ERROR")
    samples = res["samples"][TASK]
    texts = [s["resps"][0][0] for s in samples if s["filter"] == "flexible-extract"]
    tokens = sum(len(lm.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    agree = compare(samples)
    return {"tokens": tokens, "accuracy": agree["accuracy"], "differ": agree["differ"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="models/tiny-shakespeare")
    p.add_argument("--data", default="tests/assets/gsm8k_mini.jsonl")
    p.add_argument("--limit", type=int, default=8)
    p.add_argument("--max-gen-toks", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--samplers", default="greedy,top_p,alpha")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    common = dict(pretrained=args.model, device="cpu", batch_size=args.batch_size)
    models = {"hf": HFLM(**common)}
    for name in args.samplers.split(","):
        models[f"alpha:{name}"] = AlphaLM(sampler=name, **common)
    for lm in models.values():
        run(lm, argparse.Namespace(**{**vars(args), "limit": 1}))  # warm-up
    rows = timing.interleaved({label: (lambda m=lm: run(m, args)) for label, lm in models.items()},
                              repeats=args.repeats, warmup=0, baseline="hf")
    results = {r.name: {**r.result, "wall_s": r.median,
                        "tokens_per_s": r.result["tokens"] / r.median} for r in rows}
    base = results["hf"]["tokens_per_s"]
    print(f"{args.model}, {args.limit} docs, max_gen_toks={args.max_gen_toks}, "
          f"batch_size={args.batch_size}, threads={torch.get_num_threads()}, median of "
          f"{args.repeats} interleaved rounds, load {timing.load()}")
    print(f"{'run':14s} {'wall_s':>8s} {'tokens':>7s} {'tok/s':>8s} {'vs hf':>6s}  accuracy")
    for label, r in results.items():
        acc = " ".join(f"{k}={v:.3f}" for k, v in r["accuracy"].items())
        print(f"{label:14s} {r['wall_s']:8.2f} {r['tokens']:7d} {r['tokens_per_s']:8.1f} "
              f"{r['tokens_per_s'] / base:6.2f}  {acc}  differ={r['differ']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
