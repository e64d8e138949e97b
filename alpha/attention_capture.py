"""Capture the last query's attention row while the model keeps running SDPA.

The adaptive sampler needs, per step, the attention probabilities of the newest position over
all cached keys in one chosen layer (the original asks for `output_attentions=True`, which
forces eager attention in every layer and materialises every layer's full matrix). Here an
attention function registered in transformers' `AttentionInterface` as `"alpha_sdpa"` calls the
stock SDPA attention unchanged and, only in the capture layer(s), also computes

    softmax(q_last . K^T * scale + mask)          # (B, H, S), GQA handled without copying K

The matching mask function (`AttentionMaskInterface["alpha_sdpa"]`, the SDPA one) keeps the
causal/padding mask: without it transformers silently builds no mask for an unknown name.
Both are registered by `register_attention()` when a capture is first installed, not at import.

Models whose attention does not route through the interface (or that refuse the switch) fall
back to eager attention with `output_attentions=True` and a warning (`AttentionCapture.mode`).
This module knows nothing about samplers or the decode loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

IMPL_NAME = "alpha_sdpa"
_SDPA: list = []  # [transformers' sdpa_attention_forward], set by register_attention()
Capture = str | int | tuple  # "last" | layer index | ("mean_last", N)


def last_query_probs(
    query: torch.Tensor,
    key: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
) -> torch.Tensor:
    """Attention probabilities of the last query position over all keys, in float32.

    Args:
        query: `(B, H, Q, D)` query states (the last of the Q positions is used).
        key: `(B, Hkv, S, D)` key states, `H % Hkv == 0` (GQA: query head h reads kv head
            `h // (H // Hkv)`, as `repeat_kv` does).
        attention_mask: None (no masking: the last query sees every key), a bool
            `(B|1, 1|H, Q, S)` mask (True = attend) or an additive float mask of that shape.
        scaling: score scale; None means `D ** -0.5` (SDPA's default).

    Returns:
        `(B, H, S)` float32 rows that sum to 1.
    """
    b, h, _, d = query.shape
    hkv, s = key.shape[1], key.shape[2]
    scale = d**-0.5 if scaling is None else scaling
    q = query[:, :, -1, :].float().reshape(b, hkv, h // hkv, d)  # (B, Hkv, R, D)
    scores = torch.matmul(q, key.float().transpose(-1, -2)) * scale  # (B, Hkv, R, S)
    scores = scores.reshape(b, h, s)  # (B, H, S)
    if attention_mask is not None:
        m = attention_mask[:, :, -1, :]  # (B|1, 1|H, S)
        if m.dtype == torch.bool:
            scores = scores.masked_fill(~m, float("-inf"))
        else:
            scores = scores + m.float()
    return torch.softmax(scores, dim=-1)


@dataclass
class CaptureStore:
    """Rows captured during one forward pass, keyed by layer index."""

    layers: tuple[int, ...]
    rows: dict[int, torch.Tensor] = field(default_factory=dict)

    def read(self) -> torch.Tensor | None:
        """`(B, H, S)` float32: the captured row, averaged over the capture layers."""
        if not self.rows:
            return None
        rows = [self.rows[i] for i in self.layers if i in self.rows]
        return rows[0] if len(rows) == 1 else torch.stack(rows).mean(0)


def capture_sdpa_attention(module, query, key, value, attention_mask, scaling=None, **kwargs):
    """SDPA attention that also records the last query's probabilities in capture layers."""
    out = _SDPA[0](module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    store = getattr(module, "_alpha_capture", None)
    if store is not None and getattr(module, "layer_idx", None) in store.layers:
        store.rows[module.layer_idx] = last_query_probs(query, key, attention_mask, scaling)
    return out


def register_attention() -> None:
    """Register `"alpha_sdpa"` in transformers' attention and mask interfaces (idempotent)."""
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    _SDPA[:] = [sdpa_attention_forward]
    if AttentionInterface._global_mapping.get(IMPL_NAME) is not capture_sdpa_attention:
        AttentionInterface.register(IMPL_NAME, capture_sdpa_attention)
        AttentionMaskInterface.register(IMPL_NAME, sdpa_mask)


def num_layers(model) -> int:
    """Number of decoder layers from the model's (text) config."""
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    n = getattr(cfg, "num_hidden_layers", None)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"model config has num_hidden_layers={n!r}; cannot pick a capture layer")
    return n


def capture_layers(capture: Capture, n_layers: int) -> tuple[int, ...]:
    """Layer indices for a capture spec: "last", an int (negative counts from the end), or
    ("mean_last", N) for the last N layers (their rows are averaged; any sequence, e.g. a
    YAML list)."""
    if capture == "last":
        return (n_layers - 1,)
    if isinstance(capture, int) and not isinstance(capture, bool):
        if not -n_layers <= capture < n_layers:
            raise ValueError(f"capture={capture} is out of range for a {n_layers}-layer model; "
                             f"use an index in [{-n_layers}, {n_layers - 1}]")
        return (capture % n_layers,)
    if (isinstance(capture, Sequence) and not isinstance(capture, str) and len(capture) == 2
            and capture[0] == "mean_last"
            and isinstance(capture[1], int) and 1 <= capture[1] <= n_layers):
        return tuple(range(n_layers - capture[1], n_layers))
    raise ValueError(f"capture={capture!r} is invalid; use 'last', a layer index, or "
                     f"('mean_last', N) with 1 <= N <= {n_layers}")


def _attention_modules(model) -> list[torch.nn.Module]:
    return [m for m in model.modules()
            if "attention" in type(m).__name__.lower() and isinstance(getattr(m, "layer_idx", None), int)]


def _set_impl(model, impl: str) -> bool:
    try:
        model.set_attn_implementation(impl)
    except Exception:  # noqa: BLE001 - any refusal means "cannot serve", handled by the caller
        return False
    return model.config._attn_implementation == impl


class AttentionCapture:
    """Switch a model to capturing attention for the duration of a `with` block.

    `mode` is "sdpa" (the `alpha_sdpa` wrapper serves the model) or "eager" (fallback: eager
    attention, forwards must pass `output_attentions=True`; a warning says so). On exit the
    model's original attention implementation is restored.

    >>> with AttentionCapture(model, capture="last") as cap:          # doctest: +SKIP
    ...     out = model(ids, **cap.forward_kwargs())
    ...     row = cap.read(out)                                        # (B, H, S)
    """

    def __init__(self, model, capture: Capture = "last"):
        self.model = model
        self.store = CaptureStore(capture_layers(capture, num_layers(model)))
        self.mode: str | None = None
        self._orig_impl = getattr(model.config, "_attn_implementation", None)
        self._modules: list[torch.nn.Module] = []

    def __enter__(self) -> AttentionCapture:
        self.install()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def install(self) -> None:
        """Install the capture (probing that it works) or fall back to eager."""
        register_attention()
        self._modules = _attention_modules(self.model)
        for m in self._modules:
            m._alpha_capture = self.store
        if self._modules and _set_impl(self.model, IMPL_NAME) and self._probe():
            self.mode = "sdpa"
            return
        self._fallback()

    def remove(self) -> None:
        """Detach the store and restore the original attention implementation."""
        for m in self._modules:
            m.__dict__.pop("_alpha_capture", None)
        self._modules = []
        self.store.rows.clear()
        if self._orig_impl is not None and self.model.config._attn_implementation != self._orig_impl:
            _set_impl(self.model, self._orig_impl)
        self.mode = None

    def _probe(self) -> bool:
        device = next(self.model.parameters()).device
        with torch.no_grad():
            self.model(torch.zeros((1, 2), dtype=torch.long, device=device), use_cache=False,
                       output_attentions=False)
        ok = all(i in self.store.rows for i in self.store.layers)
        self.store.rows.clear()
        return ok

    def _fallback(self) -> None:
        name = type(self.model).__name__
        warnings.warn(f"{name}: attention capture through AttentionInterface is not possible for "
                      f"this model; falling back to eager attention with output_attentions=True "
                      f"(slower, more memory)", stacklevel=3)
        if self.model.config._attn_implementation != "eager":
            _set_impl(self.model, "eager")
        self.mode = "eager"

    def forward_kwargs(self) -> dict:
        """Extra keyword arguments for the model's forward in this mode."""
        return {"output_attentions": self.mode == "eager"}

    def clear(self) -> None:
        """Drop the rows of the previous forward."""
        self.store.rows.clear()

    def read(self, outputs=None) -> torch.Tensor:
        """`(B, H, S)` float32 attention row of the last forward (`outputs` needed in eager mode).

        Raises:
            ValueError: the model produced no attention that could be captured.
        """
        row = self.store.read() if self.mode == "sdpa" else _from_outputs(outputs, self.store.layers)
        if row is None:
            raise ValueError(f"{type(self.model).__name__} returned no attention weights and capture "
                             f"is not possible; use a sampler with needs_attention=False (e.g. a "
                             f"baseline) or a model whose attention routes through AttentionInterface")
        return row


def _from_outputs(outputs, layers: tuple[int, ...]) -> torch.Tensor | None:
    atts = getattr(outputs, "attentions", None)
    if not atts or any(i >= len(atts) or atts[i] is None for i in layers):
        return None
    rows = [atts[i][:, :, -1, :].float() for i in layers]  # each (B, H, S)
    return rows[0] if len(rows) == 1 else torch.stack(rows).mean(0)
