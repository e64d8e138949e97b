"""Attention capture on Gemma 3 (sliding-window and full-attention layers) vs eager attention.

gemma3-270m interleaves 5 sliding-window layers (window 512) with 1 full-attention layer; its
last layer is a full one. A tiny random Gemma 3 with window 4 and layer types
[sliding, sliding, full] shows, against eager attention's own `output_attentions=True`, that
the captured row of a sliding layer is that layer's real (windowed) row, with no mass outside
the window, and the default "last" capture reads the full-attention layer.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, Gemma3TextConfig

from alpha.attention_capture import AttentionCapture

WINDOW = 4


def tiny_gemma3(attn_implementation: str):
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=512, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                           head_dim=8, sliding_window=WINDOW, max_position_embeddings=512,
                           layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                           query_pre_attn_scalar=8, pad_token_id=1, bos_token_id=2, eos_token_id=0)
    return AutoModelForCausalLM.from_config(cfg, attn_implementation=attn_implementation).eval()


def _batch():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 500, (2, 10), generator=g)  # (B, T)
    mask = torch.ones_like(ids)
    mask[1, :3] = 0  # left padding
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, pos


@pytest.mark.parametrize("capture,layer", [("last", 2), (1, 1), (0, 0)])
def test_gemma3_capture_equals_eager_in_sliding_and_full_layers(capture, layer):
    model, eager = tiny_gemma3("sdpa"), tiny_gemma3("eager")
    ids, mask, pos = _batch()
    with torch.no_grad():
        ref = eager(ids, attention_mask=mask, position_ids=pos, output_attentions=True)
        plain = model(ids, attention_mask=mask, position_ids=pos).logits
        with AttentionCapture(model, capture) as cap:
            assert cap.mode == "sdpa"
            out = model(ids, attention_mask=mask, position_ids=pos, **cap.forward_kwargs())
            row = cap.read(out)  # (B, H, S)
    expected = ref.attentions[layer][:, :, -1, :]
    torch.testing.assert_close(row, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.logits, plain, atol=1e-5, rtol=0)
    seen = (row > 0).any(1)  # (B, S): keys with any mass
    if layer < 2:  # sliding: only the last WINDOW positions of the query are visible
        assert seen[0].tolist() == [False] * (10 - WINDOW) + [True] * WINDOW
    else:  # full attention: every real (unpadded) key
        assert seen.tolist() == mask.bool().tolist()
