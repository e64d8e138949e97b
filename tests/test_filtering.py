"""apply_sampling_params against Hugging Face's own processors/warpers, and the draw.

Reference: transformers' RepetitionPenaltyLogitsProcessor -> TemperatureLogitsWarper ->
TopKLogitsWarper -> TopPLogitsWarper, run row by row with each row's parameters, then the
candidate-pool cut done by hand (keep the N largest finite entries).
Bad inputs tried: NaN, +inf, a row all -inf, fp16/bf16 logits, input_ids shorter / longer than
the window, empty input_ids, ids out of range, out-of-range parameters, wrong parameter shape,
wrong number of generators, an empty batch.
"""

import pytest
import torch
from filtering_oracle import apply_sampling_params
from transformers import (
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from alpha.filtering import draw

NEG = float("-inf")


def hf_chain(logits, ids, t, k, p, pen, c, window=128, mask=None):
    """HF's chain, one row at a time (pads dropped from the row's ids), then the pool cut."""
    rows = []
    for i in range(logits.shape[0]):
        row_ids = ids[i][mask[i]] if mask is not None else ids[i]
        row_ids = row_ids[-window:][None]
        x = logits[i : i + 1].float()
        if row_ids.shape[1]:
            x = RepetitionPenaltyLogitsProcessor(float(pen[i]))(row_ids, x)
        x = TemperatureLogitsWarper(float(t[i]))(row_ids, x)
        x = TopKLogitsWarper(int(k[i]))(row_ids, x)
        x = TopPLogitsWarper(float(p[i]))(row_ids, x)
        n = int(c[i])
        finite = torch.isfinite(x[0]).sum()
        if finite > n:
            cut = torch.topk(x[0], n).values[-1]
            x = x.masked_fill(x < cut, NEG)
        rows.append(x)
    return torch.cat(rows)


def random_params(b, g):
    t = 0.1 + 0.9 * torch.rand(b, generator=g)
    k = torch.randint(1, 201, (b,), generator=g).float()
    p = 0.1 + 0.9 * torch.rand(b, generator=g)
    pen = 0.8 + 0.8 * torch.rand(b, generator=g)  # below 1 too (HF allows any > 0)
    c = torch.randint(1, 101, (b,), generator=g).float()
    return t, k, p, pen, c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_hf_chain_with_per_row_params(seed):
    g = torch.Generator().manual_seed(seed)
    b, v = 8, 3000
    logits = torch.randn(b, v, generator=g) * 4
    ids = torch.randint(0, v, (b, 200), generator=g)  # longer than the 128 window
    t, k, p, pen, c = random_params(b, g)
    before = logits.clone()
    out = apply_sampling_params(logits, ids, temperature=t, top_k=k, top_p=p, rep_penalty=pen,
                                candidate_size=c)
    ref = hf_chain(logits, ids, t, k, p, pen, c)
    assert torch.equal(logits, before), "input modified"
    assert torch.equal(torch.isinf(out), torch.isinf(ref))
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_top_p_one_keeps_all_of_top_k_and_scalars_work():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 500, generator=g)
    ids = torch.randint(0, 500, (4, 10), generator=g)
    out = apply_sampling_params(logits, ids, temperature=0.7, top_k=50, top_p=1.0,
                                rep_penalty=1.3, candidate_size=100)
    ones = torch.ones(4)
    ref = hf_chain(logits, ids, ones * 0.7, ones * 50, ones, ones * 1.3, ones * 100)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    assert (torch.isfinite(out).sum(1) == 50).all()


def test_left_padding_is_not_penalised():
    g = torch.Generator().manual_seed(4)
    b, v, pad = 3, 400, 1
    logits = torch.randn(b, v, generator=g) + 5.0
    ids = torch.randint(2, v, (b, 20), generator=g)
    mask = torch.ones(b, 20, dtype=torch.bool)
    ids[0, :7], mask[0, :7] = pad, False
    ids[1, :19], mask[1, :19] = pad, False
    t, k, p, pen, c = (torch.ones(b), torch.full((b,), 200.0), torch.ones(b),
                       torch.full((b,), 1.5), torch.full((b,), 100.0))
    out = apply_sampling_params(logits, ids, temperature=t, top_k=k, top_p=p, rep_penalty=pen,
                                candidate_size=c, input_mask=mask)
    ref = hf_chain(logits, ids, t, k, p, pen, c, mask=mask)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    assert out[0, pad] == logits[0, pad] or not torch.isfinite(out[0, pad])


@pytest.mark.parametrize("t_len", [0, 1, 5, 128, 300])
def test_any_input_length(t_len):
    g = torch.Generator().manual_seed(t_len)
    logits = torch.randn(2, 300, generator=g) * 2
    ids = torch.randint(0, 300, (2, t_len), generator=g)
    ones = torch.ones(2)
    out = apply_sampling_params(logits, ids, temperature=0.5, top_k=200, top_p=0.95,
                                rep_penalty=1.4, candidate_size=100)
    ref = hf_chain(logits, ids, ones * 0.5, ones * 200, ones * 0.95, ones * 1.4, ones * 100)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_logits_are_computed_in_float32(dtype):
    g = torch.Generator().manual_seed(5)
    logits = (torch.randn(3, 256, generator=g) * 3).to(dtype)
    ids = torch.randint(0, 256, (3, 9), generator=g)
    kw = dict(temperature=0.8, top_k=40, top_p=0.9, rep_penalty=1.2, candidate_size=30)
    out = apply_sampling_params(logits, ids, **kw)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, apply_sampling_params(logits.float(), ids, **kw))


def test_nan_is_minus_inf_and_plus_inf_row_keeps_only_inf_tokens():
    logits = torch.randn(2, 50)
    logits[0, 3] = float("nan")
    logits[1, [4, 9]] = float("inf")
    out = apply_sampling_params(logits, torch.zeros(2, 0, dtype=torch.long), temperature=1.0,
                                top_k=200, top_p=1.0, rep_penalty=1.0, candidate_size=100)
    assert out[0, 3] == NEG and torch.isfinite(out[0]).sum() == 49
    assert torch.isfinite(out[1]).nonzero().flatten().tolist() == [4, 9]
    assert torch.isfinite(out).any(1).all()


def test_row_without_finite_logit_raises():
    logits = torch.randn(3, 20)
    logits[1] = NEG
    logits[2] = float("nan")
    with pytest.raises(ValueError, match=r"rows \[1, 2\] have no finite value"):
        apply_sampling_params(logits, torch.zeros(3, 1, dtype=torch.long), temperature=1.0,
                              top_k=5, top_p=1.0, rep_penalty=1.0, candidate_size=5)


@pytest.mark.parametrize("name,value,match", [
    ("temperature", 0.0, "temperature=0.0"),
    ("top_k", 0, "top_k=0"),
    ("top_p", 1.5, "top_p=1.5"),
    ("top_p", 0.0, "top_p=0.0"),
    ("rep_penalty", -1.0, "rep_penalty=-1.0"),
    ("candidate_size", 0, "candidate_size=0"),
    ("temperature", torch.ones(3), r"scalar or a \(2,\) tensor"),
])
def test_bad_parameters_raise(name, value, match):
    kw = dict(temperature=1.0, top_k=5, top_p=1.0, rep_penalty=1.0, candidate_size=5)
    kw[name] = value
    with pytest.raises(ValueError, match=match):
        apply_sampling_params(torch.randn(2, 20), torch.zeros(2, 1, dtype=torch.long), **kw)


def test_bad_ids_raise():
    kw = dict(temperature=1.0, top_k=5, top_p=1.0, rep_penalty=1.1, candidate_size=5)
    with pytest.raises(ValueError, match=r"outside \[0, 20\)"):
        apply_sampling_params(torch.randn(2, 20), torch.full((2, 3), 25), **kw)
    with pytest.raises(ValueError, match="input_ids must be"):
        apply_sampling_params(torch.randn(2, 20), torch.zeros(3, 1, dtype=torch.long), **kw)


def test_empty_batch_gives_empty_output():
    out = apply_sampling_params(torch.zeros(0, 20), torch.zeros(0, 4, dtype=torch.long),
                                temperature=1.0, top_k=5, top_p=1.0, rep_penalty=1.1,
                                candidate_size=5)
    assert out.shape == (0, 20)


def test_draw_matches_probabilities_and_never_picks_removed():
    logits = torch.tensor([[2.0, 1.0, NEG, 0.0, NEG], [NEG, NEG, NEG, NEG, 3.0]])
    n = 20000
    gens = torch.Generator().manual_seed(0)
    counts = torch.zeros(5)
    for _ in range(n // 500):
        toks = draw(logits.repeat(500, 1)[: 500], gens)
        counts += torch.bincount(toks, minlength=5).float()
    freq = counts / counts.sum()
    expect = torch.softmax(logits[0], -1) * 0.5 + torch.softmax(logits[1], -1) * 0.5
    torch.testing.assert_close(freq, expect, atol=0.01, rtol=0)
    assert counts[2] == 0


def test_draw_same_generator_state_same_tokens_and_per_row_independence():
    logits = torch.randn(4, 1000)
    a = draw(logits, [torch.Generator().manual_seed(i) for i in range(4)])
    b = draw(logits, [torch.Generator().manual_seed(i) for i in range(4)])
    assert torch.equal(a, b)
    alone = draw(logits[2:3], [torch.Generator().manual_seed(2)])
    assert alone.item() == a[2].item()  # row 2 does not depend on its batch-mates
    one = torch.Generator().manual_seed(7)
    assert torch.equal(draw(logits, one), draw(logits, torch.Generator().manual_seed(7)))
    with pytest.raises(ValueError, match="one per row"):
        draw(logits, [torch.Generator()])
