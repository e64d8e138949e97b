"""The filtering chain and the draw, with per-row parameters, equal to Hugging Face's warpers.

    repetition penalty (last `rep_window` real tokens; CTRL / HF sign convention)
      -> temperature -> top-k -> top-p -> candidate pool (keep the N most probable) -> draw

With the parameters held fixed, `apply_sampling_params` equals `RepetitionPenaltyLogitsProcessor`
-> `TemperatureLogitsWarper` -> `TopKLogitsWarper` -> `TopPLogitsWarper` (then the pool cut).
After the penalty everything runs on the top `max_top_k` candidates (one `torch.topk`), never a
full-vocabulary sort. Ties at the k-th value keep exactly k tokens (topk order) where HF keeps
all tied tokens; with continuous logits the two agree. This module knows nothing of alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from alpha.protocol import Generators
from alpha.uncertainty import sanitize_logits

NEG_INF = float("-inf")


@dataclass
class Candidates:
    """The kept candidates of each row, most probable first.

    Attributes:
        logits: `(B, K)` float32 penalised, temperature-scaled logits; -inf where removed.
        index: `(B, K)` int64 vocabulary ids.
    """

    logits: torch.Tensor
    index: torch.Tensor

    def to_full(self, vocab_size: int) -> torch.Tensor:
        """`(B, V)` logits, -inf outside the kept set."""
        b = self.logits.shape[0]
        full = self.logits.new_full((b, vocab_size), NEG_INF)
        return full.scatter_(1, self.index, self.logits)


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


def keep_mask(sorted_logits: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor,
              candidate_size: torch.Tensor) -> torch.Tensor:
    """Which of the sorted candidates survive top-k -> top-p -> candidate pool.

    Args:
        sorted_logits: `(B, K)` temperature-scaled logits, descending.
        top_k, candidate_size: `(B,)` whole numbers >= 1.
        top_p: `(B,)` in (0, 1], float64 for HF's threshold `1 - top_p`.

    Returns:
        `(B, K)` bool. Top-p is HF's rule: ascending cumulative probability <= 1 - top_p is
        removed, the most probable token always kept.
    """
    k = sorted_logits.shape[1]
    pos = torch.arange(k, device=sorted_logits.device)  # (K,)
    in_k = pos < top_k[:, None]  # (B, K)
    z = torch.where(in_k, sorted_logits, NEG_INF).flip(1)  # ascending
    cum = z.softmax(-1).cumsum(-1).flip(1)  # (B, K) descending positions
    thresh = (1.0 - top_p.double()).to(cum.dtype)[:, None]
    in_p = (cum > thresh) | (pos == 0)
    return in_k & in_p & (pos < candidate_size[:, None])


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


def uniforms(batch: int, generators: Generators, device=None) -> torch.Tensor:
    """`(B,)` uniforms in [0, 1): row i from `generators[i]` when a list is given."""
    if isinstance(generators, (list, tuple)):
        if len(generators) != batch:
            raise ValueError(f"generators is a list of {len(generators)}; expected one per row "
                             f"({batch}) or a single torch.Generator")
        return torch.cat([torch.rand(1, generator=g, device=g.device) for g in generators]
                         ).to(device) if batch else torch.zeros(0, device=device)
    if generators is None:
        return torch.rand(batch, device=device)
    return torch.rand(batch, generator=generators, device=generators.device).to(device)


def draw(logits: torch.Tensor, generators: Generators = None,
         index: torch.Tensor | None = None) -> torch.Tensor:
    """Sample one position per row from softmax(logits) by inverse CDF.

    Args:
        logits: `(B, K)` (-inf = never drawn; each row needs a finite entry).
        generators: one `torch.Generator`, a list with one per row (row i uses only
            generators[i]), or None (torch's global generator).
        index: `(B, K)` ids to return instead of positions (e.g. `Candidates.index`).

    Returns:
        `(B,)` int64. Same generator state -> same tokens.
    """
    return draw_with(logits, uniforms(logits.shape[0], generators, logits.device), index)


def draw_with(logits: torch.Tensor, u: torch.Tensor,
              index: torch.Tensor | None = None) -> torch.Tensor:
    """`draw` with the uniforms given: `u` `(B,)` in [0, 1), one per row."""
    b, k = logits.shape
    probs = torch.softmax(logits.float(), dim=-1)  # (B, K)
    cdf = probs.cumsum(-1)
    pos = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None].contiguous(), right=True)  # (B, 1)
    last = ((probs > 0) * torch.arange(1, k + 1, device=logits.device)).argmax(1, keepdim=True)
    pos = torch.minimum(pos, last)
    out = pos if index is None else index.gather(1, pos)
    return out.squeeze(1)
