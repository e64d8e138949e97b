"""Choosing the five sampling parameters so the filtered distribution has a target entropy.

Two solvers, picked by `SamplerConfig.solver`:

- `bisection` (correct). Every setting of top-k, top-p and pool size keeps a prefix of the
  sorted (penalised) candidates, so any setting in the bounds is one kept-set size m at one
  temperature T, and its entropy H(m, T) never decreases in T (a softmax flattens as T rises)
  nor in m (adding a token less probable than every kept one adds entropy). The target is
  `base_target`: the entropy of the `base_*` values at this step, moved by alpha's deviation
  from the row's average. The search follows a path through the base values: s in [-1, 1],
  s = 0 the base point, s = +-1 the permissive / restrictive corners, temperature, top_k,
  top_p and candidate_size linear in s on each half (`path_params`); along it T rises and the
  kept set only grows, so the entropy never decreases in s. 1. bisection on s brackets the
  crossing of the target (the one nearest s = 0 where the entropy is flat there: the target
  H_base gives the base values exactly); 2. for the kept set on each side of the crossing,
  bisection on T in [temp_min, temp_max] (prefix sums, `fixed_size_entropy`) hits the target;
  3. the two path points and the four (set, T) ends are re-scored with HF's rules, the nearest
  entropy wins (ties: the path points, then the temperature nearest the path's). A (set, T)
  answer is expressed as `set_params`: top_k = candidate_size = m (clamped), top_p = mass of
  the top m - 1 + half the m-th token's probability (clamped), so each of the three set
  filters alone would cut at m. The penalty (`penalty_schedule`) is fixed before the search:
  the base penalty at the base entropy, stronger for a lower target, weaker for a higher one.
  Vectorised over rows: no Python loop over sequences; no host sync on an accelerator (one host
  read a step on CPU).
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

from alpha.chunked_topk import chunked_topk_applies, topk_exact
from alpha.config import BOUNDS, SamplerConfig
from alpha.filtering import NEG_INF, keep_mask
from alpha.protocol import PARAM_NAMES, host_reads_allowed
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


def _bound_values(cfg: SamplerConfig) -> tuple[tuple[float, ...], tuple[float, ...],
                                               tuple[float, ...]]:
    lo = tuple(float(getattr(cfg, b[1])) for b in BOUNDS)
    hi = tuple(float(getattr(cfg, b[2])) for b in BOUNDS)
    base = (cfg.base_temp, cfg.base_top_k, cfg.base_top_p, cfg.base_rep_penalty,
            cfg.base_candidate_size)
    return lo, hi, tuple(min(max(float(v), a), b) for v, a, b in zip(base, lo, hi, strict=True))


_CONSTANTS: dict = {}


def _constants(cfg: SamplerConfig, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`(5,)` lower bounds, upper bounds and the clamped base point, in PARAM_NAMES order.
    Eagerly they are built once per (values, device) and reused: a step reads them ~10 times,
    and each fresh `torch.tensor` is three ops. Under torch.compile they are graph constants."""
    values = _bound_values(cfg)
    if torch.compiler.is_compiling():
        return tuple(torch.tensor(v, dtype=torch.float32, device=device) for v in values)
    key = (values, str(device))
    if key not in _CONSTANTS:
        _CONSTANTS[key] = tuple(torch.tensor(v, dtype=torch.float32, device=device)
                                for v in values)
    return _CONSTANTS[key]


def _bounds(cfg: SamplerConfig, device) -> tuple[torch.Tensor, torch.Tensor]:
    """`(5,)` lower and upper bounds in PARAM_NAMES order."""
    lo, hi, _ = _constants(cfg, device)
    return lo, hi


def base_point(cfg: SamplerConfig, device=None) -> torch.Tensor:
    """`(5,)` the `base_*` values in PARAM_NAMES order, clamped into the bounds (the defaults'
    base_rep_penalty 1.0 becomes rep_penalty_min 1.1)."""
    return _constants(cfg, device)[2]


def penalty_schedule(target: torch.Tensor, h_base: torch.Tensor,
                     cfg: SamplerConfig) -> torch.Tensor:
    """Repetition penalty `(B,)`: the base penalty at target = h_base, moving linearly to
    rep_penalty_max as the target falls to 0 and to rep_penalty_min as it rises to 1 (a
    confident step gets a stronger penalty). Both `(B,)` normalised entropies."""
    pen = base_point(cfg, target.device)[3]
    d = target - h_base
    down = (-d / h_base.clamp_min(1e-12)).clamp(0.0, 1.0)  # (B,) share of the way to 0
    up = (d / (1.0 - h_base).clamp_min(1e-12)).clamp(0.0, 1.0)  # share of the way to 1
    return pen + down * (cfg.rep_penalty_max - pen) + up * (cfg.rep_penalty_min - pen)


def path_params(s: torch.Tensor, penalty: torch.Tensor, cfg: SamplerConfig) -> SamplingParams:
    """The point s in [-1, 1] of the path through the base values: s = 0 is the base point,
    s = 1 the permissive corner (every upper bound), s = -1 the restrictive one (every lower
    bound), each of temperature, top_k, top_p and candidate_size linear in s on each half (top_k
    and candidate_size rounded). `s`, `penalty`: `(N,)` -> `(N,)` parameters."""
    p = _path_point(s, cfg)  # (N, 5)
    return SamplingParams(p[:, 0], p[:, 1].round(), p[:, 2], penalty, p[:, 4].round())


def _path_point(s: torch.Tensor, cfg: SamplerConfig) -> torch.Tensor:
    """`(..., 5)` the path's parameters (unrounded, PARAM_NAMES order) at points s `(...)`."""
    lo, hi, base = _constants(cfg, s.device)
    up, down = s.clamp(min=0.0)[..., None], (-s).clamp(min=0.0)[..., None]  # (..., 1)
    return torch.minimum(torch.maximum(base + up * (hi - base) + down * (lo - base), lo), hi)


def base_entropy(pool: Pool, cfg: SamplerConfig) -> torch.Tensor:
    """`(B,)` normalised entropy (bits / log2 V) of this step's distribution filtered with the
    base values (`base_point`), by HF's rules on the pool."""
    b = pool.logits.shape[0]
    base = SamplingParams.unstack(base_point(cfg, pool.logits.device).expand(b, 5))
    vals, _ = pool.top(base.rep_penalty, cfg.top_k_max)  # (B, K)
    return filtered_entropy(vals / base.temperature[:, None], base.rounded()) / pool.log2_vocab


def base_target(h_base: torch.Tensor, alpha_mean: torch.Tensor, alpha_ref: torch.Tensor,
                cfg: SamplerConfig) -> torch.Tensor:
    """The bisection solver's target `(B,)`: h_base + target_scale * (alpha_mean - alpha_ref),
    clamped to [0, 1]: the base values' entropy at average uncertainty (alpha's moving average
    equal to the row's average so far), moved up or down by how far uncertainty is above it."""
    return (h_base + cfg.target_scale * (alpha_mean - alpha_ref)).clamp(0.0, 1.0)


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
        vals, idx = topk_exact(x, k1)
        return Pool(vals, torch.zeros_like(idx, dtype=torch.bool), idx, math.log2(max(v, 2)))
    mask = (torch.ones_like(ids, dtype=torch.bool) if input_mask is None
            else input_mask[:, -rep_window:].bool())
    seen_ids = torch.where(mask, ids.clamp(0, v - 1), -1).sort(dim=1).values  # pads first
    first = seen_ids >= 0  # (B, W) a real id's first copy (sorted: copies are adjacent)
    first[:, 1:] &= seen_ids[:, 1:] != seen_ids[:, :-1]
    top_vals, top_idx = _top_unseen(x, seen_ids, k1)  # (B, K1); -inf = a seen token
    seen_vals = torch.where(first, x.gather(1, seen_ids.clamp(min=0)), NEG_INF)
    return Pool(torch.cat([top_vals, seen_vals], 1),
                torch.cat([torch.zeros_like(top_idx, dtype=torch.bool), first], 1),
                torch.cat([top_idx, seen_ids.clamp(min=0)], 1), math.log2(max(v, 2)))


def _top_unseen(x: torch.Tensor, seen_ids: torch.Tensor, k: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest logits `(B, k)` of each row that are not at `seen_ids` (`(B, W)` sorted
    ascending, -1 = pad), and their ids. At most W of a row's tokens are seen, so where the
    chunked top-k helps, the answer is among the top k + W of the whole row: no copy of the
    logits. Else the seen tokens are masked in a copy of x: pads write to the row's largest id
    (or, in a row with no real id, write x's own value back to id 0), so every write agrees."""
    b, v = x.shape
    w = seen_ids.shape[1]
    if chunked_topk_applies(v, k + w):
        cand_vals, cand_ids = topk_exact(x, k + w)  # (B, k + W)
        at = torch.searchsorted(seen_ids, cand_ids).clamp(max=w - 1)
        seen = seen_ids.gather(1, at) == cand_ids  # (B, k + W)
        vals, pos = torch.topk(torch.where(seen, NEG_INF, cand_vals), k, dim=-1)
        return vals, cand_ids.gather(1, pos)
    has_real = seen_ids[:, -1:] >= 0  # (B, 1)
    at = torch.where(seen_ids >= 0, seen_ids, seen_ids[:, -1:]).clamp(min=0)
    unseen = x.scatter(1, at, torch.where(has_real, NEG_INF, x.gather(1, at)))
    return torch.topk(unseen, k, dim=-1)


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


def fixed_size_entropy(vals: torch.Tensor, m: torch.Tensor, cfg: SamplerConfig,
                       m_max: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Entropy (bits) of `set_params(m, T)` for one set size per row, as a function of T.

    Uses prefix sums of p and p ln p over the sorted candidates: the renormalised top-n set has
    entropy ln S_n - C_n / S_n. The kept count follows `set_params` and HF's top-p rule (the
    top-p count is a `searchsorted` on the prefix masses). Everything that depends only on m
    (the gather positions, the top-k and pool caps) is computed here once.

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


def path_terms_fn(vals: torch.Tensor, cfg: SamplerConfig
                  ) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Entropy (bits), kept-set size and temperature along the path (`path_params`) as a
    function of s `(B, G)`, each `(B, G)`, by prefix sums over the rows' penalised candidates
    `vals` `(B, K)` (descending), as `fixed_size_entropy` does for one set size: HF's kept set
    (`keep_mask`: top-k, then top-p's S_{j-1} < p S_k keeps token j, then the pool) in ~30 ops
    an evaluation instead of a masked softmax over (B * G, K) rows. At a top-p boundary the
    float64 sums and `keep_mask`'s float32 cumsum can disagree on one token; the solver takes
    the kept sets from here too, and `set_params` then states each set with a margin, so the
    options it re-scores with `keep_mask` keep exactly those sets."""
    base = (vals - vals[:, :1]).double()[:, None, :]  # (B, 1, K) log-weights at T = 1
    last = vals.shape[-1] - 1

    def terms(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p = _path_point(s, cfg)  # (B, G, 5)
        k = p[..., 1:2].round().long()  # (B, G, 1)
        sc = _prefix_sums(base, p[..., 0])  # (2, B, G, K)
        s_k = sc[0].gather(-1, (k - 1).clamp(0, last))  # mass of the top k
        thr = p[..., 2:3].double() * s_k  # HF's top-p on the top-k: S_{j-1} < p S_k keeps j
        nucleus = 1 + torch.minimum(torch.searchsorted(sc[0], thr), k - 1)
        kept = torch.minimum(torch.minimum(k, p[..., 4:5].round().long()), nucleus)
        s_m, c_m = sc.gather(-1, (kept - 1).clamp(0, last).expand(2, *kept.shape)).unbind(0)
        h = ((s_m.log() - c_m / s_m) / LN2).float()[..., 0]
        return h, kept[..., 0], p[..., 0]

    return terms


def _bisect(lo: torch.Tensor, hi: torch.Tensor, goal: torch.Tensor,
            h: Callable[[torch.Tensor], torch.Tensor], rounds: int, x0: torch.Tensor,
            grid: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Bracket `(B,)` [lo, hi] around where the non-decreasing `h` `(B, G) -> (B, G)` crosses
    `goal` `(B,)`, the crossing nearest `x0` `(B,)` where h is flat at the goal (the bracket
    collapses onto x0 when h(x0) equals the goal, to a relative 1e-6). `grid` points a round,
    each round shrinks the bracket (grid + 1) times; x0 is scored with the first round's points
    (one evaluation, not two). `rounds` >= 1 (the config's solver_iters >= 1)."""
    tol = (1e-6 * (1.0 + goal.abs()))[:, None]  # (B, 1) rounding between entropy routes
    frac = torch.arange(1, grid + 1, device=lo.device) / (grid + 1)  # (G,)
    pair = torch.arange(2, device=lo.device)
    for r in range(rounds):
        xs = lo[:, None] + (hi - lo)[:, None] * frac  # (B, G)
        if r == 0:  # at_or_above (B, 1): h(x0) >= goal, search the flat part's top
            hx = h(torch.cat([x0[:, None], xs], dim=1))
            at_or_above, hx = hx[:, :1] >= goal[:, None] - tol, hx[:, 1:]
        else:
            hx = h(xs)
        j = torch.where(at_or_above, hx <= goal[:, None] + tol, hx < goal[:, None]).sum(1)
        pts = torch.cat([lo[:, None], xs, hi[:, None]], dim=1)  # (B, G + 2)
        lo, hi = pts.gather(1, j[:, None] + pair).unbind(1)
    cap = at_or_above[:, 0]  # h(x0) >= goal: the crossing is at or below x0
    return torch.where(cap, lo.clamp(max=x0), lo), torch.where(cap, hi.clamp(max=x0), hi)


def solve_bisection(pool: Pool, target: torch.Tensor, cfg: SamplerConfig, *,
                    h_base: torch.Tensor | None = None,
                    read_prefix: bool = True) -> SamplingParams:
    """The correct solver (module docstring): the kept set from the path through the base
    values, then the temperature that hits the target with that set.

    Args:
        pool: from `build_pool`.
        target: `(B,)` target normalised entropy.
        h_base: `(B,)` `base_entropy(pool, cfg)` when the caller has it (None: computed).
        read_prefix: on CPU, read the largest chosen set size from the tensor (one host read)
            so the temperature rounds skip the unused prefix; False uses the prefix up to the
            largest set the bounds allow (min(top_k_max, candidate_size_max); same values;
            what a compiled step needs: no data-dependent shapes).

    Returns:
        `(B,)` parameters; their filtered entropy is within the search precision of the target
        when the path's sets reach it, else the nearest reachable value.
    """
    b = target.shape[0]
    if h_base is None:
        h_base = base_entropy(pool, cfg)
    pen = penalty_schedule(target, h_base, cfg)
    vals, _ = pool.top(pen, cfg.top_k_max)  # (B, K) penalised, descending
    goal = target * pool.log2_vocab  # bits
    rounds = math.ceil(cfg.solver_iters / math.log2(17))
    # 1. the path: the bracket [s_lo, s_hi] where its entropy crosses the goal (nearest the
    # base point s = 0), and the kept set and temperature on each side
    path = path_terms_fn(vals, cfg)
    s_lo, s_hi = _bisect(torch.full_like(target, -1.0), torch.ones_like(target), goal,
                         lambda x: path(x)[0], rounds,
                         torch.zeros_like(target))
    _, kept, t_path = path(torch.stack([s_lo, s_hi], 1))  # (B, 2)
    # 2. temperature for the set on each side of the crossing (rows [s_lo sets | s_hi sets]),
    # the solution nearest the path's temperature where several hit the goal
    m2, t_path2 = torch.cat([kept[:, 0], kept[:, 1]]), torch.cat([t_path[:, 0], t_path[:, 1]])
    vals2, goal2 = vals.repeat(2, 1), goal.repeat(2)
    # the largest set the path keeps: read on CPU, else its static bound (the pool size caps
    # every kept set, and candidate_size_max is usually below top_k_max: half the prefix)
    m_top = (int(m2.max()) if b else 1) if read_prefix and host_reads_allowed(vals) \
        else min(cfg.top_k_max, int(cfg.candidate_size_max), vals.shape[1])
    t_lo, t_hi = _bisect(torch.full_like(goal2, cfg.temp_min),
                         torch.full_like(goal2, cfg.temp_max), goal2,
                         fixed_size_entropy(vals2, m2, cfg, m_top), rounds, t_path2)
    # 3. six options scored honestly (HF's rules): rows [path at s_lo | path at s_hi | m2 at
    # t_hi | m2 at t_lo]; the nearest entropy wins, ties go to the path's own points, then to
    # the temperature nearest the path's
    n_opt = 6
    path = path_params(torch.cat([s_lo, s_hi]), pen.repeat(2), cfg)
    sets = set_params(vals.repeat(4, 1), m2.repeat(2), torch.cat([t_hi, t_lo]), pen.repeat(4),
                      cfg)
    p6 = SamplingParams.unstack(torch.cat([path.stack(), sets.stack()]))  # (6B,)
    z6 = vals.repeat(n_opt, 1) / p6.temperature[:, None]
    err = (filtered_entropy(z6, p6).view(n_opt, b) - goal).abs()
    off = (p6.temperature - t_path2.repeat(3)).abs().view(n_opt, b)
    err = err / pool.log2_vocab  # normalised
    # a hit is a hit: errors below 1e-5 count as 0, so rounding (eager vs compiled) cannot
    # flip the choice between a path point and an equivalent (set, T) option
    best = (torch.where(err < 1e-5, 0.0, err) + 1e-5 * off).argmin(dim=0)  # (B,) first of equals
    stacked = p6.stack().view(n_opt, b, 5)
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
                  alpha_ref: torch.Tensor, prev: SamplingParams | None, has_prev: torch.Tensor,
                  cfg: SamplerConfig, *, read_prefix: bool = True,
                  ) -> tuple[SamplingParams, torch.Tensor]:
    """Target entropy -> solver -> smoothing with the rows' previous parameters.

    Args:
        alpha_mean: `(B,)` alpha's moving average; alpha_ref: `(B,)` the row's average alpha
            so far (bisection's "average uncertainty"; seed_adam does not read it).

    Returns:
        The parameters (smoothed, not rounded) and the target `(B,)`: seed_adam's is the
        original's target_scale * alpha_mean; bisection's is `base_target`.
    """
    if cfg.solver == "seed_adam":
        target = cfg.target_scale * alpha_mean
        solved = solve_seed_adam(x, target, cfg)
    else:
        h_base = base_entropy(pool, cfg)
        target = base_target(h_base, alpha_mean, alpha_ref, cfg)
        solved = solve_bisection(pool, target, cfg, h_base=h_base, read_prefix=read_prefix)
    return smooth(prev, solved, cfg.param_smoothing_factor, has_prev), target
