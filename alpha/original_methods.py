"""The original AlphaSampler's step-by-step methods, batched: a mixin of the sampler.

`OriginalMethods` gives `AdaptiveEntropixSampler` (alpha/sampler.py) the original's public
methods `calculate_alpha`, `update_alpha_window`, `find_optimal_parameters` (its `sample` is the
sampler's own whole step), on the sampler's per-row state. The engine never calls them; they
exist for the original's users. It knows tensors, the config and the solvers, nothing of models
or the engine (the Quick Start's `generate_response` is alpha/quickstart.py).
"""

from __future__ import annotations

import torch

from alpha.protocol import check_attention, check_ids, check_logits
from alpha.solvers import SamplingParams, build_pool, choose_params
from alpha.uncertainty import (
    AlphaComponents,
    alpha_terms,
    push_total,
    push_window,
    sanitize_logits,
)


class OriginalMethods:
    """The original's public methods, batched, on the sampler's per-row state (a mixin of
    `alpha.sampler.AdaptiveEntropixSampler`, which provides `config`, `_ensure_state` and the
    state attributes)."""

    def calculate_alpha(self, logits: torch.Tensor, attention: torch.Tensor | None = None,
                        key_mask: torch.Tensor | None = None) -> AlphaComponents:
        """alpha = w1 H_tok + w2 VH_tok + w3 H_attn + w4 VH_attn (normalised terms).

        Args:
            logits: `(B, V)`. attention: `(B, H, S)` or None (attention terms 0).
            key_mask: `(B, S)` bool, True at real keys (None: all real).
        """
        x = sanitize_logits(check_logits(logits))
        if attention is not None:
            check_attention(attention, x.shape[0])
            attention = attention.to(x.device)
        return alpha_terms(x, attention, None if key_mask is None else key_mask.to(x.device),
                           self.config.weights(), self.config.attention_mode)

    def update_alpha_window(self, alpha: torch.Tensor) -> torch.Tensor:
        """Push `(B,)` alpha into each row's window (and its running average, which
        `find_optimal_parameters` reads); return the rows' moving averages `(B,)`."""
        self._ensure_state(alpha.shape[0], alpha.device)
        self._window, self._count, mean = push_window(self._window, self._count, alpha)
        self._total, self._steps, _ = push_total(self._total, self._steps, alpha)
        return mean

    def find_optimal_parameters(
        self, logits: torch.Tensor, input_ids: torch.Tensor, alpha_mean: torch.Tensor, *,
        input_mask: torch.Tensor | None = None,
    ) -> SamplingParams:
        """Solve for the target entropy, smooth with each row's previous parameters.

        Args:
            logits: `(B, V)`; input_ids: `(B, T)`; alpha_mean: `(B,)`.
            input_mask: `(B, T)` bool, False at padding.
            The bisection solver's "average uncertainty" is the row's average of the alphas
            pushed with `update_alpha_window` (none pushed: alpha_mean itself, the base).

        Returns:
            The parameters to use this step (rounded, smoothed); the row state is updated.
        """
        cfg = self.config
        x = sanitize_logits(check_logits(logits))
        pool = build_pool(x, check_ids(input_ids, x.shape[0]).to(x.device), input_mask=input_mask,
                          rep_window=cfg.rep_window, top_k_max=cfg.top_k_max)
        self._ensure_state(x.shape[0], x.device)
        mean = alpha_mean.float().to(x.device)
        ref = torch.where(self._steps > 0, self._total / self._steps.clamp(min=1), mean)
        params, _ = choose_params(x, pool, mean, ref, self._prev, self._has_prev, cfg)
        self._prev = params
        self._has_prev = torch.ones_like(self._has_prev)
        return params.rounded()
