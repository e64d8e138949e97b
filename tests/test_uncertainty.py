"""Entropy / varentropy in bits against hand-computed values and scipy.stats.entropy.

Bad inputs tried: NaN, +inf and all -inf logits, fp16/bf16 logits, attention of the wrong rank,
a key mask of the wrong shape, an unknown attention mode, a row with a single real key.
"""

import math

import pytest
import torch
from scipy.stats import entropy as scipy_entropy

from alpha import attention_entropy_varentropy, token_entropy_varentropy
from alpha.uncertainty import sanitize_logits


def test_uniform_is_log2_v_and_one_hot_is_zero():
    h, vh = token_entropy_varentropy(torch.zeros(2, 1000))
    torch.testing.assert_close(h, torch.full((2,), math.log2(1000)))
    torch.testing.assert_close(vh, torch.zeros(2), atol=1e-4, rtol=0)
    one_hot = torch.full((1, 50), float("-inf"))
    one_hot[0, 7] = 3.0
    h, vh = token_entropy_varentropy(one_hot)
    assert h.item() == 0.0 and vh.item() == 0.0


def test_hand_computed_varentropy():
    # p = (1/2, 1/4, 1/4): surprisals 1, 2, 2 bits; H = 1.5; VH = .5*.25 + .5*.25 = 0.25
    logits = torch.tensor([[math.log(0.5), math.log(0.25), math.log(0.25), float("-inf")]])
    h, vh = token_entropy_varentropy(logits)
    torch.testing.assert_close(h, torch.tensor([1.5]))
    torch.testing.assert_close(vh, torch.tensor([0.25]), atol=1e-5, rtol=0)


def test_matches_scipy_on_random_logits():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3000, generator=g) * 4
    h, vh = token_entropy_varentropy(logits)
    for i in range(5):
        p = torch.softmax(logits[i].double(), -1).numpy()
        ref_h = scipy_entropy(p, base=2)
        surpr = -torch.log2(torch.softmax(logits[i].double(), -1)).numpy()
        ref_vh = float((p * (surpr - ref_h) ** 2).sum())
        assert abs(h[i].item() - ref_h) < 1e-4
        assert abs(vh[i].item() - ref_vh) < 1e-3 * max(1.0, ref_vh)


@pytest.mark.parametrize("scale", [0.01, 1.0, 3.0, 10.0, 30.0, 100.0])
def test_one_pass_moments_match_float64_across_logit_scales(scale):
    """H = ln Z - E[d], VH = Var[d] (d = logits - max), float32 over a real vocabulary, from
    near-uniform (scale 0.01) to near-one-hot (100), a row with -inf entries included."""
    g = torch.Generator().manual_seed(int(scale * 100))
    logits = torch.randn(4, 151_936, generator=g) * scale
    logits[0, :1000] = float("-inf")
    h, vh = token_entropy_varentropy(logits)
    for i in range(4):
        p = torch.softmax(logits[i].double(), -1).numpy()
        ref_h = scipy_entropy(p, base=2)
        surpr = (-torch.log2(torch.softmax(logits[i].double(), -1))).clamp_max(1e4).numpy()
        ref_vh = float((p * (surpr - ref_h) ** 2).sum())
        assert abs(h[i].item() - ref_h) < 1e-5
        assert abs(vh[i].item() - ref_vh) < 1e-5 * max(1.0, ref_vh)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_equals_float32_of_same_values(dtype):
    logits = (torch.randn(3, 500) * 2).to(dtype)
    a = token_entropy_varentropy(sanitize_logits(logits))
    b = token_entropy_varentropy(logits.float())
    torch.testing.assert_close(a, b)


def test_sanitize_nan_inf_and_dead_rows():
    x = torch.tensor([[0.0, float("nan"), 1.0], [float("inf"), 0.0, float("inf")]])
    out = sanitize_logits(x)
    assert out[0, 1] == float("-inf") and out[0, 2] == 1.0
    assert out[1].tolist() == [0.0, float("-inf"), 0.0]  # uniform over the +inf tokens
    assert torch.isnan(x[0, 1])  # input untouched
    with pytest.raises(ValueError, match=r"rows \[0\] have no finite value"):
        sanitize_logits(torch.full((1, 4), float("-inf")))


def _attn(b, h, s, g):
    a = torch.rand(b, h, s, generator=g)
    return a / a.sum(-1, keepdim=True)


@pytest.mark.parametrize("mode", ["mean_heads", "per_head"])
def test_masked_attention_ignores_padding_and_uses_real_length(mode):
    g = torch.Generator().manual_seed(1)
    real = _attn(1, 4, 5, g)  # 5 real keys
    padded = torch.cat([torch.zeros(1, 4, 3), real], dim=-1)  # 3 left pads
    mask = torch.tensor([[False] * 3 + [True] * 5])
    h_pad, vh_pad = attention_entropy_varentropy(padded, mask, mode=mode)
    h_ref, vh_ref = attention_entropy_varentropy(real, None, mode=mode)
    torch.testing.assert_close(h_pad, h_ref)
    torch.testing.assert_close(vh_pad, vh_ref)
    # junk attention on padded keys counts for nothing either
    junk = padded.clone()
    junk[..., :3] = 0.3
    torch.testing.assert_close(attention_entropy_varentropy(junk, mask, mode=mode)[0], h_ref)


def test_mean_heads_versus_per_head_and_normalisation():
    a = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # two one-hot heads on different keys
    h_mean, _ = attention_entropy_varentropy(a, mode="mean_heads")
    h_per, _ = attention_entropy_varentropy(a, mode="per_head")
    assert h_mean.item() == pytest.approx(1.0)  # average is uniform over 2 keys: 1 bit / log2 2
    assert h_per.item() == 0.0
    # p = (1/2, 1/4, 1/4) over 4 keys (one padded): H = 1.5 bits / log2 3 keys
    a = torch.tensor([[[0.5, 0.25, 0.25, 0.0]]])
    mask = torch.tensor([[True, True, True, False]])
    h, vh = attention_entropy_varentropy(a, mask)
    assert h.item() == pytest.approx(1.5 / math.log2(3), abs=1e-6)
    assert vh.item() == pytest.approx(0.25 / math.log2(3) ** 2, abs=1e-6)


def test_single_real_key_is_zero_and_bad_shapes_raise():
    a = torch.tensor([[[0.0, 1.0]]])
    h, vh = attention_entropy_varentropy(a, torch.tensor([[False, True]]))
    assert h.item() == 0.0 and vh.item() == 0.0
    with pytest.raises(ValueError, match=r"attention must be \(B, H, S\)"):
        attention_entropy_varentropy(torch.rand(2, 5))
    with pytest.raises(ValueError, match=r"key_mask must be \(B, S\) = \(1, 2\)"):
        attention_entropy_varentropy(a, torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mode='max' is unknown"):
        attention_entropy_varentropy(a, mode="max")
