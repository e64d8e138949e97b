"""A repetition penalty in front of any baseline: the `rep_penalty` (and `rep_window`) keys.

`python run.py sampler=top_p sampler.rep_penalty=1.3` runs top-p behind the CTRL / Hugging Face
repetition penalty: every token id seen in the row's context (prompt and generated so far; the
last `rep_window` tokens when set) has its logit divided by the penalty when positive and
multiplied by it when negative, as `RepetitionPenaltyLogitsProcessor` does. Padding is never
penalised (the engine's `key_mask`), so a row in a left-padded batch is penalised exactly as the
row alone; without padding this equals transformers' processor (tests/test_rep_penalty.py).
It is the control the leaderboard issue asks for: top-p or min-p with a penalty like alpha's
(alpha's schedule moves between 1.1 and 1.5; a fixed penalty in that range isolates what the
penalty alone buys).
"""

from __future__ import annotations

import torch

from alpha import validation as V

NEUTRAL = {"rep_penalty": 1.0, "rep_window": None}  # the keys' values that change nothing


def penalise(logits: torch.Tensor, input_ids: torch.Tensor, key_mask: torch.Tensor | None,
             penalty: float, window: int | None = None) -> torch.Tensor:
    """`(B, V)` logits with every id of `input_ids` `(B, T)` that `key_mask` `(B, T)` marks real
    (the last `window` columns when set) penalised; a new tensor."""
    out = logits.float().clone()
    if input_ids.shape[1] == 0 or penalty == 1.0:
        return out
    ids = input_ids[:, -window:] if window else input_ids
    real = (torch.ones_like(ids, dtype=torch.bool) if key_mask is None
            else key_mask[:, -ids.shape[1]:].to(ids.device).bool())
    hits = torch.zeros_like(out).scatter_add_(  # (B, V) how often each id was seen for real
        1, torch.where(real, ids, 0).to(out.device), real.to(out.device, out.dtype))
    return torch.where(hits > 0, torch.where(out < 0, out * penalty, out / penalty), out)


class PenalisedSampler:
    """`inner` behind a fixed repetition penalty (module docstring); its state and traces are
    the inner sampler's, plus `rep_penalty`."""

    def __init__(self, inner, penalty: float, window: int | None = None):
        self.inner, self.penalty, self.window = inner, penalty, window
        self.needs_attention = getattr(inner, "needs_attention", False)

    def bind_tokenizer(self, tokenizer) -> None:
        if hasattr(self.inner, "bind_tokenizer"):  # e.g. DRY's sequence breakers
            self.inner.bind_tokenizer(tokenizer)

    def reset(self, batch_size: int) -> None:
        self.inner.reset(batch_size)

    def select_rows(self, index: torch.Tensor) -> None:
        self.inner.select_rows(index)

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        x = penalise(logits, input_ids, key_mask, self.penalty, self.window)
        res = self.inner.step(x, input_ids, attention=attention, key_mask=key_mask,
                              generators=generators)
        res.trace["rep_penalty"] = torch.full((x.shape[0],), self.penalty)
        return res


def split_penalty(params: dict) -> tuple[dict, float, int | None]:
    """(the other params, rep_penalty, rep_window), the two checked: penalty > 0, window >= 1."""
    params = dict(params)
    penalty = float(V.number("sampler.rep_penalty", params.pop("rep_penalty", 1.0), low=0.0,
                             low_open=True))
    window = params.pop("rep_window", None)
    if window is not None:
        V.whole("sampler.rep_window", window, low=1)
    return params, penalty, window
