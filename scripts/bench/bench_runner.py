"""What the runner's bookkeeping costs: run_experiment vs bare alpha.generate, same process.

    python scripts/bench/bench_runner.py                          # the shipped tiny model
    python scripts/bench/bench_runner.py --model /some/folder --prompts 32 --tokens 48 --batch 8

Both sides generate the same prompts with the same sampler, seed and batch size; the runner
adds per-batch JSON Lines appends with fsync, the fingerprint file, resume bookkeeping, the
progress bar and the final rewrite. Evaluation is excluded (a metric-free evaluation config is
not possible, so the runner side uses one cheap text metric, distinct_1, and its time is
reported separately). Prints wall times and the ratio runner / bare (1.00 = free).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "tiny-shakespeare"))
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier on a shared box)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)

    from alpha import build_sampler, generate, load_model_and_tokenizer, load_prompts
    from alpha.runner import timing
    from alpha.runner.experiment import ExperimentSpec, run_experiment

    torch.manual_seed(0)
    model, tok = load_model_and_tokenizer(args.model, device="cpu")
    records = load_prompts("heldout_passages", reference_field="reference", limit=args.prompts)
    prompts = [r["prompt"] for r in records]
    sampler = build_sampler("alpha")
    ev = {"metrics": ["distinct_1"], "options": {"bootstrap_samples": 0}, "headline": "distinct_1"}

    def bare() -> None:
        for i in range(0, len(prompts), args.batch):
            generate(model, tok, prompts[i:i + args.batch], sampler=sampler,
                     max_new_tokens=args.tokens, seed=0,
                     prompt_indices=list(range(i, min(i + args.batch, len(prompts)))))

    def runner() -> None:
        with tempfile.TemporaryDirectory() as d:
            spec = ExperimentSpec(output_dir=d, evaluation=ev, seed=0, batch_size=args.batch,
                                  max_new_tokens=args.tokens, progress=True)
            run_experiment(spec, model=model, tokenizer=tok, sampler=sampler, records=records)

    before = timing.load()  # interleaved so background load hits both sides alike
    rows = timing.interleaved({"bare alpha.generate": bare, "run_experiment (+eval)": runner},
                              repeats=args.repeats, warmup=1, baseline="bare alpha.generate")
    print(f"prompts={args.prompts} tokens={args.tokens} batch={args.batch} repeats={args.repeats}")
    print(timing.report(rows, title="the runner against a bare generate loop", before=before))


if __name__ == "__main__":
    main()
