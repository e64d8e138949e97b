"""`AdaptiveEntropixSampler`: the adaptive sampler, batched, registered as "alpha",
"alpha_lexical" (penalty spares punctuation/whitespace) and "alpha_seed" (the original solver).

One step per row: alpha from token and attention uncertainty -> moving average over the row's
window (and the row's average alpha so far) -> target entropy (bisection: the base values'
entropy moved by target_scale * (mean alpha - average alpha); seed_adam: target_scale * mean
alpha) -> solver picks the five parameters -> exponential smoothing with the row's previous
parameters -> filtering (equal to HF's chain) -> draw with the row's generator. The sampler
keeps per-row state (alpha window, alpha total and step count, last parameters); the engine
calls `reset` / `select_rows`. It knows nothing about models or caches.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import torch

from alpha import validation as V
from alpha.config import ORIGINAL_BASE, SamplerConfig
from alpha.filtering import NEG_INF, Candidates, draw_with, keep_mask, uniforms
from alpha.original_methods import OriginalMethods
from alpha.penalty_scope import check_exempt_mask, lexical_exempt_mask, penalised_positions
from alpha.protocol import Generators, SamplerStep, check_attention, check_ids, check_logits
from alpha.solvers import Pool, SamplingParams, build_pool, choose_params
from alpha.uncertainty import (
    AlphaComponents,
    alpha_terms,
    entropy_varentropy,
    push_total,
    push_window,
    sanitize_logits,
)


@dataclass
class AlphaStep:
    """One step's full record (all `(B,)`); `trace()` gives the `TRACE_KEYS` dict.

    Attributes:
        tokens: int64 chosen tokens.
        components: alpha and its four terms.
        alpha_mean: moving average of alpha over the row's window.
        target: target normalised entropy (target_scale * alpha_mean).
        params: the parameters used (after smoothing; top_k/candidate_size whole).
        final_entropy: normalised entropy (bits / log2 V) of the distribution drawn from.
    """

    tokens: torch.Tensor
    components: AlphaComponents
    alpha_mean: torch.Tensor
    target: torch.Tensor
    params: SamplingParams
    final_entropy: torch.Tensor

    def trace(self) -> dict[str, torch.Tensor]:
        c = self.components
        return {"alpha": c.alpha, "alpha_mean": self.alpha_mean, "h_tok": c.h_tok,
                "vh_tok": c.vh_tok, "h_attn": c.h_attn, "vh_attn": c.vh_attn,
                **self.params.as_kwargs(), "final_entropy": self.final_entropy}


class AdaptiveEntropixSampler(OriginalMethods):
    """Entropy- and attention-adaptive sampler (implements `alpha.protocol.TokenSampler`).

    When `attention` is None (the engine did not capture it, or a caller has none), the two
    attention terms of alpha are 0: alpha is then the token terms only, weighted as configured.
    The original's step-by-step methods (`calculate_alpha`, `update_alpha_window`,
    `find_optimal_parameters`) come from `alpha.original_methods.OriginalMethods`.

    >>> s = AdaptiveEntropixSampler(SamplerConfig())
    >>> step = s.sample(torch.randn(2, 50), torch.zeros(2, 3, dtype=torch.long),
    ...                 generators=torch.Generator().manual_seed(0))
    >>> step.tokens.shape
    torch.Size([2])
    """

    needs_attention = True

    def __init__(self, config: SamplerConfig | None = None, *, compile: bool = False,
                 exempt_tokens: torch.Tensor | None = None, **overrides) -> None:
        if config is not None and overrides:
            raise ValueError("pass either a SamplerConfig or keyword overrides, not both")
        self.config = config if config is not None else _config(overrides)  # valid once built
        self.exempt_tokens = exempt_tokens  # (V,) bool, read when rep_penalty_scope="lexical"
        self._exempt_source = None  # the tokenizer exempt_tokens was built from
        self._batch = None
        self._step_fn = adaptive_step
        if compile:
            self.enable_compile()

    def enable_compile(self, backend="inductor") -> None:
        """Run each step as one `torch.compile`d graph (dynamic shapes: batch size and sequence
        length may change without recompiling; a batch of one row runs as two). The first step
        compiles (~20-40 s on CPU); after that the step's few hundred small ops run as a
        handful of fused kernels. Same arithmetic as the eager step, so the same tokens up to
        floating-point reassociation (tested equal on the tiny model). bisection solver only.
        `backend`: torch.compile's (tests trace with a counting backend, no code generation)."""
        if self.config.solver != "bisection":
            raise ValueError(f"compile needs solver='bisection'; solver={self.config.solver!r} "
                             "runs an autograd loop each step (turn compile off)")
        self._step_fn = _compiled_step(backend)

    @property
    def compiled(self) -> bool:
        return self._step_fn is not adaptive_step

    def bind_tokenizer(self, tokenizer) -> None:
        """Build `exempt_tokens` from the tokenizer when rep_penalty_scope="lexical" (once per
        tokenizer; a no-op for "all"). `alpha.generate` calls it before the first step."""
        if self.config.rep_penalty_scope == "lexical" and self._exempt_source is not tokenizer:
            self.exempt_tokens = lexical_exempt_mask(tokenizer)
            self._exempt_source = tokenizer

    # ---- per-row state -------------------------------------------------------------------
    def reset(self, batch_size: int) -> None:
        """Forget all per-row state; the next step starts `batch_size` fresh rows."""
        w = self.config.alpha_window_size
        self._batch = batch_size
        self._window = torch.zeros(batch_size, w)  # (B, W) most recent last
        self._count = torch.zeros(batch_size, dtype=torch.long)  # (B,)
        self._total = torch.zeros(batch_size)  # (B,) sum of every alpha of the row so far
        self._steps = torch.zeros(batch_size, dtype=torch.long)  # (B,) steps of the row so far
        self._prev: SamplingParams | None = None
        self._has_prev = torch.zeros(batch_size, dtype=torch.bool)

    def select_rows(self, index: torch.Tensor) -> None:
        """Keep only rows `index` (`(B',)` int64), in that order."""
        if self._batch is None:
            return
        index = torch.as_tensor(index, dtype=torch.long).to(self._window.device)
        self._window, self._count = self._window[index], self._count[index]
        self._total, self._steps = self._total[index], self._steps[index]
        self._has_prev = self._has_prev[index]
        self._prev = self._prev.select(index) if self._prev is not None else None
        self._batch = int(index.numel())

    def _ensure_state(self, batch: int, device) -> None:
        if self._batch is None:
            self.reset(batch)
        if batch != self._batch:
            raise ValueError(f"logits have {batch} rows but the sampler holds state for "
                             f"{self._batch}; call reset({batch}) or select_rows(index) first")
        if self._window.device != torch.device(device):
            self._window, self._count = self._window.to(device), self._count.to(device)
            self._total, self._steps = self._total.to(device), self._steps.to(device)
            self._has_prev = self._has_prev.to(device)

    def sample(self, logits: torch.Tensor, input_ids: torch.Tensor, *,
               attention: torch.Tensor | None = None, key_mask: torch.Tensor | None = None,
               generators: Generators = None) -> AlphaStep:
        """One full step for every row (see module docstring).

        Args:
            logits: `(B, V)` any float dtype (float32 inside; NaN -> -inf; a row with +inf
                draws among its +inf tokens; a row with no finite value raises ValueError).
            input_ids: `(B, T)` tokens so far (left padding allowed: see key_mask).
            attention: `(B, H, S)` last-query attention, or None (attention terms 0).
            key_mask: `(B, S)` bool, True at real tokens; its first T columns mark which
                input_ids are real (pads are never penalised).
            generators: a `torch.Generator`, one per row, or None.

        Returns:
            `AlphaStep`. An empty batch (B = 0) returns empty tensors and touches no state.
        """
        cfg = self.config
        x = sanitize_logits(check_logits(logits))
        b, v = x.shape
        input_ids = check_ids(input_ids, b).to(x.device)
        input_mask = _input_mask(key_mask, input_ids)
        if cfg.rep_penalty_scope == "lexical":  # exempt tokens count as never seen
            input_mask = penalised_positions(input_ids, input_mask, self._exempt(v))
        if b == 0:
            return _empty_step(x)
        if attention is not None:
            check_attention(attention, b)
            attention = attention.to(x.device)
        key_mask = None if key_mask is None else key_mask.to(x.device)
        self._ensure_state(b, x.device)
        if cfg.solver != "bisection" and self.compiled:
            raise ValueError(f"compile needs solver='bisection'; got solver={cfg.solver!r}")
        prev = self._prev.stack() if self._prev is not None else x.new_zeros(b, 5)
        u = uniforms(b, generators, x.device)  # the rows' only random numbers this step
        w = cfg.rep_window
        args = [x, input_ids[:, -w:], None if input_mask is None else input_mask[:, -w:],
                attention, key_mask, self._window, self._count, self._total, self._steps, prev,
                self._has_prev, u]
        if self.compiled:  # one memory layout per input, never a view (Dynamo guards on a
            # view's base: a view at one step and a fresh tensor at the next recompiles)
            args = [a if a is None else a.clone() if a._base is not None else a.contiguous()
                    for a in args]
            if b == 1:  # torch specialises size 1: run the row twice, keep one (no recompile)
                args = [a if a is None else torch.cat([a, a]) for a in args]
        out = self._step_fn(*args, cfg, read_prefix=not self.compiled)
        if self.compiled and b == 1:
            out = _first_row(out)
        tokens, comps, alpha_mean, target, self._prev, h, state = out
        self._window, self._count, self._total, self._steps = state
        self._has_prev = torch.ones_like(self._has_prev)
        return AlphaStep(tokens, comps, alpha_mean, target, self._prev.rounded(),
                         h / math.log2(max(v, 2)))

    def _exempt(self, vocab_size: int) -> torch.Tensor:
        if self.exempt_tokens is None:
            raise ValueError("rep_penalty_scope='lexical' needs the tokenizer's exempt-token "
                             "mask; generate with alpha.generate (it binds the tokenizer), call "
                             "sampler.bind_tokenizer(tokenizer), or set rep_penalty_scope='all'")
        return check_exempt_mask(self.exempt_tokens, vocab_size)

    def step(self, logits: torch.Tensor, input_ids: torch.Tensor, *,
             attention: torch.Tensor | None = None, key_mask: torch.Tensor | None = None,
             generators: Generators = None) -> SamplerStep:
        """`TokenSampler.step`: `sample` packed as `SamplerStep(tokens, trace)`."""
        out = self.sample(logits, input_ids, attention=attention, key_mask=key_mask,
                          generators=generators)
        return SamplerStep(out.tokens, out.trace())


def adaptive_step(x: torch.Tensor, ids: torch.Tensor, ids_mask: torch.Tensor | None,
                  attention: torch.Tensor | None, key_mask: torch.Tensor | None,
                  window: torch.Tensor, count: torch.Tensor, total: torch.Tensor,
                  steps: torch.Tensor, prev: torch.Tensor, has_prev: torch.Tensor,
                  u: torch.Tensor, cfg: SamplerConfig, *, read_prefix: bool = True):
    """One step for every row as a function of tensors only (no state, no host sync apart from
    the solver's optional prefix read), so it can run eagerly or as one compiled graph.

    Args:
        x: `(B, V)` sanitised float32 logits. ids, ids_mask: the last rep_window tokens and
            which are real. attention, key_mask: as `sample`. window, count, total, steps,
            prev (`(B, 5)` stacked parameters), has_prev: the rows' state. u: `(B,)` uniforms
            for the draw.

    Returns:
        tokens, components, alpha_mean, target, params (smoothed, not rounded: the rows' next
        previous parameters), entropy of the drawn distribution (bits), and the new
        (window, count, total, steps).
    """
    comps = alpha_terms(x, attention, key_mask, cfg.weights(), cfg.attention_mode)
    window, count, alpha_mean = push_window(window, count, comps.alpha)
    total, steps, alpha_ref = push_total(total, steps, comps.alpha)
    pool = build_pool(x, ids, input_mask=ids_mask, rep_window=cfg.rep_window,
                      top_k_max=cfg.top_k_max)
    params, target = choose_params(x, pool, alpha_mean, alpha_ref, SamplingParams.unstack(prev),
                                   has_prev, cfg, read_prefix=read_prefix)
    cands = _filter(pool, params.rounded(), cfg)
    tokens = draw_with(cands.logits, u, cands.index)
    h, _ = entropy_varentropy(torch.log_softmax(cands.logits, dim=-1))
    return tokens, comps, alpha_mean, target, params, h, (window, count, total, steps)


@functools.cache
def _compiled_step(backend="inductor"):
    """One compiled `adaptive_step` per process and backend, shared by every sampler."""
    return torch.compile(adaptive_step, dynamic=True, backend=backend)


def _first_row(out):
    """`adaptive_step`'s outputs cut to their first row (tensors, dataclasses of tensors,
    tuples of either)."""
    if isinstance(out, torch.Tensor):
        return out[:1]
    if isinstance(out, tuple):
        return tuple(_first_row(o) for o in out)
    return type(out)(**{f.name: _first_row(getattr(out, f.name)) for f in fields(out)})


def _input_mask(key_mask: torch.Tensor | None, input_ids: torch.Tensor) -> torch.Tensor | None:
    """The key mask's first T columns mark real input_ids (the protocol's convention)."""
    if key_mask is None:
        return None
    b, t = input_ids.shape
    if key_mask.dim() != 2 or key_mask.shape[0] != b or key_mask.shape[1] < t:
        raise ValueError(f"key_mask must be (B, S) with B={b} and S >= T={t} (input_ids' "
                         f"length); got {tuple(key_mask.shape)}")
    return key_mask[:, :t].bool().to(input_ids.device)


def _filter(pool: Pool, params: SamplingParams, cfg: SamplerConfig) -> Candidates:
    """The HF-equal chain for solver output, on the pool (which holds the penalised top
    top_k_max; see `build_pool`): no full-vocabulary pass, no checks, no host sync."""
    vals, idx = pool.top(params.rep_penalty, cfg.top_k_max)  # (B, K) descending
    vals = vals / params.temperature[:, None]
    keep = keep_mask(vals, params.top_k, params.top_p, params.candidate_size)
    return Candidates(torch.where(keep, vals, NEG_INF), idx)


def _empty_step(x: torch.Tensor) -> AlphaStep:
    e = x.new_zeros(0)
    return AlphaStep(torch.zeros(0, dtype=torch.long, device=x.device),
                     AlphaComponents(e, e, e, e, e), e, e, SamplingParams(e, e, e, e, e), e)


def _config(params: dict) -> SamplerConfig:
    """SamplerConfig from flat kwargs; an unknown key is a ValueError with a suggestion."""
    V.known_keys("sampler", params, SamplerConfig.field_names(), prefix="sampler.")
    return SamplerConfig(**params)


def build_alpha(**params) -> AdaptiveEntropixSampler:
    """The adaptive sampler with the configured solver (default: bisection)."""
    return AdaptiveEntropixSampler(_config(params))


def build_alpha_lexical(**params) -> AdaptiveEntropixSampler:
    """`alpha` whose repetition penalty spares punctuation and whitespace tokens
    (rep_penalty_scope="lexical"; the tokenizer is bound by `alpha.generate`)."""
    if params.get("rep_penalty_scope", "lexical") != "lexical":
        raise ValueError(f"alpha_lexical always uses rep_penalty_scope='lexical'; got "
                         f"{params['rep_penalty_scope']!r} (use sampler name 'alpha' for 'all')")
    return AdaptiveEntropixSampler(_config({**params, "rep_penalty_scope": "lexical"}))


def build_alpha_seed(**params) -> AdaptiveEntropixSampler:
    """The original's behaviour: `seed_adam` from the original's base values, and no smoothing
    unless given (it had none)."""
    if params.get("solver", "seed_adam") != "seed_adam":
        raise ValueError(f"alpha_seed always uses solver='seed_adam'; got solver="
                         f"{params['solver']!r} (use sampler name 'alpha' for other solvers)")
    return AdaptiveEntropixSampler(_config({**ORIGINAL_BASE, "param_smoothing_factor": 0.0,
                                            **params, "solver": "seed_adam"}))
