"""The filtering chain built from the library's kept-set rule: the HF-equality oracle of the tests.

`apply_sampling_params` runs repetition penalty -> temperature -> top-k -> top-p -> pool on the
top candidates with `alpha.filtering.keep_mask` (the rule the adaptive sampler's solvers use)
and returns full-vocabulary logits, so tests/test_filtering.py can compare it with Hugging
Face's own processor chain. It lived in the library until nothing but the tests used it.
"""

from __future__ import annotations

import torch

from alpha.filtering import NEG_INF, Candidates, keep_mask
from alpha.uncertainty import sanitize_logits


def row_param(name: str, value, batch: int, device, *, lo: float, hi: float,
              lo_open: bool = True, dtype=torch.float32) -> torch.Tensor:
    """A scalar or `(B,)` parameter as a `(B,)` tensor, checked to lie in its allowed range."""
    t = torch.as_tensor(value, dtype=dtype, device=device)
    if t.dim() == 0:
        t = t.expand(batch)
    if tuple(t.shape) != (batch,):
        raise ValueError(f"{name} must be a scalar or a ({batch},) tensor; got shape "
                         f"{tuple(t.shape)}")
    bad = ~((t > lo) if lo_open else (t >= lo)) | (t > hi) | t.isnan()
    if bool(bad.any()):
        rule = f"{lo} {'<' if lo_open else '<='} {name} <= {hi}"
        raise ValueError(f"{name}={t[bad][0].item()} (row {int(bad.nonzero()[0])}) is outside "
                         f"the allowed range {rule}")
    return t


def penalize_repetitions(
    logits: torch.Tensor, input_ids: torch.Tensor, penalty: torch.Tensor, *,
    input_mask: torch.Tensor | None = None, rep_window: int = 128,
) -> torch.Tensor:
    """HF's repetition penalty on the last `rep_window` real tokens, per-row penalty.

    Args:
        logits: `(B, V)` float32 (not modified).
        input_ids: `(B, T)` tokens so far; any T (0 -> no penalty; > rep_window -> the last
            rep_window columns).
        penalty: `(B,)` > 0; a seen token's logit is divided by it if positive, multiplied if
            negative.
        input_mask: `(B, T)` bool, False at padding (never penalised); None = all real.

    Returns:
        `(B, V)` new tensor.
    """
    b, v = logits.shape
    if input_ids.dim() != 2 or input_ids.shape[0] != b:
        raise ValueError(f"input_ids must be (B, T) with B={b}; got shape {tuple(input_ids.shape)}")
    if input_mask is not None and tuple(input_mask.shape) != tuple(input_ids.shape):
        raise ValueError(f"input_mask must match input_ids {tuple(input_ids.shape)}; got "
                         f"{tuple(input_mask.shape)}")
    out = logits.clone()
    if input_ids.shape[1] == 0 or b == 0:
        return out
    ids = input_ids[:, -rep_window:].long()  # (B, W)
    mask = (torch.ones_like(ids, dtype=torch.bool) if input_mask is None
            else input_mask[:, -rep_window:].bool())
    has_real = mask.any(1, keepdim=True)  # (B, 1)
    pos = torch.arange(1, ids.shape[1] + 1, device=ids.device)
    last = (mask * pos).argmax(1, keepdim=True)  # (B, 1) last real column
    fill = torch.where(has_real, ids.gather(1, last), 0)
    ids = torch.where(mask, ids, fill)  # pads point at a real token of the row: same write
    if bool(((ids < 0) | (ids >= v)).any()):
        raise ValueError(f"input_ids has token ids outside [0, {v}) at non-pad positions; "
                         "pass input_mask (False at padding) or fix the ids")
    seen = out.gather(1, ids)  # (B, W)
    p = penalty.to(out.dtype)[:, None]
    hit = torch.where(seen < 0, seen * p, seen / p)
    out.scatter_(1, ids, torch.where(has_real, hit, seen))
    return out


def filter_candidates(
    logits: torch.Tensor, input_ids: torch.Tensor, *, temperature, top_k, top_p, rep_penalty,
    candidate_size, input_mask: torch.Tensor | None = None, rep_window: int = 128,
) -> Candidates:
    """The chain on the top candidates only (see module docstring); arguments as
    `apply_sampling_params`."""
    b, v = logits.shape
    x = sanitize_logits(logits)
    dev = x.device
    temperature = row_param("temperature", temperature, b, dev, lo=0.0, hi=float("inf"))
    top_k = row_param("top_k", top_k, b, dev, lo=1, hi=float("inf"), lo_open=False).round()
    top_p = row_param("top_p", top_p, b, dev, lo=0.0, hi=1.0, dtype=torch.float64)
    rep_penalty = row_param("rep_penalty", rep_penalty, b, dev, lo=0.0, hi=float("inf"))
    candidate_size = row_param("candidate_size", candidate_size, b, dev, lo=1,
                               hi=float("inf"), lo_open=False).round()
    max_top_k = int(top_k.max()) if b else 1
    x = penalize_repetitions(x, input_ids, rep_penalty, input_mask=input_mask,
                             rep_window=rep_window)
    vals, idx = torch.topk(x, min(max_top_k, v), dim=-1)  # (B, K) descending
    vals = vals / temperature[:, None]
    keep = keep_mask(vals, top_k, top_p, candidate_size)
    return Candidates(torch.where(keep, vals, NEG_INF), idx)


def apply_sampling_params(
    logits: torch.Tensor, input_ids: torch.Tensor, *, temperature, top_k, top_p, rep_penalty,
    candidate_size, input_mask: torch.Tensor | None = None, rep_window: int = 128,
) -> torch.Tensor:
    """Filter logits with per-row (or scalar) parameters, like HF's processor chain.

    Args:
        logits: `(B, V)` any float dtype (computed in float32; NaN -> -inf; a row with +inf
            keeps only its +inf tokens; a row with no finite value raises). Not modified.
        input_ids: `(B, T)` tokens so far; the last `rep_window` real ones are penalised.
        temperature: > 0. top_k: whole >= 1. top_p: in (0, 1]. rep_penalty: > 0.
        candidate_size: whole >= 1. Each a scalar or a `(B,)` tensor.
        input_mask: `(B, T)` bool, False at (left) padding, which is never penalised.
        rep_window: how many trailing tokens the penalty looks at.

    Returns:
        `(B, V)` float32: penalised, temperature-scaled logits; -inf outside the kept set.

    >>> out = apply_sampling_params(torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([[0]]),
    ...     temperature=1.0, top_k=2, top_p=1.0, rep_penalty=2.0, candidate_size=5)
    >>> out.tolist()
    [[1.0, 1.0, -inf]]
    """
    cands = filter_candidates(logits, input_ids, temperature=temperature, top_k=top_k,
                              top_p=top_p, rep_penalty=rep_penalty, candidate_size=candidate_size,
                              input_mask=input_mask, rep_window=rep_window)
    return cands.to_full(logits.shape[-1])
