"""Attention capture under SDPA vs eager attention's own `output_attentions=True` (the reference).

Bad inputs tried: capture specs "first", 5, -3, True, ("mean_last", 0), ("mean_last", 3) on a
2-layer model; a model whose attention bypasses AttentionInterface (eager fallback + warning);
the same model under SDPA, which yields no attention at all (ValueError naming the fix).
"""

from __future__ import annotations

import pytest
import torch
from conftest import make_tiny_model
from transformers import DynamicCache, Qwen2Config, Qwen2ForCausalLM

from alpha.attention_capture import (
    IMPL_NAME,
    AttentionCapture,
    capture_layers,
    last_query_probs,
)


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, 400, (3, 9), generator=g)  # (B, T)
    mask = torch.ones_like(ids)
    mask[0, :3] = 0  # left padding
    mask[1, :1] = 0
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, pos


def _eager_attentions(arch, ids, mask, pos, **kw):
    eager = make_tiny_model(arch, attn_implementation="eager", **kw)
    with torch.no_grad():
        return eager(ids, attention_mask=mask, position_ids=pos, output_attentions=True)


@pytest.mark.parametrize("arch", ["qwen2", "llama", "gpt2"])
def test_capture_equals_eager_last_row_and_keeps_logits(arch):
    model = make_tiny_model(arch)
    ids, mask, pos = _batch()
    ref = _eager_attentions(arch, ids, mask, pos)
    with torch.no_grad():
        plain = model(ids, attention_mask=mask, position_ids=pos).logits
        with AttentionCapture(model) as cap:
            assert cap.mode == "sdpa" and model.config._attn_implementation == IMPL_NAME
            out = model(ids, attention_mask=mask, position_ids=pos, **cap.forward_kwargs())
            row = cap.read(out)  # (B, H, S)
    assert model.config._attn_implementation == "sdpa"  # restored on exit
    assert row.shape == (3, 4, 9) and row.dtype == torch.float32
    torch.testing.assert_close(row, ref.attentions[-1][:, :, -1, :], atol=1e-6, rtol=0)
    assert torch.equal(out.logits, plain)  # the model's own computation is untouched
    assert torch.all(row[0, :, :3] == 0)  # padded keys get no mass


@pytest.mark.parametrize("capture,layers", [(0, [0]), (-2, [0]), (("mean_last", 2), [0, 1]),
                                            (["mean_last", 1], [1])])  # a YAML list
def test_capture_chosen_layer_and_mean_of_last_layers(capture, layers):
    model = make_tiny_model("qwen2")
    ids, mask, pos = _batch(1)
    ref = _eager_attentions("qwen2", ids, mask, pos)
    expected = torch.stack([ref.attentions[i][:, :, -1, :] for i in layers]).mean(0)
    with torch.no_grad(), AttentionCapture(model, capture) as cap:
        row = cap.read(model(ids, attention_mask=mask, position_ids=pos))
    torch.testing.assert_close(row, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("arch", ["qwen2", "gpt2"])
def test_capture_during_cached_decode_step(arch):
    """One-token step against a KV cache (q_length 1, mask built from the cache) vs eager on
    the full sequence without a cache."""
    model = make_tiny_model(arch)
    ids, mask, pos = _batch(2)
    nxt = torch.tensor([[5], [6], [7]])
    full_ids, full_mask = torch.cat([ids, nxt], 1), torch.cat([mask, torch.ones_like(nxt)], 1)
    full_pos = (full_mask.cumsum(-1) - 1).clamp(min=0)
    ref = _eager_attentions(arch, full_ids, full_mask, full_pos)
    cache = DynamicCache(config=model.config)
    with torch.no_grad(), AttentionCapture(model) as cap:
        model(ids, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True)
        cap.clear()
        out = model(nxt, attention_mask=full_mask, position_ids=full_pos[:, -1:], cache=cache,
                    use_cache=True)
        row = cap.read(out)  # (B, H, S+1)
    torch.testing.assert_close(row, ref.attentions[-1][:, :, -1, :], atol=1e-6, rtol=0)
    torch.testing.assert_close(out.logits[:, -1], ref.logits[:, -1], atol=1e-5, rtol=0)


def test_last_query_probs_gqa_and_float_mask_vs_repeat_kv_formula():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 6, 4, 8, generator=g), torch.randn(2, 2, 4, 8, generator=g)
    add = torch.zeros(2, 1, 4, 4)
    add[0, ..., 0] = torch.finfo(torch.float32).min  # first key of row 0 masked (additive)
    k_rep = k.repeat_interleave(3, dim=1)  # GQA reference: query head h reads kv head h // 3
    ref = torch.softmax(q[:, :, -1:] @ k_rep.transpose(-1, -2) * 0.3 + add[:, :, -1:], -1)[:, :, 0]
    torch.testing.assert_close(last_query_probs(q, k, add, 0.3), ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(last_query_probs(q, k, add.bool() == 0, 0.3), ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("bad", ["first", 5, -3, True, ("mean_last", 0), ("mean_last", 3)])
def test_invalid_capture_spec_names_the_field(bad):
    with pytest.raises(ValueError, match="capture="):
        capture_layers(bad, 2)


def test_bf16_model_capture_is_float32_and_close_to_eager():
    model = make_tiny_model("qwen2").to(torch.bfloat16)
    ids, mask, pos = _batch(3)
    eager = make_tiny_model("qwen2", attn_implementation="eager").to(torch.bfloat16)
    with torch.no_grad():
        ref = eager(ids, attention_mask=mask, position_ids=pos, output_attentions=True)
        with AttentionCapture(model) as cap:
            row = cap.read(model(ids, attention_mask=mask, position_ids=pos))
    assert row.dtype == torch.float32
    torch.testing.assert_close(row, ref.attentions[-1][:, :, -1, :].float(), atol=2e-2, rtol=0)


class _NoInterfaceQwen2(Qwen2ForCausalLM):
    """Stands for a remote-code model that cannot switch attention implementation."""

    _can_set_attn_implementation_cached_value = False


def _no_interface_model(attn_implementation):
    torch.manual_seed(0)
    cfg = Qwen2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, vocab_size=512)
    return _NoInterfaceQwen2._from_config(cfg, attn_implementation=attn_implementation).eval()


def test_model_that_cannot_switch_falls_back_to_eager_with_warning():
    model = _no_interface_model("eager")
    ids, mask, pos = _batch(4)
    ref = _eager_attentions("qwen2", ids, mask, pos)  # only for shapes; weights differ
    with pytest.warns(UserWarning, match="falling back to eager"):
        cap = AttentionCapture(model)
        cap.install()
    assert cap.mode == "eager" and cap.forward_kwargs() == {"output_attentions": True}
    with torch.no_grad():
        out = model(ids, attention_mask=mask, position_ids=pos, **cap.forward_kwargs())
    row = cap.read(out)
    cap.remove()
    assert row.shape == ref.attentions[-1][:, :, -1, :].shape
    torch.testing.assert_close(row, out.attentions[-1][:, :, -1, :], atol=0, rtol=0)


def test_model_without_any_attention_raises_a_clear_error():
    model = _no_interface_model("sdpa")  # cannot switch, and SDPA returns no weights
    ids, mask, pos = _batch(5)
    with pytest.warns(UserWarning, match="falling back"):
        cap = AttentionCapture(model)
        cap.install()
    with torch.no_grad():
        out = model(ids, attention_mask=mask, position_ids=pos, **cap.forward_kwargs())
    with pytest.raises(ValueError, match="needs_attention=False"):
        cap.read(out)
    cap.remove()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_capture_and_generate_on_cuda_bf16(tiny_tokenizer):
    """CUDA: capture equals eager in float32; a bf16 model generates with the real sampler."""
    import alpha

    model = make_tiny_model("qwen2").cuda()
    ids, mask, pos = (t.cuda() for t in _batch(6))
    eager = make_tiny_model("qwen2", attn_implementation="eager").cuda()
    with torch.no_grad():
        ref = eager(ids, attention_mask=mask, position_ids=pos, output_attentions=True)
        with AttentionCapture(model) as cap:
            row = cap.read(model(ids, attention_mask=mask, position_ids=pos))
    torch.testing.assert_close(row, ref.attentions[-1][:, :, -1, :], atol=1e-5, rtol=0)
    res = alpha.generate(model.to(torch.bfloat16), tiny_tokenizer, ["hello", "a b c"],
                         max_new_tokens=4, seed=0)
    assert [len(t) for t in res.token_ids] == [4, 4] or "eos" in res.finish_reasons
