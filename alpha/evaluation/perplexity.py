"""Log-likelihood of each continuation given its prompt under a causal LM, batched.

Text is re-tokenised with the scoring model's own tokenizer (so an oracle with another
vocabulary works): prompt with the tokenizer's special tokens (BOS where it adds one), the
continuation without. If a prompt yields no tokens, the BOS token is used as context when the
tokenizer has one; otherwise the first continuation token is context only (not scored).
Rows are sorted by length and right-padded, so real tokens keep their positions and the
result equals transformers' own loss on each unpadded row with `labels=-100` on the prompt.
Too-long rows lose prompt tokens from the left.

`generation_scores` is the same quantity without a second pass: it sums the log-probs the
engine kept while generating (`token_logprobs`, one per generated id, raw model logits) over
every generated token except a final EOS. Knows nothing about aggregation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from alpha.padding import right_pad


@dataclass(frozen=True)
class Encoded:
    """One prompt+continuation row: `ids` (T,), and how many leading ids are context."""

    ids: list[int]
    n_context: int


@dataclass(frozen=True)
class ContinuationScore:
    """Sum of -log p over the `n_tokens` scored continuation tokens (nats)."""

    nll_sum: float
    n_tokens: int

    @property
    def perplexity(self) -> float | None:
        return math.exp(self.nll_sum / self.n_tokens) if self.n_tokens else None

    @property
    def mean_logprob(self) -> float | None:
        return -self.nll_sum / self.n_tokens if self.n_tokens else None


def model_max_length(model, max_length: int | None) -> int | None:
    """The explicit limit, else the model's `max_position_embeddings` (or GPT-2's n_positions)."""
    if max_length is not None:
        return max_length
    cfg = model.config
    return getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)


def encode(tokenizer, prompt: str, text: str, max_length: int | None) -> Encoded:
    """Token ids of prompt + continuation, the prompt cut from the left to fit `max_length`."""
    context = list(tokenizer(prompt)["input_ids"]) if prompt else []
    if not context and tokenizer.bos_token_id is not None:
        context = [tokenizer.bos_token_id]
    cont = list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []
    if max_length is not None and len(context) + len(cont) > max_length:
        keep = max(max_length - len(cont), 1 if context else 0)
        context = context[len(context) - keep:] if keep else []
        cont = cont[:max_length - len(context)]
    return Encoded(context + cont, len(context))


def _batch(rows: Sequence[Encoded], pad_id: int, device) -> tuple[torch.Tensor, ...]:
    """Right-padded ids (B, T), attention mask (B, T), scored-position mask (B, T-1)."""
    ids, mask = right_pad([r.ids for r in rows], pad_id)
    scored = torch.zeros((len(rows), max(ids.shape[1] - 1, 0)), dtype=torch.bool)
    for i, r in enumerate(rows):
        # label at position t is ids[t+1]; continuation tokens start at n_context (>= 1)
        scored[i, max(r.n_context, 1) - 1:len(r.ids) - 1] = True
    return ids.to(device), mask.to(device), scored.to(device)


_FULL_LOGITS: set[type] = set()  # model classes whose forward cannot slice by a boolean mask


def _scored_logits(model, ids: torch.Tensor, mask: torch.Tensor, scored: torch.Tensor):
    """(N, V) logits at the N scored positions only, or None where the model cannot slice.

    transformers >= 5 takes a boolean (B, T) `logits_to_keep` and projects only those hidden
    states onto the vocabulary (its own head, softcapping included). Prompt and padding
    positions then cost no vocabulary pass: on Gemma-3 (262k tokens) that pass is most of a
    forward. Older versions or models without the argument fall back to full logits; the
    class is remembered, so the failed attempt is paid once per process, not once per batch.
    """
    if type(model) in _FULL_LOGITS:
        return None
    keep = F.pad(scored, (0, 1))  # (B, T): position t predicts ids[t + 1]
    try:
        logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
    except (TypeError, IndexError, RuntimeError, ValueError):
        logits = None
    if logits is not None and logits.dim() == 2 and logits.shape[0] == int(scored.sum()):
        return logits
    _FULL_LOGITS.add(type(model))
    return None


@torch.inference_mode()
def _score_batch(model, rows: Sequence[Encoded], pad_id: int) -> list[ContinuationScore]:
    ids, mask, scored = _batch(rows, pad_id, model.device)
    logits = _scored_logits(model, ids, mask, scored)  # (N, V) over the scored positions
    if logits is not None:
        token_nll = F.cross_entropy(logits.float(), ids[:, 1:][scored], reduction="none")  # (N,)
        nll = torch.zeros(scored.shape, dtype=token_nll.dtype, device=ids.device)
        nll[scored] = token_nll
    else:
        full = model(input_ids=ids, attention_mask=mask).logits[:, :-1]  # (B, T-1, V)
        nll = F.cross_entropy(full.float().transpose(1, 2), ids[:, 1:], reduction="none") * scored
    sums, counts = nll.sum(dim=1), scored.sum(dim=1)
    return [ContinuationScore(float(s), int(c)) for s, c in zip(sums.tolist(), counts.tolist(), strict=True)]


def score_continuations(model, tokenizer, prompts: Sequence[str], texts: Sequence[str], *,
                        batch_size: int = 16,
                        max_length: int | None = None) -> list[ContinuationScore]:
    """Per-row continuation log-likelihood under `model`, in the input order.

    Args:
        model: a transformers causal LM (any device/dtype; log-probs are taken in float32).
        tokenizer: that model's tokenizer.
        prompts, texts: aligned prompt strings and continuation strings.
        batch_size: rows per forward pass.
        max_length: longest row in tokens (default: the model's position limit).

    Returns:
        One ContinuationScore per row; rows with nothing to score have n_tokens == 0.
    """
    if len(prompts) != len(texts):
        raise ValueError(f"prompts ({len(prompts)}) and texts ({len(texts)}) must align")
    limit = model_max_length(model, max_length)
    encoded = [encode(tokenizer, p, t, limit) for p, t in zip(prompts, texts, strict=True)]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[ContinuationScore | None] = [None] * len(encoded)
    todo = [i for i, e in enumerate(encoded) if len(e.ids) > max(e.n_context, 1)]
    for i in set(range(len(encoded))) - set(todo):
        out[i] = ContinuationScore(0.0, 0)
    todo.sort(key=lambda i: len(encoded[i].ids))
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        for i, score in zip(chunk, _score_batch(model, [encoded[i] for i in chunk], pad_id), strict=True):
            out[i] = score
    return out


RESCORE_FIX = "evaluation.options.perplexity_source=rescore"


def generation_scores(records: Sequence[dict]) -> list[ContinuationScore]:
    """Per-record continuation log-likelihood from the log-probs kept during generation.

    Scored tokens: every generated id except a final EOS (`finish_reason == "eos"`); a row
    stopped by a stop string keeps the stop string's tokens (its text is cut, its ids are not).

    Args:
        records: dicts with `token_logprobs` (one float per generated id, nats), optional
            `token_ids` (checked to align) and `finish_reason`.

    Raises:
        ValueError: a record has no `token_logprobs` (made before the engine kept them), or
            they do not align with `token_ids`; one line naming the fix.
    """
    missing = [i for i, r in enumerate(records) if not isinstance(r.get("token_logprobs"), list)]
    if missing:
        raise ValueError(f"records[{missing[0]}] (and {len(missing) - 1} more of {len(records)}) "
                         "have no token_logprobs (generated before the engine kept them); score "
                         f"perplexity by running the model again with {RESCORE_FIX}")
    out = []
    for i, rec in enumerate(records):
        lp, ids = rec["token_logprobs"], rec.get("token_ids")
        if ids is not None and len(ids) != len(lp):
            raise ValueError(f"records[{i}].token_logprobs has {len(lp)} values for "
                             f"{len(ids)} token_ids; regenerate the row or use {RESCORE_FIX}")
        n = len(lp) - (1 if lp and rec.get("finish_reason") == "eos" else 0)
        out.append(ContinuationScore(-math.fsum(float(x) for x in lp[:n]), n))
    return out
