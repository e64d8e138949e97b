"""What the oracle-model metrics cost before and after skipping needless vocabulary passes.

    python scripts/bench/bench_eval_passes.py                          # Gemma-3-270M, OWT (Study 1)
    python scripts/bench/bench_eval_passes.py --model tiny --data heldout --rows 8   # offline smoke run

Rows are human passages split as Study 1 splits them (`--prompt-tokens` of prompt, the next
`--tokens` tokens as the text). Each pair runs in this process, alternating, median of
`--repeats` (a shared box: only the ratios mean anything):
1. MAUVE features: the causal LM's `hidden_states[-1]` from a full forward (logits at every
   position: the old way) vs `last_hidden_features` (the decoder alone). Largest |difference|.
2. Continuation scoring: full logits + cross-entropy at every position (the old way) vs
   `score_continuations` (logits at the scored positions only). Largest relative difference of
   the perplexities.
3. MAUVE through `evaluate_records` twice in one process (a sweep's second run): the
   references' features are reused, only the generations are featurised.
"""

from __future__ import annotations

import argparse
import math
import time

import alpha  # noqa: F401  first: it sets the CPU thread policy before torch loads (docs/threads.md)
from alpha.runner.timing import interleaved

# isort: split
import torch
import torch.nn.functional as F

# isort: split
from bench_perplexity import load, passage_pairs

from alpha.evaluation import evaluate_records
from alpha.evaluation.embeddings import last_hidden_features
from alpha.evaluation.perplexity import encode, model_max_length, score_continuations
from alpha.padding import right_pad


@torch.inference_mode()
def full_lm_features(model, tok, texts, batch_size):
    """The old featurisation: a full LM forward, hidden_states[-1] at each last real token."""
    rows = [list(tok(t)["input_ids"]) for t in texts]
    out = []
    for s in range(0, len(rows), batch_size):
        chunk = rows[s:s + batch_size]
        ids, mask = right_pad(chunk, tok.pad_token_id or 0)
        hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1]
        out.append(hidden[torch.arange(len(chunk)), torch.tensor([len(r) - 1 for r in chunk])])
    return torch.cat(out).numpy()


@torch.inference_mode()
def full_logits_perplexities(model, tok, prompts, texts, batch_size):
    """The old scoring: logits at every position of every row, then masked cross-entropy."""
    enc = [encode(tok, p, t, model_max_length(model, None)) for p, t in zip(prompts, texts, strict=True)]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
    out = [0.0] * len(enc)
    for s in range(0, len(order), batch_size):
        chunk = [enc[i] for i in order[s:s + batch_size]]
        ids, mask = right_pad([e.ids for e in chunk], tok.pad_token_id or 0)
        scored = torch.zeros(ids.shape[0], ids.shape[1] - 1, dtype=torch.bool)
        for j, e in enumerate(chunk):
            scored[j, max(e.n_context, 1) - 1:len(e.ids) - 1] = True
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
        nll = F.cross_entropy(logits.float().transpose(1, 2), ids[:, 1:], reduction="none")
        for j, i in enumerate(order[s:s + batch_size]):
            out[i] = math.exp(float((nll[j] * scored[j]).sum() / scored[j].sum()))
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="gemma3-270m", help="catalogue name, folder, or tiny")
    ap.add_argument("--data", choices=["owt", "heldout"], default="owt")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--batch", type=int, default=16, help="rows per forward (evaluation.options.batch_size)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    model, tok = load(args.model)
    pairs = passage_pairs(tok, args.data, args.rows, args.prompt_tokens, max_reference_tokens=args.tokens)
    prompts, texts = [p for p, _ in pairs], [r for _, r in pairs]
    print(f"model={args.model} rows={len(texts)} ({args.prompt_tokens} prompt + <= {args.tokens} "
          f"text tokens), batch {args.batch}, {torch.get_num_threads()} thread(s)")
    out = {}

    old_f = lambda: full_lm_features(model, tok, texts, args.batch)  # noqa: E731
    new_f = lambda: last_hidden_features(model, tok, texts, batch_size=args.batch)  # noqa: E731
    t_old, t_new = (r.median for r in interleaved({"old": old_f, "new": new_f}, repeats=args.repeats))
    diff = float(abs(old_f() - new_f()).max())
    out["features"] = t_old / t_new
    print(f"features: full LM {t_old:.2f} s, decoder only {t_new:.2f} s: {t_old / t_new:.2f}x; "
          f"max |diff| {diff:.2e}")

    old_s = lambda: full_logits_perplexities(model, tok, prompts, texts, args.batch)  # noqa: E731
    new_s = lambda: [s.perplexity for s in score_continuations(  # noqa: E731
        model, tok, prompts, texts, batch_size=args.batch)]
    t_old, t_new = (r.median for r in interleaved({"old": old_s, "new": new_s}, repeats=args.repeats))
    rel = max(abs(a - b) / a for a, b in zip(old_s(), new_s(), strict=True))
    out["scoring"] = t_old / t_new
    print(f"scoring: full logits {t_old:.2f} s, scored positions only {t_new:.2f} s: "
          f"{t_old / t_new:.2f}x; max relative perplexity diff {rel:.1e}")

    half = len(texts) // 2
    gens, refs = texts[:half], texts[half:2 * half]

    def mauve_run(references):
        t0 = time.perf_counter()
        rep = evaluate_records([{"prompt": p, "text": t, "reference": r} for p, t, r in
                                zip(prompts, gens, references, strict=False)],
                               metrics=["mauve"], oracle=model, oracle_tokenizer=tok,
                               options={"mauve_feature_model": "oracle", "batch_size": args.batch})
        return time.perf_counter() - t0, rep.aggregates["mauve"]["mean"]

    mauve_run(refs[::-1])  # warm-up (imports, faiss); reversed order is another cache key
    (t_first, v_first), (t_second, v_second) = mauve_run(refs), mauve_run(refs)
    assert v_first == v_second, "reusing the references' features changed MAUVE"
    out["mauve_second_run"] = t_first / t_second
    print(f"mauve ({half} vs {half} rows): first run {t_first:.2f} s, second run (references "
          f"reused) {t_second:.2f} s: {t_first / t_second:.2f}x; same value {v_first}")
    return out


if __name__ == "__main__":
    main()
