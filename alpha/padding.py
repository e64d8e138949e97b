"""Batching token lists: left padding (generation) and right padding (scoring)."""

from __future__ import annotations

import torch


def left_pad(seqs: list[list[int]], pad_id: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """`(B, T)` ids and `(B, T)` int64 attention mask, padded on the left."""
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, t - len(s):] = torch.tensor(s, dtype=torch.long)
        mask[i, t - len(s):] = 1
    return ids.to(device), mask.to(device)


def right_pad(seqs: list[list[int]], pad_id: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """`(B, T)` ids and `(B, T)` int64 attention mask, padded on the right."""
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = 1
    return ids.to(device), mask.to(device)
