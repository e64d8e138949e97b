"""The `rep_penalty` key on any baseline (alpha/rep_penalty.py) against transformers'
`RepetitionPenaltyLogitsProcessor` and `generate(repetition_penalty=...)`; padding is never
penalised, so a row in a left-padded batch is penalised as the row alone. Bad inputs tried:
rep_penalty 0 and a string, rep_window 0 and 2.5, a misspelt key."""

from __future__ import annotations

import pytest
import torch
from conftest import make_tiny_model
from transformers import RepetitionPenaltyLogitsProcessor

from alpha import build_sampler
from alpha.rep_penalty import penalise


def test_equals_transformers_processor_without_padding():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 50, generator=g) * 3  # positive and negative logits
    ids = torch.randint(0, 50, (3, 12), generator=g)  # repeats included
    for pen in (0.8, 1.3, 2.0):
        want = RepetitionPenaltyLogitsProcessor(pen)(ids, logits.clone())
        torch.testing.assert_close(penalise(logits, ids, None, pen), want)


def test_padding_is_not_penalised_and_a_padded_row_equals_the_row_alone():
    logits = torch.tensor([[2.0, -1.0, 3.0, 0.5], [2.0, -1.0, 3.0, 0.5]])
    ids = torch.tensor([[0, 0, 2], [9, 9, 2]])[:, :]  # row 1: two pads (id 0 in row 0 is real)
    ids[1, :2] = 0  # the pad id is 0, a real token elsewhere
    mask = torch.tensor([[True, True, True], [False, False, True]])
    out = penalise(logits, ids, mask, 2.0)
    assert out[0].tolist() == [1.0, -1.0, 1.5, 0.5]  # tokens 0 and 2 seen
    assert out[1].tolist() == [2.0, -1.0, 1.5, 0.5]  # only token 2: the pads are not tokens
    torch.testing.assert_close(out[1:], penalise(logits[1:], ids[1:, 2:], None, 2.0))


def test_the_window_looks_at_the_last_tokens_only():
    logits = torch.tensor([[1.0, 1.0, 1.0]])
    ids = torch.tensor([[0, 1, 2, 2]])
    assert penalise(logits, ids, None, 2.0, window=2).tolist() == [[1.0, 1.0, 0.5]]


def test_top_p_with_a_penalty_equals_generate_per_seeded_row(tiny_tokenizer):
    """Through alpha.generate (one row a batch, no padding): generate's own chain with
    repetition_penalty, temperature and top_p gives the same tokens from the same seed."""
    from alpha.generation import generate, row_seed

    model = make_tiny_model("qwen2", seed=3)
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)  # peaked: the penalty and the truncation both bite
    prompts = ["To be, or not", "The king is dead"]
    sampler = build_sampler("top_p", top_p=0.8, temperature=1.2, rep_penalty=1.5)
    res = generate(model, tiny_tokenizer, prompts, sampler=sampler, max_new_tokens=12, seed=5,
                   batch_size=1)
    for i, prompt in enumerate(prompts):
        ids = tiny_tokenizer(prompt, return_tensors="pt").input_ids
        torch.manual_seed(row_seed(5, i))
        out = model.generate(ids, max_new_tokens=12, do_sample=True, top_k=0, top_p=0.8,
                             temperature=1.2, repetition_penalty=1.5)
        assert res.token_ids[i] == out[0, ids.shape[1]:].tolist()
        assert set(res.traces[i]["rep_penalty"]) == {1.5}


@pytest.mark.parametrize("params,message", [
    (dict(rep_penalty=0.0), r"^sampler.rep_penalty=0.0 is invalid: use a number in \(0, inf\)$"),
    (dict(rep_penalty="1.3"), r"^sampler.rep_penalty='1.3' is invalid"),
    (dict(rep_penalty=1.3, rep_window=0), r"^sampler.rep_window=0 is invalid: use an integer in \[1, inf\)$"),
    (dict(rep_penalty=1.3, rep_window=2.5), r"^sampler.rep_window=2.5 is invalid"),
    (dict(rep_penality=1.3), r"did you mean 'sampler.rep_penalty'\?"),
])
def test_bad_values_are_one_line(params, message):
    with pytest.raises(ValueError, match=message):
        build_sampler("min_p", **params)
