"""The kept-set rule and the draw, with per-row parameters, equal to Hugging Face's warpers.

    repetition penalty (last `rep_window` real tokens; CTRL / HF sign convention)
      -> temperature -> top-k -> top-p -> candidate pool (keep the N most probable) -> draw

`keep_mask` is the top-k -> top-p -> pool rule on descending candidates (HF's top-p threshold),
used by the adaptive sampler's solvers on the top `top_k_max` candidates (one `torch.topk`,
never a full-vocabulary sort); `draw`/`draw_with` sample from the kept set with per-row
generators. With the parameters held fixed, the chain built on `keep_mask` equals
`RepetitionPenaltyLogitsProcessor` -> `TemperatureLogitsWarper` -> `TopKLogitsWarper` ->
`TopPLogitsWarper` (tests/filtering_oracle.py builds it; tests/test_filtering.py compares).
Ties at the k-th value keep exactly k tokens (topk order) where HF keeps all tied tokens; with
continuous logits the two agree. This module knows nothing of alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from alpha.protocol import Generators

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
