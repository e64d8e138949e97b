"""The contract between token samplers and the generation engine.

Every sampler (the adaptive one and each baseline) turns one decoding step's logits into one
token per row. The engine knows nothing about how; the sampler knows nothing about models,
caches or batching. Per-step diagnostics come back as a flat dict of `(B,)` tensors so the
engine can store them as traces without knowing their names. A sampler that needs the
vocabulary's texts may also define `bind_tokenizer(tokenizer)`: `alpha.generate` calls it
before the first step (optional, not part of `TokenSampler`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

Generators = torch.Generator | list[torch.Generator] | None


@dataclass
class SamplerStep:
    """One decoding step's output.

    Attributes:
        tokens: `(B,)` int64, the chosen token per row.
        trace: name -> `(B,)` float tensor of per-step diagnostics (see `TRACE_KEYS`).
    """

    tokens: torch.Tensor
    trace: dict[str, torch.Tensor] = field(default_factory=dict)


# The five sampling parameters, in this order everywhere (configs, solvers, traces, tables).
PARAM_NAMES = ("temperature", "top_k", "top_p", "rep_penalty", "candidate_size")

# Names the adaptive sampler records each step; baselines record the subset that applies.
TRACE_KEYS = (
    "alpha",  # raw alpha of this step
    "alpha_mean",  # moving average over the window (the value the target uses)
    "h_tok",  # normalised token entropy
    "vh_tok",  # normalised token varentropy
    "h_attn",  # normalised attention entropy
    "vh_attn",  # normalised attention varentropy
    *PARAM_NAMES,
    "final_entropy",  # normalised entropy (bits / log2 V) of the distribution drawn from
)


@runtime_checkable
class TokenSampler(Protocol):
    """What the engine calls. Implementations keep per-row state (e.g. alpha windows)."""

    needs_attention: bool  # True -> the engine captures the last query's attention row

    def reset(self, batch_size: int) -> None:
        """Forget all per-row state; the next step starts `batch_size` fresh sequences."""

    def select_rows(self, index: torch.Tensor) -> None:
        """Keep only the rows in `index` (`(B',)` int64), in that order (finished rows dropped)."""

    def step(
        self,
        logits: torch.Tensor,
        input_ids: torch.Tensor,
        *,
        attention: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
        generators: Generators = None,
    ) -> SamplerStep:
        """Choose the next token of each row.

        Args:
            logits: `(B, V)` next-token logits (any float dtype; samplers compute in float32).
                Read-only: the engine reads them after the step for the chosen tokens'
                log-probabilities (`GenerationResult.token_logprobs`), so warp a copy.
            input_ids: `(B, T)` tokens so far (prompt + generated; left padding allowed,
                pad positions are excluded from repetition penalties via `key_mask`'s prefix).
            attention: `(B, H, S)` attention probabilities of the last query position over all
                S key positions, or None when the sampler does not need it.
            key_mask: `(B, S)` bool, True where a key position is a real token (not padding).
            generators: one `torch.Generator` for the batch, or one per row (row i draws only
                from generators[i], so a row's tokens do not depend on its batch-mates).
        """
        ...


def host_reads_allowed(t: torch.Tensor) -> bool:
    """Whether a sampler step may read a value of `t` back to Python (a host sync on an
    accelerator). True on CPU, where a read is free and lets a step skip work (sanitising finite
    logits, the solver's unused prefix); False on accelerators and under torch.compile, where
    the step must run as one stream of launches (issue 26)."""
    return t.device.type == "cpu" and not torch.compiler.is_compiling()


def check_logits(logits: torch.Tensor) -> torch.Tensor:
    """`logits` if it is a floating-point `(B, V)` tensor, else one-line ValueError."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
        raise ValueError(f"logits must be a (B, V) tensor; got {shape}")
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point; got {logits.dtype}")
    return logits


def check_ids(input_ids: torch.Tensor, b: int) -> torch.Tensor:
    """`input_ids` if it is `(B, T)` with B = b (the logits' rows), else ValueError."""
    if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2 or input_ids.shape[0] != b:
        shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids)
        raise ValueError(f"input_ids must be (B, T) with B={b} (logits' rows); got {shape}")
    return input_ids


def check_attention(attention: torch.Tensor, b: int) -> None:
    """ValueError unless `attention` is `(B, H, S)` with B = b."""
    if attention.dim() != 3 or attention.shape[0] != b:
        raise ValueError(f"attention must be (B, H, S) with B={b}; got shape "
                         f"{tuple(attention.shape)}")
