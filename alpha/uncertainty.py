"""Entropy and varentropy of next-token logits and of attention rows (batched; bits unless asked).

    H  = -sum_i p_i log2 p_i                 (entropy)
    VH =  sum_i p_i (-log2 p_i - H)^2        (varentropy: variance of the surprisal)

Normalised forms divide by log2 N and (log2 N)^2, N the number of outcomes (the vocabulary, or a
row's real key positions), so uniform -> 1 for entropy. Zero-probability outcomes contribute
nothing. `entropy_varentropy` is the one helper (bits or nats, any distribution);
`token_entropy_varentropy` is its full-vocabulary fast path for logits (in place, fewer
passes). This module knows nothing about samplers or models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from alpha.protocol import host_reads_allowed

LN2 = math.log(2.0)


def sanitize_logits(logits: torch.Tensor) -> torch.Tensor:
    """float32 copy with NaN -> -inf; a row with +inf keeps only its +inf entries (as 0.0).

    Args:
        logits: `(B, V)` any float dtype.

    Returns:
        `(B, V)` float32 (the input itself when it is finite float32: callers never write
        into it). A row with one or more +inf is the limit of its distribution: uniform over
        the +inf tokens.

    Raises:
        ValueError: a row has no finite value and no +inf (all -inf/NaN): nothing to sample.
            Checked where host reads are allowed (CPU, `host_reads_allowed`); on an
            accelerator the step reads nothing back and such a row draws its first token.
    """
    x = logits.float()
    reads = host_reads_allowed(x)
    if reads and bool(torch.isfinite(x.sum())):  # fast path (a NaN/inf makes the sum non-finite)
        return x
    x = x.nan_to_num(nan=float("-inf"), posinf=float("inf"), neginf=float("-inf"))
    pos = torch.isposinf(x)  # (B, V)
    has_pos = pos.any(dim=-1, keepdim=True)  # (B, 1)
    x = torch.where(has_pos, torch.where(pos, 0.0, float("-inf")), x)
    if not reads:
        return x
    dead = torch.isneginf(x).all(dim=-1)  # (B,)
    if bool(dead.any()):
        rows = dead.nonzero().flatten().tolist()
        raise ValueError(f"logits rows {rows} have no finite value (all -inf or NaN); "
                         "expected at least one finite logit per row")
    return x


def entropy_varentropy(logp: torch.Tensor, dim: int = -1, *,
                       unit: str = "bits") -> tuple[torch.Tensor, torch.Tensor]:
    """Entropy and varentropy from natural-log probabilities (-inf allowed): the one helper.

    Args:
        logp: `(..., N)` log-probabilities (natural log) summing to 1 over `dim` (or all -inf
            for an empty distribution, which gives 0, 0).
        unit: "bits" (log base 2) or "nats" (natural log).

    Returns:
        `(H, VH)`, each `(...)`: bits and bits^2, or nats and nats^2.

    >>> h, _ = entropy_varentropy(torch.full((4,), 0.25).log(), unit="nats")
    >>> round(float(h), 6) == round(math.log(4), 6)
    True
    """
    if unit not in ("bits", "nats"):
        raise ValueError(f"unit={unit!r} is unknown; choose 'bits' or 'nats'")
    p = logp.exp()
    surprisal = torch.where(p > 0, -logp, 0.0)  # nats, 0 where p == 0
    if unit == "bits":
        surprisal = surprisal / LN2
    h = (p * surprisal).sum(dim)
    vh = (p * (surprisal - h.unsqueeze(dim)) ** 2).sum(dim)
    return h, vh


def token_entropy_varentropy(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Entropy and varentropy (bits) of softmax(logits), in few full-vocabulary passes and one exp.

    Args:
        logits: `(B, V)`; -inf entries have probability 0 (call `sanitize_logits` first for
            NaN/+inf).

    Returns:
        `(H, VH)`, each `(B,)` float32. Normalise with `/ log2 V` and `/ (log2 V)^2`.
        With d = logits - max and Z = sum exp(d): H = ln Z - E[d], VH = Var[d] (the
        surprisal is ln Z - d), clamped at 0; under torch.compile the three sums fuse into
        one pass over the logits.

    >>> h, _ = token_entropy_varentropy(torch.zeros(1, 8))
    >>> round(float(h), 6)
    3.0
    """
    x = logits.float()
    d = x - x.amax(-1, keepdim=True)  # (B, V) <= 0: ln p + ln Z, Z = sum exp(d) >= 1
    e = d.exp()  # the one exp pass
    d = d.clamp_min_(-1e4)  # -inf -> finite, weight 0
    s0 = e.sum(-1)
    mean_d = torch.linalg.vecdot(d, e) / s0  # E[d]
    vh = (torch.linalg.vecdot(d * d, e) / s0 - mean_d * mean_d).clamp_min(0.0)  # Var[d]
    h = s0.log() - mean_d  # nats: E[-ln p] = ln Z - E[d]
    return h / LN2, vh / LN2**2


def attention_entropy_varentropy(
    attention: torch.Tensor, key_mask: torch.Tensor | None = None, *, mode: str = "mean_heads",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised entropy and varentropy of the last query's attention over real keys.

    Args:
        attention: `(B, H, S)` attention probabilities of the last query position.
        key_mask: `(B, S)` bool, True at real (non-padding) keys; None = all real. Masked
            positions count for nothing: rows are renormalised over real keys.
        mode: "mean_heads" averages the heads, then takes entropy (the original);
            "per_head" takes each head's entropy, then averages.

    Returns:
        `(H / log2 n, VH / (log2 n)^2)`, each `(B,)`, n the row's number of real keys
        (0 when n <= 1: a single key carries no uncertainty).

    Raises:
        ValueError: wrong shapes, or an unknown mode.
    """
    if attention.dim() != 3:
        raise ValueError(f"attention must be (B, H, S); got shape {tuple(attention.shape)}")
    b, _, s = attention.shape
    if key_mask is None:
        key_mask = torch.ones(b, s, dtype=torch.bool, device=attention.device)
    if tuple(key_mask.shape) != (b, s):
        raise ValueError(f"key_mask must be (B, S) = ({b}, {s}) to match attention "
                         f"{tuple(attention.shape)}; got {tuple(key_mask.shape)}")
    if mode not in ("mean_heads", "per_head"):
        raise ValueError(f"attention mode={mode!r} is unknown; choose 'mean_heads' or 'per_head'")
    mask = key_mask.bool()
    a = attention.float().nan_to_num(0.0).clamp_min(0.0) * mask[:, None, :]  # (B, H, S)
    if mode == "mean_heads":
        a = a.mean(dim=1, keepdim=True)  # (B, 1, S)
    total = a.sum(-1, keepdim=True)  # (B, h, 1)
    logp = torch.where(a > 0, (a / total.clamp_min(1e-30)).log(), float("-inf"))
    h, vh = entropy_varentropy(logp)  # (B, h)
    h, vh = h.mean(1), vh.mean(1)  # (B,)
    log_n = mask.sum(-1).float().clamp_min(1.0).log2()  # (B,)
    safe = log_n.clamp_min(1e-12)
    return torch.where(log_n > 0, h / safe, 0.0), torch.where(log_n > 0, vh / safe**2, 0.0)


def normalised_token_terms(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`(H / log2 V, VH / (log2 V)^2)` of softmax(logits `(B, V)`), each `(B,)`."""
    h, vh = token_entropy_varentropy(logits)
    log_v = math.log2(max(logits.shape[-1], 2))
    return h / log_v, vh / log_v**2


# ---- alpha: the sampler's combined uncertainty, and its moving average


@dataclass
class AlphaComponents:
    """alpha and its four normalised terms, each `(B,)` float32."""

    alpha: torch.Tensor
    h_tok: torch.Tensor
    vh_tok: torch.Tensor
    h_attn: torch.Tensor
    vh_attn: torch.Tensor


def alpha_terms(x: torch.Tensor, attention: torch.Tensor | None, key_mask: torch.Tensor | None,
                weights: tuple[float, float, float, float], mode: str) -> AlphaComponents:
    """alpha = w1 H_tok + w2 VH_tok + w3 H_attn + w4 VH_attn (normalised terms), `(B,)` each.

    Args:
        x: `(B, V)` sanitised logits. attention: `(B, H, S)` or None (attention terms 0).
        key_mask: `(B, S)` bool, True at real keys (None: all real).
        weights: the four weights in that order. mode: `attention_entropy_varentropy`'s mode.
    """
    h_tok, vh_tok = normalised_token_terms(x)
    if attention is None:
        h_attn, vh_attn = torch.zeros_like(h_tok), torch.zeros_like(h_tok)
    else:
        h_attn, vh_attn = attention_entropy_varentropy(attention, key_mask, mode=mode)
    w = weights
    alpha = w[0] * h_tok + w[1] * vh_tok + w[2] * h_attn + w[3] * vh_attn
    return AlphaComponents(alpha, h_tok, vh_tok, h_attn, vh_attn)


def push_window(window: torch.Tensor, count: torch.Tensor, alpha: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Push `(B,)` alpha into `(B, W)` windows; the new window, count and moving average."""
    w = window.shape[1]
    window = torch.cat([window[:, 1:], alpha.float()[:, None]], dim=1)
    count = (count + 1).clamp(max=w)
    valid = torch.arange(w, device=alpha.device) >= (w - count)[:, None]  # (B, W)
    return window, count, (window * valid).sum(1) / count


def push_total(total: torch.Tensor, steps: torch.Tensor, alpha: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Add `(B,)` alpha to the rows' running sums; the new sum, step count and average alpha
    of every step so far (the bisection solver's "average uncertainty")."""
    total = total + alpha.float()
    steps = steps + 1
    return total, steps, total / steps
