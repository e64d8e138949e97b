"""Which tokens the repetition penalty may touch (`SamplerConfig.rep_penalty_scope`).

scope "all" (the original) penalises every token seen in the window. scope "lexical" exempts
the tokens whose text carries no word: punctuation, whitespace, newlines and symbols (a token
is exempt when its decoded text has no letter or digit). Text needs commas and full stops
again and again; penalising them made the adaptive sampler's texts run on with little
punctuation (experiments/quality_gap/README.md).

The exemption is exact, not approximate: an exempt token is simply not "seen", so the
penalty leaves its logit as it is and every other logit as HF's
`RepetitionPenaltyLogitsProcessor` would set it. `penalised_positions` expresses that as the
input mask the penalty code already takes (False = never penalised, like padding).
This module reads token texts from a tokenizer; it knows nothing of models or of alpha.
"""

from __future__ import annotations

import torch

REPLACEMENT_CHAR = "\ufffd"  # a byte-level token that is part of a multi-byte character


def is_exempt_text(text: str) -> bool:
    """True when a token's text has no letter or digit (str.isalnum, any script): ",", ".",
    "\\n", " ", "--", "$". A partial UTF-8 byte (decodes to U+FFFD) is not exempt: it may be
    part of a word in a non-Latin script.

    >>> [is_exempt_text(t) for t in (",", " .", "\\n\\n", " the", "2", "\\ufffd")]
    [True, True, True, False, False, False]
    """
    return REPLACEMENT_CHAR not in text and not any(ch.isalnum() for ch in text)


def lexical_exempt_mask(tokenizer) -> torch.Tensor:
    """`(V,)` bool, V = len(tokenizer): True at the ids the "lexical" scope never penalises.

    Each id is decoded alone (special tokens as their text, e.g. "<|im_end|>", which has
    letters: not exempt). One pass over the vocabulary (~0.6 s for 49k tokens); the sampler
    keeps the result for as long as it is given the same tokenizer.
    """
    n = len(tokenizer)
    if n == 0:
        raise ValueError("tokenizer has no tokens; load the tokenizer that belongs to the model")
    texts = tokenizer.batch_decode([[i] for i in range(n)], skip_special_tokens=False,
                                   clean_up_tokenization_spaces=False)
    return torch.tensor([is_exempt_text(t) for t in texts], dtype=torch.bool)


def check_exempt_mask(exempt: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """`exempt` as a `(V,)` bool tensor of the logits' width: shorter masks (a tokenizer
    smaller than the model's padded embedding) are extended with False; longer is an error."""
    if not isinstance(exempt, torch.Tensor) or exempt.dim() != 1 or exempt.dtype != torch.bool:
        shape = tuple(exempt.shape) if isinstance(exempt, torch.Tensor) else type(exempt).__name__
        raise ValueError(f"exempt_tokens must be a (V,) bool tensor; got {shape}")
    n = exempt.shape[0]
    if n > vocab_size:
        raise ValueError(f"exempt_tokens has {n} entries but the logits have {vocab_size} "
                         "columns; build it from the tokenizer of this model")
    if n < vocab_size:
        exempt = torch.cat([exempt, exempt.new_zeros(vocab_size - n)])
    return exempt


def penalised_positions(input_ids: torch.Tensor, input_mask: torch.Tensor | None,
                        exempt: torch.Tensor) -> torch.Tensor:
    """`(B, T)` bool: the positions of `input_ids` the penalty may read (real and not exempt).

    Args:
        input_ids: `(B, T)` tokens so far (pad positions may hold any id).
        input_mask: `(B, T)` bool, False at padding; None = all real.
        exempt: `(V,)` bool from `check_exempt_mask`.
    """
    v = exempt.shape[0]
    real = (torch.ones_like(input_ids, dtype=torch.bool) if input_mask is None
            else input_mask.bool())
    hit = exempt.to(input_ids.device)[input_ids.long().clamp(0, v - 1)]  # (B, T)
    return real & ~hit
