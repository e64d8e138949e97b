"""Perplexity without a second pass: what it saves at evaluation, what it costs at generation.

    python scripts/bench/bench_perplexity.py                        # SmolLM2-135M from the package cache
    python scripts/bench/bench_perplexity.py --model tiny --data heldout --prompts 8 --tokens 8  # offline

Prompts: the first `--prompt-tokens` tokens of OWT passages (as Study 3: dataset=owt; or the
bundled held-out passages with `--data heldout`), the adaptive sampler (attention captured),
batches of `--batch`, seed 0. Both measurements run in this process, alternating, best of
`--repeats`:
1. generation tokens/s with `record_logprobs=True` vs `False` (same tokens; the only difference
   is one logsumexp + one gather per step): ratio on/off, 1.00 = free;
2. `evaluate_records(metrics=["perplexity"])` on the same records with
   `perplexity_source=rescore` (re-tokenise prompt + text, run the model over every row, batch
   `--eval-batch`) vs `generation` (read the records' token_logprobs): ratio rescore/generation.
   Also the largest relative difference of the per-prompt perplexities: they differ where
   decode -> encode does not give back the generated ids (equal where it does: tested).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import alpha  # noqa: F401  first: it sets the CPU thread policy before torch loads (docs/threads.md)

# isort: split
import torch

from alpha.runner import timing

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    from alpha.models import load_model_and_tokenizer

    if name == "tiny":
        return load_model_and_tokenizer(str(ROOT / "models" / "tiny-shakespeare"), device="cpu")
    if Path(name).is_dir():
        return load_model_and_tokenizer(name, device="cpu")
    from alpha.data.sources import get_source
    from alpha.fetch import fetch

    return load_model_and_tokenizer(str(fetch(get_source(name), quiet=True)), device="cpu")


def passage_pairs(tok, data: str, n: int, prompt_tokens: int,
                  max_reference_tokens: int | None = None) -> list[tuple[str, str]]:
    """(prompt, rest) of `n` passages split at `prompt_tokens` tokens: OWT (package cache, as
    Studies 1 and 3) or the bundled held-out passages (offline)."""
    from alpha.data.continuation import split_passages

    if data == "owt":
        from alpha.data.sources import read_records

        texts = [r["text"] for r in read_records("owt")][:4 * n]
    else:
        from alpha import load_prompts

        texts = [r["prompt"] + (r["reference"] or "") for r in
                 load_prompts("heldout_passages", reference_field="reference", limit=4 * n)]
    return [(p, r) for _, p, r in split_passages(texts, tok, prompt_tokens=prompt_tokens,
                                                  max_reference_tokens=max_reference_tokens)][:n]


def passage_prompts(tok, data: str, n: int, prompt_tokens: int) -> list[str]:
    """The first `prompt_tokens` tokens of `n` passages (see passage_pairs)."""
    return [p for p, _ in passage_pairs(tok, data, n, prompt_tokens)]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m", help="catalogue name, folder, or tiny")
    ap.add_argument("--data", choices=["owt", "heldout"], default="owt")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=32, help="new tokens per prompt")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--eval-batch", type=int, default=16, help="rows per rescoring forward pass")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from alpha import build_sampler
    from alpha.evaluation import evaluate_records
    from alpha.generation import generate

    model, tok = load(args.model)
    prompts = passage_prompts(tok, args.data, args.prompts, args.prompt_tokens)
    sampler = build_sampler("alpha")

    def gen(record: bool):
        return generate(model, tok, prompts, sampler=sampler, max_new_tokens=args.tokens,
                        seed=0, batch_size=args.batch, record_logprobs=record)

    before = timing.load()  # interleaved rounds, so load on the box hits both sides alike
    on, off = timing.interleaved({"on": lambda: gen(True), "off": lambda: gen(False)},
                                 repeats=args.repeats, warmup=1, baseline="off")
    res = on.result
    assert off.result.token_ids == res.token_ids, "recording changed the tokens"
    n_tok = sum(len(ids) for ids in res.token_ids)
    on_tps, off_tps = n_tok / on.median, n_tok / off.median
    print(f"model={args.model} prompts={len(prompts)} x {args.tokens} new tokens, batch "
          f"{args.batch}, {torch.get_num_threads()} thread(s); {n_tok} tokens; load {before}")
    print(f"generation: record_logprobs on {on_tps:.1f} tok/s, off {off_tps:.1f} tok/s, "
          f"ratio on/off {on_tps / off_tps:.3f} (1.00 = free; median of {args.repeats})")

    records = [{"prompt": p, "text": t, "token_ids": ids, "token_logprobs": lp,
                "finish_reason": r}
               for p, t, ids, lp, r in zip(prompts, res.texts, res.token_ids,
                                           res.token_logprobs, res.finish_reasons, strict=True)]

    def evaluate(source: str):
        return evaluate_records(records, metrics=["perplexity"], model=model, tokenizer=tok,
                                options={"perplexity_source": source, "bootstrap_samples": 0,
                                         "batch_size": args.eval_batch})

    resc_row, gen_row = timing.interleaved(
        {"rescore": lambda: evaluate("rescore"), "generation": lambda: evaluate("generation")},
        repeats=args.repeats, warmup=0, baseline="generation")
    resc, from_gen = resc_row.result, gen_row.result
    from alpha.evaluation.perplexity import encode

    same = []  # rows whose text re-tokenises to the generated ids (final EOS left out)
    for rec in records:
        e = encode(tok, rec["prompt"], rec["text"], None)
        ids = rec["token_ids"][:-1] if rec["finish_reason"] == "eos" else rec["token_ids"]
        same.append(e.ids[e.n_context:] == ids)
    rel = [abs(r["perplexity"] - g["perplexity"]) / g["perplexity"]
           for r, g in zip(resc.per_prompt, from_gen.per_prompt, strict=True)]
    print(f"evaluation (perplexity): rescore {resc_row.median:.3f} s, generation "
          f"{gen_row.median * 1e3:.2f} ms, ratio rescore/generation {resc_row.ratio:.0f}x; "
          f"load after {timing.load()}")
    print(f"mean perplexity: rescore {resc.aggregates['perplexity']['mean']:.3f}, generation "
          f"{from_gen.aggregates['perplexity']['mean']:.3f}; largest per-prompt relative "
          f"difference {max([r for r, k in zip(rel, same, strict=True) if k] or [0.0]):.1e} on the "
          f"{sum(same)} rows that re-tokenise exactly, "
          f"{max([r for r, k in zip(rel, same, strict=True) if not k] or [0.0]):.1e} on the "
          f"other {len(same) - sum(same)}")
    return {"generation_ratio": on_tps / off_tps, "eval_ratio": resc_row.ratio,
            "exact": same, "rel_diff": rel}


if __name__ == "__main__":
    main()
