"""Choosing the five sampling parameters so the filtered distribution has a target entropy.

Two solvers, picked by `SamplerConfig.solver`:

- `bisection` (correct). One scalar s in [0, 1] drives all five parameters along a monotone
  path from the most restrictive corner to the most permissive one:
      temperature, top_k, top_p, candidate_size = lo + (hi - lo) * s   (top_k, size rounded)
      rep_penalty = rep_penalty_max - (rep_penalty_max - rep_penalty_min) * s
  Why this path: the normalised entropy of the filtered distribution never decreases when
  temperature rises (a softmax flattens) or when top_k, top_p or the pool size grow (the kept
  set gains a token less probable than all kept ones, which always adds entropy), so H(s) is
  non-decreasing apart from the penalty's effect, and a low target (a confident model) also
  gets the strongest repetition penalty. Stage 1 bisects s (`solver_iters` steps, keeping
  H(lo) < target <= H(hi), so it finds a crossing even where the penalty bends the curve).
  Integer top_k / pool size and top-p make H(s) jump where a token enters the kept set; when
  the target sits in such a jump, stage 2 holds top_k, top_p, pool size and penalty at the
  lower side and bisects temperature alone up to temp_max. The best of the stage-1 ends and the
  stage-2 ends is returned: within 1e-3 of the target whenever one of them reaches it, else the
  nearest bound. Vectorised over rows: no Python loop over sequences, no host sync.
- `seed_adam` (the original, for ablations). Parameters are lo + (hi - lo) * sigmoid(theta)
  with theta started at the `base_*` values (as if they were logits), Adam on the squared error
  of the filtered entropy, at most `opt_max_iters` steps, a row stops once its loss <
  `opt_tolerance`. Only temperature gets a gradient (the masks are not differentiable and the
  penalty is not in the loss), so the other four stay at their sigmoid-mapped start values.

Entropies here are computed on a candidate pool: the raw top (top_k_max + rep_window) logits
plus the recently seen tokens, which provably contains the top top_k_max tokens after any
penalty. This module knows the config's bounds and nothing about alpha or models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from alpha.config import SamplerConfig
from alpha.filtering import NEG_INF, keep_mask
from alpha.uncertainty import entropy_varentropy

PARAM_NAMES = ("temperature", "top_k", "top_p", "rep_penalty", "candidate_size")


@dataclass
class SamplingParams:
    """Per-row sampling parameters, each `(B,)` float32 (top_k, candidate_size whole)."""

    temperature: torch.Tensor
    top_k: torch.Tensor
    top_p: torch.Tensor
    rep_penalty: torch.Tensor
    candidate_size: torch.Tensor

    def stack(self) -> torch.Tensor:
        return torch.stack([getattr(self, n) for n in PARAM_NAMES], dim=-1)  # (..., 5)

    @classmethod
    def unstack(cls, t: torch.Tensor) -> SamplingParams:
        return cls(*t.unbind(-1))

    def rounded(self) -> SamplingParams:
        """top_k and candidate_size rounded to whole numbers (what the filter uses)."""
        return SamplingParams(self.temperature, self.top_k.round(), self.top_p,
                              self.rep_penalty, self.candidate_size.round())

    def select(self, index: torch.Tensor) -> SamplingParams:
        return SamplingParams(*(getattr(self, f.name)[index] for f in fields(self)))

    def as_kwargs(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, n) for n in PARAM_NAMES}


def smooth(prev: SamplingParams | None, new: SamplingParams, factor: float,
           has_prev: torch.Tensor | None = None) -> SamplingParams:
    """Exponential smoothing: factor * prev + (1 - factor) * new (rows without prev: new)."""
    if prev is None or factor == 0.0:
        return new
    out = factor * prev.stack() + (1.0 - factor) * new.stack()  # (B, 5)
    if has_prev is not None:
        out = torch.where(has_prev[:, None], out, new.stack())
    return SamplingParams.unstack(out)


def _bounds(cfg: SamplerConfig, device) -> tuple[torch.Tensor, torch.Tensor]:
    lo = torch.tensor([cfg.temp_min, cfg.top_k_min, cfg.top_p_min, cfg.rep_penalty_min,
                       cfg.candidate_size_min], dtype=torch.float32, device=device)
    hi = torch.tensor([cfg.temp_max, cfg.top_k_max, cfg.top_p_max, cfg.rep_penalty_max,
                       cfg.candidate_size_max], dtype=torch.float32, device=device)
    return lo, hi


def path_params(s: torch.Tensor, cfg: SamplerConfig) -> SamplingParams:
    """The monotone path: s `(B,)` in [0, 1] -> parameters (penalty runs max -> min)."""
    lo, hi = _bounds(cfg, s.device)
    frac = torch.stack([s, s, s, 1.0 - s, s], dim=-1)  # (B, 5)
    return SamplingParams.unstack(lo + (hi - lo) * frac).rounded()


@dataclass
class Pool:
    """Raw logits of each row's candidate pool and which entries are recently seen tokens.

    Attributes:
        logits: `(B, P)` float32 raw logits (-inf on duplicate entries).
        seen: `(B, P)` bool, the token is among the last rep_window real tokens.
        index: `(B, P)` vocabulary ids.
        log2_vocab: log2 V, the entropy normaliser.
    """

    logits: torch.Tensor
    seen: torch.Tensor
    index: torch.Tensor
    log2_vocab: float


def build_pool(x: torch.Tensor, input_ids: torch.Tensor, *, input_mask: torch.Tensor | None,
               rep_window: int, top_k_max: int) -> Pool:
    """Pool = raw top (top_k_max + W) ∪ the last W real tokens (W = window length used)."""
    b, v = x.shape
    ids = input_ids[:, -rep_window:].long()  # (B, W)
    mask = (torch.ones_like(ids, dtype=torch.bool) if input_mask is None
            else input_mask[:, -rep_window:].bool())
    ids = torch.where(mask, ids, 0).clamp(0, v - 1)
    top_idx = torch.topk(x, min(top_k_max + ids.shape[1], v), dim=-1).indices  # (B, K1)
    index = torch.cat([top_idx, ids], dim=1)  # (B, P)
    seen = ((index[:, :, None] == ids[:, None, :]) & mask[:, None, :]).any(-1)  # (B, P)
    sorted_ids, order = index.sort(dim=1, stable=True)
    dup_sorted = torch.zeros_like(sorted_ids, dtype=torch.bool)
    dup_sorted[:, 1:] = sorted_ids[:, 1:] == sorted_ids[:, :-1]
    dup = torch.zeros_like(dup_sorted).scatter_(1, order, dup_sorted)
    logits = torch.where(dup, NEG_INF, x.gather(1, index))
    return Pool(logits, seen, index, math.log2(max(v, 2)))


def pool_entropy(pool: Pool, params: SamplingParams, top_k_max: int) -> torch.Tensor:
    """Normalised entropy `(B,)` of the filtered distribution under `params` (rounded)."""
    pen = params.rep_penalty[:, None]
    v = pool.logits
    x = torch.where(pool.seen, torch.where(v < 0, v * pen, v / pen), v)  # (B, P)
    vals = torch.topk(x, min(top_k_max, x.shape[1]), dim=-1).values  # (B, K) descending
    z = vals / params.temperature[:, None]
    keep = keep_mask(z, params.top_k, params.top_p, params.candidate_size)
    h, _ = entropy_varentropy(torch.log_softmax(torch.where(keep, z, NEG_INF), dim=-1))
    return h / pool.log2_vocab


def _bisect(f, lo: torch.Tensor, hi: torch.Tensor, target: torch.Tensor, iters: int):
    """Vectorised bisection of a non-decreasing f: returns the final (lo, hi) per row."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        up = f(mid) >= target
        lo, hi = torch.where(up, lo, mid), torch.where(up, mid, hi)
    return lo, hi


def solve_bisection(pool: Pool, target: torch.Tensor, cfg: SamplerConfig) -> SamplingParams:
    """The correct solver (module docstring): path bisection, then temperature refinement.

    Args:
        pool: from `build_pool`.
        target: `(B,)` target normalised entropy.

    Returns:
        Parameters whose filtered entropy is closest to the target among the tried ends.
    """
    kmax = cfg.top_k_max

    def h_path(s):
        return pool_entropy(pool, path_params(s, cfg), kmax)

    zeros, ones = torch.zeros_like(target), torch.ones_like(target)
    s_lo, s_hi = _bisect(h_path, zeros, ones, target, cfg.solver_iters)
    options = [path_params(s_lo, cfg), path_params(s_hi, cfg)]
    t_min, t_max = torch.full_like(target, cfg.temp_min), torch.full_like(target, cfg.temp_max)
    p_max = torch.full_like(target, cfg.top_p_max)
    for side in list(options):
        for top_p in (side.top_p, p_max):
            def with_temp(t, side=side, top_p=top_p):
                return SamplingParams(t, side.top_k, top_p, side.rep_penalty, side.candidate_size)

            t_lo, t_hi = _bisect(lambda t, wt=with_temp: pool_entropy(pool, wt(t), kmax),
                                 t_min, t_max, target, cfg.solver_iters)
            options += [with_temp(t_lo), with_temp(t_hi)]
    stacked = torch.stack([o.stack() for o in options], dim=1)  # (B, n, 5)
    err = torch.stack([(pool_entropy(pool, o, kmax) - target).abs() for o in options], 1)
    best = err.argmin(dim=1)  # (B,) first minimum: on-path options win ties
    return SamplingParams.unstack(stacked[torch.arange(len(best)), best])


def solve_seed_adam(x: torch.Tensor, target: torch.Tensor, cfg: SamplerConfig) -> SamplingParams:
    """The original's optimiser, batched (module docstring); `x` is `(B, V)` sanitised logits.

    Adam is written out per row so a row that has converged stops exactly as the original's
    single sequence did; betas (0.9, 0.999) and eps 1e-8 are torch.optim.Adam's defaults.
    """
    b, v = x.shape
    lo, hi = _bounds(cfg, x.device)
    vals = torch.topk(x, min(cfg.top_k_max, v), dim=-1).values  # (B, K) raw, no penalty
    theta = torch.tensor([cfg.base_temp, cfg.base_top_k, cfg.base_top_p, cfg.base_rep_penalty,
                          cfg.base_candidate_size], dtype=torch.float32,
                         device=x.device).expand(b, 5).clone()
    m, s2 = torch.zeros_like(theta), torch.zeros_like(theta)
    active = torch.ones(b, dtype=torch.bool, device=x.device)
    b1, b2, eps, log_v = 0.9, 0.999, 1e-8, math.log2(max(v, 2))
    for step in range(1, cfg.opt_max_iters + 1):
        th = theta.detach().requires_grad_(True)
        p = lo + (hi - lo) * torch.sigmoid(th)  # (B, 5)
        z = vals / p[:, 0:1]
        keep = keep_mask(z.detach(), p[:, 1].detach().floor(), p[:, 2].detach(),
                         p[:, 4].detach().floor())
        h, _ = entropy_varentropy(torch.log_softmax(torch.where(keep, z, NEG_INF), dim=-1))
        loss = (h / log_v - target) ** 2  # (B,)
        active = active & (loss.detach() >= cfg.opt_tolerance)
        if not bool(active.any()):
            break
        (g,) = torch.autograd.grad(loss.sum(), th)
        g = torch.nan_to_num(g)
        m = torch.where(active[:, None], b1 * m + (1 - b1) * g, m)
        s2 = torch.where(active[:, None], b2 * s2 + (1 - b2) * g * g, s2)
        upd = cfg.opt_learning_rate * (m / (1 - b1**step)) / ((s2 / (1 - b2**step)).sqrt() + eps)
        theta = torch.where(active[:, None], theta - upd, theta)
    p = lo + (hi - lo) * torch.sigmoid(theta)
    out = SamplingParams.unstack(p)
    return SamplingParams(out.temperature, out.top_k.floor(), out.top_p, out.rep_penalty,
                          out.candidate_size.floor())
