"""Choosing the five sampling parameters so the filtered distribution has a target entropy.

Two solvers, picked by `SamplerConfig.solver`:

- `bisection` (correct). Every setting of top-k, top-p and pool size keeps a prefix of the
  sorted (penalised) candidates, so any setting in the bounds is one kept-set size m at one
  temperature T, and its entropy H(m, T) is what matters. The monotone path is through (m, T):
      H(m, T) never decreases in T (a softmax flattens as T rises) and
      H(m, T) never decreases in m (adding a token less probable than every kept one adds
      entropy),
  so a binary search finds the smallest m with H(m, temp_max) >= target (the smallest set that
  can reach it: no needless tail), then bisection on T in [temp_min, temp_max] (`solver_iters`
  steps; H is continuous in T for a fixed set) hits the target. If the target lies in the gap
  between H(m - 1, temp_max) and H(m, temp_min) the nearer side is returned; above
  H(m_max, temp_max) the most permissive corner. All five parameters then follow (m, T):
      temperature = T; candidate_size = m and top_k = m (clamped to their bounds);
      top_p = mass of the top m - 1 + half the m-th token's probability (clamped), so each of
      the three set filters alone would cut at m (top_k = top_k_max where top_p_max < 1
      cannot cut at m, so top-p acts on the widest distribution);
      rep_penalty = rep_penalty_max - (rep_penalty_max - rep_penalty_min) * target /
      target_scale (clamped): a confident model (low target) gets the strongest penalty.
  The penalty is fixed before the search, so the landscape is monotone. Vectorised over rows:
  no Python loop over sequences; no host sync on an accelerator (one host read a step on CPU).
- `seed_adam` (the original, for ablations). Parameters are lo + (hi - lo) * sigmoid(theta)
  with theta started at the `base_*` values (as if they were logits), Adam on the squared error
  of the filtered entropy, at most `opt_max_iters` steps, a row stops once its loss <
  `opt_tolerance`. Only temperature gets a gradient (the masks are not differentiable and the
  penalty is not in the loss), so the other four stay at their sigmoid-mapped start values.

Entropies here are computed on a candidate pool: the raw top (top_k_max + rep_window) logits
plus the recently seen tokens, which provably contains the top top_k_max tokens after any
penalty. `choose_params` is the whole choice: target -> solver -> smoothing. This module
knows the config and nothing about how alpha is computed, or about models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from alpha.config import BOUNDS, SamplerConfig
from alpha.filtering import NEG_INF, keep_mask
from alpha.protocol import PARAM_NAMES
from alpha.uncertainty import LN2, entropy_varentropy


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
           has_prev: torch.Tensor) -> SamplingParams:
    """Exponential smoothing: factor * prev + (1 - factor) * new (rows without prev: new)."""
    if prev is None or factor == 0.0:
        return new
    out = factor * prev.stack() + (1.0 - factor) * new.stack()  # (B, 5)
    return SamplingParams.unstack(torch.where(has_prev[:, None], out, new.stack()))


def _bounds(cfg: SamplerConfig, device) -> tuple[torch.Tensor, torch.Tensor]:
    """`(5,)` lower and upper bounds in PARAM_NAMES order."""
    lo = torch.tensor([getattr(cfg, b[1]) for b in BOUNDS], dtype=torch.float32, device=device)
    hi = torch.tensor([getattr(cfg, b[2]) for b in BOUNDS], dtype=torch.float32, device=device)
    return lo, hi


def penalty_schedule(target: torch.Tensor, cfg: SamplerConfig) -> torch.Tensor:
    """Repetition penalty `(B,)`: rep_penalty_max at target 0, rep_penalty_min at target_scale."""
    u = (target / cfg.target_scale).clamp(0.0, 1.0)
    return cfg.rep_penalty_max - (cfg.rep_penalty_max - cfg.rep_penalty_min) * u


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

    def top(self, penalty: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The top-k `(B, K)` penalised logits (descending) and their vocabulary ids."""
        v, pen = self.logits, penalty[:, None]
        x = torch.where(self.seen, torch.where(v < 0, v * pen, v / pen), v)  # (B, P)
        vals, pos = torch.topk(x, min(k, x.shape[1]), dim=-1)
        return vals, self.index.gather(1, pos)


def build_pool(x: torch.Tensor, input_ids: torch.Tensor, *, input_mask: torch.Tensor | None,
               rep_window: int, top_k_max: int) -> Pool:
    """Pool = the top top_k_max *unseen* tokens ∪ the distinct last W real tokens (W = window).

    The penalty changes only seen tokens, so an unseen token outside the top top_k_max unseen
    has top_k_max unchanged tokens above it and can never enter the penalised top top_k_max:
    the pool holds the penalised top top_k_max for every penalty. Pool size top_k_max + W.
    """
    b, v = x.shape
    ids = input_ids[:, -rep_window:].long()  # (B, W)
    k1 = min(top_k_max, v)
    if ids.shape[1] == 0:
        vals, idx = torch.topk(x, k1, dim=-1)
        return Pool(vals, torch.zeros_like(idx, dtype=torch.bool), idx, math.log2(max(v, 2)))
    mask = (torch.ones_like(ids, dtype=torch.bool) if input_mask is None
            else input_mask[:, -rep_window:].bool())
    seen_ids = torch.where(mask, ids.clamp(0, v - 1), -1).sort(dim=1).values  # pads first
    first = seen_ids >= 0  # (B, W) a real id's first copy (sorted: copies are adjacent)
    first[:, 1:] &= seen_ids[:, 1:] != seen_ids[:, :-1]
    # Mask the seen tokens out of x: pads write to the row's largest id (or, in a row with no
    # real id, write x's own value back to id 0), so every write in a row agrees.
    has_real = seen_ids[:, -1:] >= 0  # (B, 1)
    at = torch.where(seen_ids >= 0, seen_ids, seen_ids[:, -1:]).clamp(min=0)
    unseen = x.scatter(1, at, torch.where(has_real, NEG_INF, x.gather(1, at)))
    top_vals, top_idx = torch.topk(unseen, k1, dim=-1)  # (B, K1); -inf = a seen token
    seen_vals = torch.where(first, x.gather(1, seen_ids.clamp(min=0)), NEG_INF)
    return Pool(torch.cat([top_vals, seen_vals], 1),
                torch.cat([torch.zeros_like(top_idx, dtype=torch.bool), first], 1),
                torch.cat([top_idx, seen_ids.clamp(min=0)], 1), math.log2(max(v, 2)))


def filtered_entropy(z: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """Entropy (bits) `(B,)` after top-k/top-p/pool on sorted scaled logits `z` `(B, K)`."""
    keep = keep_mask(z, params.top_k, params.top_p, params.candidate_size)
    h, _ = entropy_varentropy(torch.log_softmax(torch.where(keep, z, NEG_INF), dim=-1))
    return h


def set_params(vals: torch.Tensor, m: torch.Tensor, temperature: torch.Tensor,
               penalty: torch.Tensor, cfg: SamplerConfig) -> SamplingParams:
    """Parameters whose three set filters all keep the top m tokens at this temperature.

    top_k = m and candidate_size = m (clamped to their bounds), top_p = the mass of the top
    m - 1 plus half the m-th token's probability (clamped), so top-p alone keeps exactly m with
    a margin against rounding: each filter alone would cut at m. Where a bound forbids that (e.g.
    top_p_max < 1 cuts earlier), the filters are still applied honestly by the caller.
    """
    mf = m.float()
    k = mf.clamp(cfg.top_k_min, cfg.top_k_max)
    z = vals / temperature[:, None]  # (B, K)
    pos = torch.arange(z.shape[1], device=z.device)
    probs = torch.where(pos < k[:, None], z, NEG_INF).softmax(-1).double()
    mass = (probs * (pos < mf[:, None] - 1)).sum(-1)  # (B,) mass of the top m - 1
    last = probs.gather(1, (mf.long() - 1).clamp(0, z.shape[1] - 1)[:, None])[:, 0]
    top_p = (mass + 0.5 * last).clamp(cfg.top_p_min, cfg.top_p_max).float()
    k = torch.where(mass + 0.5 * last > cfg.top_p_max, float(cfg.top_k_max), k)  # widest nucleus
    return SamplingParams(temperature, k, top_p, penalty,
                          mf.clamp(cfg.candidate_size_min, cfg.candidate_size_max))


def _log_weights(vals: torch.Tensor, m_max: int, cfg: SamplerConfig) -> torch.Tensor:
    """`(B, 1, K')` float64 log-weights at T = 1, the top candidate's 0, over the only prefix a
    set of size <= m_max can read: the kept count is <= k, and the top-p search is capped at
    k - 1, with k <= max(m, top_k_min) unless top-p widens it to top_k_max, which needs
    top_p_max < 1 (raw_p <= 1 always). Every quantity below is a ratio of prefix sums, so no
    normaliser over all candidates is needed."""
    k_need = max(m_max, cfg.top_k_min if cfg.top_p_max >= 1.0 else cfg.top_k_max)
    v = vals[:, :max(1, min(k_need, vals.shape[-1]))].double()
    return (v - v[:, :1])[:, None, :]


def _prefix_sums(base: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """`(2, B, Nt, K')`: S_n (mass) and C_n (sum of p ln p) of the top n at each of the `(B, Nt)`
    temperatures, from `_log_weights`."""
    logp = (base / t[..., None].double()).clamp_min(-1e4)
    p = logp.exp()
    return torch.stack([p, p * logp]).cumsum(-1)


def _kept_entropy(sc: torch.Tensor, s4: tuple[torch.Tensor, ...], k0: torch.Tensor,
                  size: torch.Tensor, cfg: SamplerConfig) -> torch.Tensor:
    """Entropy (bits, float32) of the set `set_params` keeps, from the prefix sums `sc` and S at
    n = m - 1, m, k0 and top_k_max (`s4`); k0 = m clamped to the top-k bounds, size = m clamped
    to the pool bounds; all `(B, Nt, g)`. HF's top-p rule: S_{j-1} < p * S_k keeps token j."""
    s_cum, last = sc[0], sc.shape[-1] - 1
    s_m1, s_m, s_k0, s_kmax = s4
    raw_p = (s_m1 + s_m) / 2 / s_k0  # within the top k
    if cfg.top_p_max >= 1.0:  # raw_p <= 1 <= top_p_max: top-p never widens the top-k
        k, thr = k0, raw_p.clamp(cfg.top_p_min, cfg.top_p_max) * s_k0
    else:
        wide = raw_p > cfg.top_p_max
        k = torch.where(wide, cfg.top_k_max, k0)
        thr = raw_p.clamp(cfg.top_p_min, cfg.top_p_max) * torch.where(wide, s_kmax, s_k0)
    nucleus = 1 + torch.minimum(torch.searchsorted(s_cum, thr), k - 1)
    kept = torch.minimum(torch.minimum(k, size), nucleus)  # >= 1
    s_m, c_m = sc.gather(-1, (kept - 1).clamp(0, last).expand(2, *kept.shape)).unbind(0)
    return ((s_m.log() - c_m / s_m) / LN2).float()


def _size_terms(m: torch.Tensor, cfg: SamplerConfig, last: int):
    """What depends on the set sizes only: gather positions of S at m - 1, m, k0, top_k_max
    (`(..., 4g)`, and which are real: S_0 = 0), k0 and the pool size."""
    k0 = m.clamp(cfg.top_k_min, cfg.top_k_max)
    n4 = torch.cat([m - 1, m, k0, torch.full_like(m, cfg.top_k_max)], dim=-1)
    return (n4 - 1).clamp(0, last), n4 > 0, k0, m.clamp(cfg.candidate_size_min,
                                                        cfg.candidate_size_max)


def grid_entropy(vals: torch.Tensor, m: torch.Tensor, t: torch.Tensor,
                 cfg: SamplerConfig, m_max: int | None = None) -> torch.Tensor:
    """Entropy (bits) `(B, N)` of `set_params(m, t)` for N (m, t) pairs per row at once.

    Uses prefix sums of p and p ln p over the sorted candidates: the renormalised top-n set has
    entropy ln S_n - C_n / S_n. The kept count follows `set_params` and HF's top-p rule (the
    top-p count is a `searchsorted` on the prefix masses).

    Args:
        vals: `(B, K)` penalised logits, descending. m: `(B, N)` long set sizes.
        t: `(B, N)` temperatures, one per (row, pair), or `(B, 1)`: one shared by the N sizes.
        m_max: an upper bound of `m` (None: read from `m`, a host sync on GPU).
    """
    b, n_pairs = m.shape
    nt = t.shape[1]
    g = n_pairs // nt  # sizes grouped by their temperature: everything below is (B, Nt, g)
    if m_max is None:
        m_max = int(m.max()) if m.numel() else 1
    sc = _prefix_sums(_log_weights(vals, m_max, cfg), t)  # (2, B, Nt, K')
    at4, real4, k0, size = _size_terms(m.view(b, nt, g), cfg, sc.shape[-1] - 1)
    s4 = torch.where(real4, sc[0].gather(-1, at4), 0.0).split(g, dim=-1)
    return _kept_entropy(sc, s4, k0, size, cfg).view(b, n_pairs)


def fixed_size_entropy(vals: torch.Tensor, m: torch.Tensor, cfg: SamplerConfig,
                       m_max: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """`grid_entropy` for one set size per row, as a function of temperatures.

    The solver's temperature rounds keep each row's m fixed, so everything that depends only on
    m (the gather positions, the top-k and pool caps) is computed here once; the returned
    function does the per-temperature part with the same helpers, so its values equal
    `grid_entropy(vals, m[:, None].expand(B, G), ts, cfg, m_max)` exactly.

    Args:
        vals: `(B, K)` penalised logits, descending. m: `(B,)` long set sizes, <= m_max.

    Returns:
        `ts (B, G) -> (B, G)` entropies in bits (float32).
    """
    base = _log_weights(vals, m_max, cfg)  # (B, 1, K')
    at4, real4, k0, size = _size_terms(m[:, None, None], cfg, base.shape[-1] - 1)  # (B, 1, .)

    def entropy(ts: torch.Tensor) -> torch.Tensor:
        sc = _prefix_sums(base, ts)  # (2, B, G, K')
        s4 = torch.where(real4, sc[0].gather(-1, at4.expand(*ts.shape, 4)), 0.0)
        return _kept_entropy(sc, s4.split(1, dim=-1), k0, size, cfg)[..., 0]

    return entropy


def solve_bisection(pool: Pool, target: torch.Tensor, cfg: SamplerConfig, *,
                    read_prefix: bool = True) -> SamplingParams:
    """The correct solver (module docstring): smallest set size, then temperature.

    Every m in [1, m_max] is scored at temp_max in one batched pass; temperature is then
    searched 16 points at a time (each round shrinks the bracket 17x), so a step costs a few
    dozen tensor ops whatever the batch size.

    Args:
        pool: from `build_pool`.
        target: `(B,)` target normalised entropy.
        read_prefix: on CPU, read the largest chosen set size from the tensor (one host read)
            so the temperature rounds skip the unused prefix; False always uses the full
            prefix (same values; what a compiled step needs: no data-dependent shapes).

    Returns:
        `(B,)` parameters; their filtered entropy is within the search precision of the target
        when any setting inside the bounds reaches it, else the nearest reachable value.
    """
    b = target.shape[0]
    pen = penalty_schedule(target, cfg)
    vals, _ = pool.top(pen, cfg.top_k_max)  # (B, K) penalised, descending
    goal = target * pool.log2_vocab  # bits
    m_hi = min(cfg.candidate_size_max, cfg.top_k_max, vals.shape[1])
    ms = torch.arange(1, m_hi + 1, device=vals.device).expand(b, m_hi)  # (B, M)
    h_m = grid_entropy(vals.double(), ms,
                       torch.full((b, 1), cfg.temp_max, device=vals.device), cfg, m_hi)
    ok = h_m >= goal[:, None]  # non-decreasing in m
    m = torch.where(ok.any(1), ok.float().argmax(1) + 1, m_hi)  # smallest m reaching the goal
    grid, t_lo = 16, torch.full_like(target, cfg.temp_min)
    t_hi = torch.full_like(target, cfg.temp_max)
    frac = torch.arange(1, grid + 1, device=vals.device) / (grid + 1)  # (G,)
    goal_c, pair = goal[:, None], torch.arange(2, device=vals.device)
    # The rounds read only the prefix up to the largest chosen m. On CPU that is worth one host
    # read; on an accelerator the read would stall the queue, and the full prefix is cheap.
    # Either way the values are the same (nothing past the prefix is read).
    m_top = (int(m.max()) if b else 1) if read_prefix and vals.device.type == "cpu" else m_hi
    h_t = fixed_size_entropy(vals, m, cfg, m_top)
    for _ in range(math.ceil(cfg.solver_iters / math.log2(grid + 1))):
        ts = t_lo[:, None] + (t_hi - t_lo)[:, None] * frac  # (B, G)
        j = (h_t(ts) < goal_c).sum(1)  # points below the goal
        pts = torch.cat([t_lo[:, None], ts, t_hi[:, None]], dim=1)  # (B, G + 2)
        t_lo, t_hi = pts.gather(1, j[:, None] + pair).unbind(1)  # H non-decreasing in T
    t_max = torch.full_like(target, cfg.temp_max)
    options = [(m, t_hi), (m, t_lo), ((m - 1).clamp(min=1), t_max)]  # last: across a gap
    # The three options scored in one pass: rows [option 0 | option 1 | option 2].
    vals3 = vals.repeat(3, 1)  # (3B, K)
    p3 = set_params(vals3, torch.cat([mm for mm, _ in options]),
                    torch.cat([tt for _, tt in options]), pen.repeat(3), cfg)
    err = (filtered_entropy(vals3 / p3.temperature[:, None], p3).view(3, b)
           - goal).abs().T  # (B, 3) honest: HF's rules on the candidates
    best = err.argmin(dim=1)
    stacked = p3.stack().view(3, b, 5)
    return SamplingParams.unstack(stacked[best, torch.arange(b, device=best.device)])


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


def choose_params(x: torch.Tensor, pool: Pool, alpha_mean: torch.Tensor,
                  prev: SamplingParams | None, has_prev: torch.Tensor, cfg: SamplerConfig, *,
                  read_prefix: bool = True) -> SamplingParams:
    """Target entropy -> solver -> smoothing with the rows' previous parameters (not rounded)."""
    target = cfg.target_scale * alpha_mean
    if cfg.solver == "seed_adam":
        solved = solve_seed_adam(x, target, cfg)
    else:
        solved = solve_bisection(pool, target, cfg, read_prefix=read_prefix)
    return smooth(prev, solved, cfg.param_smoothing_factor, has_prev)
