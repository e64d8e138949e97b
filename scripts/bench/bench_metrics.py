"""Benchmark the evaluators: text-only metrics at scale, and perplexity vs a plain forward pass.

    python scripts/bench/bench_metrics.py                       # defaults below (CPU)
    python scripts/bench/bench_metrics.py --n 1000 --words 256 --ppl-rows 256 --device cuda

1. Every metric that needs no model on `--n` generations of `--words` whitespace tokens
   (Zipf-distributed words with some copied spans, like sampled text), bootstrap included.
   Goal: < 30 s on 2 CPU cores.
2. Continuation perplexity (`score_continuations`: tokenise, sort by length, right-pad, forward,
   per-row loss) vs a plain batched forward pass over the same token rows and batch size, on a
   random-initialised Qwen2 model; the printed ratio ours/plain should stay <= 1.5. Both are
   timed in this process, interleaved, median of `--repeats` (alpha/runner/timing.py).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import alpha  # noqa: F401  first: it sets the CPU thread policy before torch loads (docs/threads.md)

# isort: split
import torch

from alpha.runner import timing

ROOT = Path(__file__).resolve().parents[2]
TEXT_METRICS = ["rep_2", "rep_3", "rep_4", "diversity", "seq_rep_2", "seq_rep_3", "seq_rep_4",
                "distinct_1", "distinct_2", "distinct_3", "distinct_4", "self_bleu", "zipf",
                "accuracy", "generated_tokens", "tokens_per_s", "wall_time_s", "eos_rate",
                "mean_length"]


def synthetic_records(n: int, words: int, seed: int = 0) -> list[dict]:
    """n records of `words` Zipfian words, a tenth of each text a copy of an earlier span."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20000)]
    weights = [1 / (r + 1) for r in range(len(vocab))]
    records = []
    for i in range(n):
        toks = rng.choices(vocab, weights, k=words)
        start = rng.randrange(words // 2)
        span = toks[start:start + words // 10]
        toks[words - len(span):] = span
        records.append({"prompt": f"prompt {i}", "text": " ".join(toks),
                        "answer": str(i % 7), "num_tokens": words,
                        "finish_reason": rng.choice(["eos", "length"])})
    return records


def bench_text(n: int, words: int) -> None:
    from alpha.evaluation import evaluate_records

    records = synthetic_records(n, words)
    (row,) = timing.interleaved(
        {"text": lambda: evaluate_records(records, metrics=TEXT_METRICS, wall_time_s=1.0)},
        repeats=1, warmup=0)
    report, seconds = row.result, row.median
    print(f"text-only metrics ({len(TEXT_METRICS)}), {n} x {words} words, bootstrap 1000: "
          f"{seconds:.2f} s (goal < 30 s; ratio to goal {seconds / 30:.2f}; load {timing.load()})")
    for name in ("rep_2", "diversity", "distinct_2", "self_bleu", "zipf"):
        agg = report.aggregates[name]
        print(f"  {name:>10} = {agg['mean']:.4f}  ci95={agg['ci95']}")


def plain_forward(model, rows: list[list[int]], batch_size: int, pad_id: int) -> None:
    """The baseline: right-padded batches in the given order, logits only."""
    from alpha.padding import right_pad

    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            ids, mask = right_pad(chunk, pad_id, model.device)
            model(input_ids=ids, attention_mask=mask)


def bench_perplexity(rows_n: int, batch_size: int, repeats: int, device: str) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    from alpha.evaluation.perplexity import encode, score_continuations

    tok = AutoTokenizer.from_pretrained(ROOT / "tests" / "assets" / "tokenizer")
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=256, intermediate_size=768,
                      num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4,
                      max_position_embeddings=1024, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg).to(device).eval()
    rng = random.Random(1)
    records = synthetic_records(rows_n, 128)
    prompts = [" ".join(r["text"].split()[:rng.randint(8, 40)]) for r in records]
    texts = [" ".join(r["text"].split()[:rng.randint(20, 100)]) for r in records]
    rows = [encode(tok, p, t, None).ids for p, t in zip(prompts, texts, strict=True)]
    n_tokens = sum(len(r) for r in rows)

    def ours():
        score_continuations(model, tok, prompts, texts, batch_size=batch_size)

    def plain():
        plain_forward(model, rows, batch_size, tok.pad_token_id)

    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    rows = {r.name: r for r in timing.interleaved({"plain": plain, "ours": ours}, repeats=repeats,
                                                  warmup=1, baseline="plain", sync=sync)}
    print(f"perplexity, {rows_n} rows ({n_tokens} tokens), batch {batch_size}, {device}: "
          f"ours {n_tokens / rows['ours'].median:.0f} tok/s, plain forward "
          f"{n_tokens / rows['plain'].median:.0f} tok/s, ratio ours/plain time "
          f"{rows['ours'].ratio:.2f} (goal <= 1.5; median of {repeats} interleaved rounds, load "
          f"{timing.load()})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="generations (text metrics)")
    parser.add_argument("--words", type=int, default=256, help="words per generation")
    parser.add_argument("--ppl-rows", type=int, default=64, help="rows for the perplexity part")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    bench_text(args.n, args.words)
    bench_perplexity(args.ppl_rows, args.batch_size, args.repeats, args.device)


if __name__ == "__main__":
    main()
