"""Open-ended continuation of human text: a token prefix as the prompt, the rest as reference.

The MAUVE-style setup (Pillutla et al. 2021 prompt GPT-2 with the first 35 tokens of a
WebText passage and compare the model's continuation with the human one): the passage is
tokenised with the model's tokenizer (no special tokens), the first `prompt_tokens` tokens
are decoded as the prompt, the next (up to `max_reference_tokens`) as the human reference.
Splitting on tokens, not words, keeps the prompt length the same in model units across
passages. Pure functions over a tokenizer; no model.
"""

from __future__ import annotations

from collections.abc import Sequence


def split_continuation(text: str, tokenizer, prompt_tokens: int = 35,
                       max_reference_tokens: int | None = None,
                       min_reference_tokens: int = 1) -> tuple[str, str] | None:
    """`(prompt, reference)` of one passage, or None when it has fewer than
    `prompt_tokens + min_reference_tokens` tokens.

    prompt = decode(ids[:prompt_tokens]); reference = decode(ids[prompt_tokens:][:max_ref]).
    """
    if prompt_tokens < 1 or min_reference_tokens < 1:
        raise ValueError(f"prompt_tokens={prompt_tokens} and min_reference_tokens="
                         f"{min_reference_tokens} must be >= 1")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]  # (T,)
    if len(ids) < prompt_tokens + min_reference_tokens:
        return None
    rest = ids[prompt_tokens:] if max_reference_tokens is None else \
        ids[prompt_tokens:prompt_tokens + max_reference_tokens]
    return tokenizer.decode(ids[:prompt_tokens]), tokenizer.decode(rest)


def split_passages(texts: Sequence[str], tokenizer, prompt_tokens: int = 35,
                   max_reference_tokens: int | None = None,
                   min_reference_tokens: int = 1) -> list[tuple[int, str, str]]:
    """`(index, prompt, reference)` for every passage long enough (short ones are skipped;
    `index` is the passage's position, so runs stay comparable)."""
    out = []
    for i, t in enumerate(texts):
        pair = split_continuation(t, tokenizer, prompt_tokens, max_reference_tokens,
                                  min_reference_tokens)
        if pair is not None:
            out.append((i, *pair))
    return out
