"""The chunked top-k and the adaptive sampler's pool against plain references.

Inputs tried: V divisible by the chunk and not (a tail), k at the chunking limit, rows with -inf
entries, rows of tied values (only values compared; ids must point at those values, distinct),
a vocabulary too small to chunk (falls back to torch.topk), and pools with padded, repeated and
top-ranked seen tokens.
"""

from __future__ import annotations

import pytest
import torch

from alpha.chunked_topk import CHUNK, chunked_topk_applies, topk_exact
from alpha.solvers import build_pool


@pytest.mark.parametrize("v,k", [(49_152, 328), (50_257, 200), (20_000, 312), (151_936, 7)])
def test_topk_exact_equals_torch_topk(v, k):
    assert chunked_topk_applies(v, k)
    g = torch.Generator().manual_seed(v)
    x = torch.randn(5, v, generator=g) * 3
    x[1, : v // 2] = float("-inf")  # half the row unreachable
    x[2, -7:] = 50.0 + torch.arange(7.0)  # the tail holds the largest values
    x[3] = torch.randint(0, 4, (v,), generator=g).float()  # ties everywhere
    vals, ids = topk_exact(x, k)
    ref = torch.topk(x, k, dim=-1).values
    assert torch.equal(vals, ref)
    assert torch.equal(x.gather(1, ids), vals)  # ids point at those values
    assert all(len(set(r.tolist())) == k for r in ids)  # and are distinct
    untied = [0, 1, 2, 4]  # no ties: the same ids in the same order
    assert torch.equal(ids[untied], torch.topk(x[untied], k, dim=-1).indices)


def test_topk_exact_falls_back_where_chunks_cannot_help():
    x = torch.randn(3, 2 * 200 * CHUNK - 1)
    assert not chunked_topk_applies(x.shape[1], 200)
    vals, ids = topk_exact(x, 200)
    ref = torch.topk(x, 200, dim=-1)
    assert torch.equal(vals, ref.values) and torch.equal(ids, ref.indices)


def _reference_pool(x, ids, mask, window, k):
    """Top k unseen ids by a full descending sort, and the distinct seen ids (sorted)."""
    out = []
    for r in range(x.shape[0]):
        seen = set(ids[r, -window:][mask[r, -window:]].tolist())
        order = torch.argsort(x[r], descending=True, stable=True).tolist()
        out.append(([i for i in order if i not in seen][:k], sorted(seen)))
    return out


@pytest.mark.parametrize("v", [49_152, 600])  # chunked, and the masked-copy path
def test_pool_holds_the_top_unseen_and_the_seen(v):
    window, k = 128, 200
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, v, generator=g) * 3
    ids = torch.randint(0, v, (6, 300), generator=g)
    ids[0, -60:] = torch.topk(x[0], 60).indices  # the most probable tokens were seen
    ids[1, -100:] = 5  # one token repeated
    mask = torch.ones(6, 300, dtype=torch.bool)
    mask[2, :] = False  # nothing real in the window (all padding)
    mask[3, -128:-40] = False  # partly padded
    pool = build_pool(x, ids, input_mask=mask, rep_window=window, top_k_max=k)
    for r, (top, seen) in enumerate(_reference_pool(x, ids, mask, window, k)):
        assert pool.index[r, :k].tolist() == top
        assert torch.equal(pool.logits[r, :k], x[r, top])
        assert not pool.seen[r, :k].any()
        real = pool.seen[r, k:]
        assert sorted(pool.index[r, k:][real].tolist()) == seen
        assert torch.equal(pool.logits[r, k:][real], x[r, pool.index[r, k:][real]])
        assert torch.isneginf(pool.logits[r, k:][~real]).all()
