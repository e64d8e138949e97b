"""A batch's shared prompt prefix (a few-shot prompt), prefilled once.

When every prompt of a batch starts with the same >= `MIN_SHARED_PREFIX` tokens, the prefix
runs once with batch 1, its cache is repeated to the batch and only each row's own suffix is
prefilled: the cache holds `[prefix][pads][suffix]` (mask and position ids make every row's
positions those of its unpadded prompt). The sampler still sees the usual left-padded rows
(`SharedPrefix` reorders the attention row), so ids, key mask and repetition window are
unchanged. Sliding-window, linear-attention and flash-attention models fall back to plain left
padding (`prefix_cache_supported`). Used by `alpha.generation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers.cache_utils import DynamicLayer

from alpha.attention_capture import IMPL_NAME
from alpha.padding import left_pad

MIN_SHARED_PREFIX = 32  # tokens; a shorter shared prefix (e.g. BOS alone) runs with the rows
# attention implementations whose masks take padding anywhere in a row (flash attention unpads
# queries assuming left padding: not used with a shared prefix)
PREFIX_CACHE_ATTENTION = ("sdpa", "eager", IMPL_NAME)


def shared_prefix_length(seqs: Sequence[Sequence[int]], min_len: int = MIN_SHARED_PREFIX) -> int:
    """Tokens every row starts with, at most the shortest row's length - 1 (each row keeps a
    token of its own: its last prompt token gives the first logits); 0 when there are fewer
    than 2 rows or fewer than `min_len` shared tokens.

    >>> shared_prefix_length([[5, 6, 7, 8], [5, 6, 7], [5, 6, 9, 9]], min_len=2)
    2
    """
    if len(seqs) < 2:
        return 0
    n = 0
    for column in zip(*seqs, strict=False):  # stops at the shortest row
        if any(t != column[0] for t in column):
            break
        n += 1
    n = min(n, min(len(s) for s in seqs) - 1)
    return n if n >= min_len else 0


def prefix_cache_supported(model, cache) -> bool:
    """True when a shared prefix may run once: every cache layer is a plain `DynamicLayer`
    (no sliding window, whose window counts cache columns, pads included; no linear attention)
    and the attention implementation masks padding at any column (`PREFIX_CACHE_ATTENTION`)."""
    layers = getattr(cache, "layers", None)
    impl = getattr(model.config, "_attn_implementation", None)
    return (bool(layers) and all(type(layer) is DynamicLayer for layer in layers)
            and impl in PREFIX_CACHE_ATTENTION)


@dataclass
class SharedPrefix:
    """Where each left-padded prompt column lives in a `[prefix][pads][suffix]` cache.

    Row i of a batch padded to T0 has n_i = T0 - len_i pads. Left padded (what the sampler
    sees), column j is a pad for j < n_i and prompt token j - n_i after; in the cache the P
    prefix tokens come first, then the n_i pads, then tokens P.. at their own columns.
    Generated tokens sit at the same columns in both.
    """

    kv_mask: torch.Tensor  # (B, T0) 1 = real token, cache order
    index: torch.Tensor  # (B, T0) cache column of each left-padded prompt column

    @classmethod
    def build(cls, kv_mask: torch.Tensor, prefix_len: int) -> SharedPrefix:
        j = torch.arange(kv_mask.shape[1], device=kv_mask.device)[None, :]  # (1, T0)
        n = (kv_mask == 0).sum(-1, keepdim=True)  # (B, 1) pads per row
        index = torch.where(j < n, prefix_len + j, torch.where(j < n + prefix_len, j - n, j))
        return cls(kv_mask, index)

    def model_mask(self, rows: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`(B', S)` attention mask in cache order for the live `rows` (sampler `mask`)."""
        return torch.cat([self.kv_mask[rows], mask[:, self.kv_mask.shape[1]:]], 1)

    def sampler_attention(self, attention: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """`(B', H, S)` attention row, cache order -> left-padded order."""
        idx = self.index[rows]  # (B', T0)
        t0, h = idx.shape[1], attention.shape[1]
        head = attention[:, :, :t0].gather(2, idx[:, None, :].expand(-1, h, -1))
        return torch.cat([head, attention[:, :, t0:]], 2)


def prefill(forward, model, seqs, ids, mask, pos_ids, *, prefix_len, pad_id, cache, extra, cap):
    """Run the prompts into `cache` with `forward(model, **kw)`; returns the forward output (last
    position's logits and capture) and the layout (None: plain left padding, the cache is in
    the sampler's order)."""
    if prefix_len == 0:
        return forward(model, input_ids=ids, attention_mask=mask, position_ids=pos_ids,
                        **extra), None
    b, device = len(seqs), ids.device
    head = torch.tensor([list(seqs[0][:prefix_len])], dtype=torch.long, device=device)  # (1, P)
    forward(model, input_ids=head, attention_mask=torch.ones_like(head),
             position_ids=torch.arange(prefix_len, device=device)[None],
             **{**extra, "output_attentions": False})
    if cap:
        cap.clear()
    cache.batch_repeat_interleave(b)  # (1, Hkv, P, D) -> (B, Hkv, P, D) per layer
    tail, tail_mask = left_pad([list(s[prefix_len:]) for s in seqs], pad_id, device)  # (B, Ts)
    kv_mask = torch.cat([tail_mask.new_ones(b, prefix_len), tail_mask], 1)  # (B, P + Ts)
    tail_pos = prefix_len + (tail_mask.cumsum(-1) - 1).clamp(min=0)  # (B, Ts)
    out = forward(model, input_ids=tail, attention_mask=kv_mask, position_ids=tail_pos, **extra)
    return out, SharedPrefix.build(kv_mask, prefix_len)
