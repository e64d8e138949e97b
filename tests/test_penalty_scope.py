"""rep_penalty_scope="lexical" (alpha_lexical): the penalty spares punctuation/whitespace tokens.

Reference: transformers' RepetitionPenaltyLogitsProcessor, run row by row on the row's real
ids, with the exempt columns put back to the raw logits (an exempt token is never penalised;
every other token exactly as HF penalises it); scipy's entropy for the drawn distribution.
Real tokenizers: the shipped tiny model's and, where cached, SmolLM2-135M's. Bad inputs tried:
no mask with scope lexical, an unknown scope, alpha_lexical asked for scope all, a mask longer
than the vocabulary, a mask that is not bool.
"""

import math
import os
from pathlib import Path

import pytest
import torch
from conftest import TINY_MODEL_DIR
from filtering_oracle import apply_sampling_params, penalize_repetitions
from scipy.stats import entropy as scipy_entropy
from transformers import AutoModelForCausalLM, AutoTokenizer, RepetitionPenaltyLogitsProcessor

from alpha import AdaptiveEntropixSampler, SamplerConfig, build_sampler
from alpha.penalty_scope import (
    check_exempt_mask,
    is_exempt_text,
    lexical_exempt_mask,
    penalised_positions,
)
from alpha.solvers import build_pool

SMOLLM2 = sorted(Path(os.path.expanduser("~/.cache/alpha-sampler/models")).glob("smollm2-135m-*"))


def hf_lexical(logits, ids, penalty, exempt, mask=None, window=128):
    """HF's penalty on each row's last `window` real ids; exempt columns keep their raw logit."""
    rows = []
    for i in range(logits.shape[0]):
        row_ids = ids[i][-window:] if mask is None else ids[i][-window:][mask[i][-window:]]
        x = logits[i : i + 1].float()
        if row_ids.numel():
            x = RepetitionPenaltyLogitsProcessor(float(penalty[i]))(row_ids[None], x.clone())
        rows.append(torch.where(exempt, logits[i : i + 1].float(), x))
    return torch.cat(rows)


def pool_penalised(logits, ids, penalty, exempt, mask=None, window=128):
    """The sampler's own route: the pool with exempt ids hidden, penalised, back to (B, V)."""
    v = logits.shape[1]
    ids_w, mask_w = ids[:, -window:], None if mask is None else mask[:, -window:]
    pool = build_pool(logits, ids_w, input_mask=penalised_positions(ids_w, mask_w, exempt),
                      rep_window=window, top_k_max=v)
    vals, idx = pool.top(penalty, v)  # every token once (finite logits)
    return torch.full_like(logits, float("nan")).scatter(1, idx, vals)


def test_hand_built_vocab_equals_hf_on_lexical_tokens_and_raw_on_exempt():
    g = torch.Generator().manual_seed(0)
    v = 12
    exempt = torch.zeros(v, dtype=torch.bool)
    exempt[[1, 4, 7]] = True  # "punctuation" ids
    logits = torch.randn(3, v, generator=g) * 3  # both signs: divided / multiplied
    ids = torch.tensor([[1, 2, 4, 2, 5, 7, 9, 1],
                        [0, 0, 3, 1, 3, 6, 4, 8],   # row 1: two left pads (id 0, not seen)
                        [4, 4, 4, 7, 7, 1, 1, 1]])  # row 2: only exempt ids: no penalty at all
    mask = torch.ones_like(ids, dtype=torch.bool)
    mask[1, :2] = False
    pen = torch.tensor([1.3, 2.0, 1.5])
    for window in (128, 4):
        ref = hf_lexical(logits, ids, pen, exempt, mask, window)
        assert not torch.equal(ref[:2], logits[:2])  # the non-exempt seen tokens moved
        torch.testing.assert_close(ref[2], logits[2], rtol=0, atol=0)
        got = pool_penalised(logits, ids, pen, exempt, mask, window)
        torch.testing.assert_close(got, ref, rtol=0, atol=0)
        pm = penalised_positions(ids, mask, exempt)
        torch.testing.assert_close(penalize_repetitions(logits, ids, pen, input_mask=pm,
                                                        rep_window=window), ref, rtol=0, atol=0)


@pytest.mark.parametrize("path", [TINY_MODEL_DIR, *SMOLLM2[:1]], ids=lambda p: Path(p).name)
def test_real_tokenizer_mask_spares_punctuation_not_words(path):
    tok = AutoTokenizer.from_pretrained(path)
    mask = lexical_exempt_mask(tok)
    assert mask.shape == (len(tok),) and mask.dtype == torch.bool

    def one(text):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, (text, ids)
        return ids[0]

    for text in (",", ".", "\n", "\n\n", "!", "?", ";", ":", '"', "(", ")"):
        assert mask[one(text)], repr(text)
    for text in ("the", " the", "The", " and", "1"):
        assert not mask[one(text)], repr(text)
    if tok.eos_token_id is not None:  # special tokens are texts with letters: penalised
        assert not mask[tok.eos_token_id]
    # a real sentence through the sampler's route vs HF's processor
    ids = torch.tensor([tok("the cat, the dog.\nthe end, the end.\n")["input_ids"]])
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(1, len(tok), generator=g) * 4
    pen = torch.tensor([1.4])
    ref = hf_lexical(logits, ids, pen, mask)
    torch.testing.assert_close(pool_penalised(logits, ids, pen, mask), ref, rtol=0, atol=0)
    for text, moved in ((",", False), (".", False), ("\n", False), ("the", True)):
        i = one(text)
        assert bool(ref[0, i] != logits[0, i]) == moved, text


def test_is_exempt_text():
    assert all(map(is_exempt_text, [",", " .", "\n\n", " ", "--", "$", "...\n", ""]))
    assert not any(map(is_exempt_text, ["a", " the", "2", "é", "日", ",a", "\ufffd"]))


@pytest.mark.parametrize("solver", ["bisection", "seed_adam"])
def test_sampler_draws_from_the_hf_lexical_distribution_of_its_parameters(solver):
    g = torch.Generator().manual_seed(2)
    b, v, t = 4, 300, 40
    logits = torch.randn(b, v, generator=g) * 3
    exempt = torch.rand(v, generator=g) < 0.2
    ids = torch.randint(0, 60, (b, t), generator=g)  # plenty of repeats, exempt ones included
    s = AdaptiveEntropixSampler(SamplerConfig(solver=solver, rep_penalty_scope="lexical",
                                              param_smoothing_factor=0.5), exempt_tokens=exempt)
    moved = False
    for step in range(3):
        gens = [torch.Generator().manual_seed(10 * step + i) for i in range(b)]
        st = s.sample(logits, ids, generators=gens)
        p = st.params
        pen = hf_lexical(logits, ids, p.rep_penalty, exempt)
        ref = apply_sampling_params(pen, ids, temperature=p.temperature, top_k=p.top_k,
                                    top_p=p.top_p, rep_penalty=1.0, candidate_size=p.candidate_size)
        assert torch.isfinite(ref.gather(1, st.tokens[:, None])).all()
        h = torch.tensor([scipy_entropy(torch.softmax(r.double(), -1).numpy(), base=2)
                          for r in ref]) / math.log2(v)
        torch.testing.assert_close(st.final_entropy.double(), h, atol=1e-5, rtol=0)
        every = apply_sampling_params(logits, ids, **p.as_kwargs())  # scope "all"
        moved |= not torch.equal(every, ref)
        ids = torch.cat([ids, st.tokens[:, None]], 1)
    assert moved  # the exemption changed the distribution somewhere (the test is not vacuous)


def _run(sampler, logits, ids, steps=3):
    out = []
    for k in range(steps):
        gens = [torch.Generator().manual_seed(k * 7 + i) for i in range(ids.shape[0])]
        st = sampler.step(logits, ids, generators=gens)
        out.append((st.tokens, st.trace))
        ids = torch.cat([ids, st.tokens[:, None]], 1)
    return out


def test_scope_all_ignores_the_mask_and_an_empty_mask_is_scope_all_bit_for_bit():
    g = torch.Generator().manual_seed(3)
    logits, ids = torch.randn(4, 200, generator=g) * 3, torch.randint(0, 50, (4, 30), generator=g)
    base = _run(build_sampler("alpha"), logits, ids)
    every = AdaptiveEntropixSampler(SamplerConfig(rep_penalty_scope="all"),
                                    exempt_tokens=torch.ones(200, dtype=torch.bool))
    nothing = AdaptiveEntropixSampler(SamplerConfig(rep_penalty_scope="lexical"),
                                      exempt_tokens=torch.zeros(200, dtype=torch.bool))
    for other in (_run(every, logits, ids), _run(nothing, logits, ids)):
        for (t0, tr0), (t1, tr1) in zip(base, other, strict=True):
            assert torch.equal(t0, t1)
            assert all(torch.equal(tr0[k], tr1[k]) for k in tr0)


def test_generate_binds_the_tokenizer_and_scope_all_texts_are_unchanged():
    import alpha

    tok = AutoTokenizer.from_pretrained(TINY_MODEL_DIR)
    model = AutoModelForCausalLM.from_pretrained(TINY_MODEL_DIR).eval()
    prompts = ["ROMEO:\nWhat, what, what say you,", "JULIET:\nO, O, O;"]
    kw = dict(max_new_tokens=24, seed=0)
    lex = build_sampler("alpha_lexical")
    out = alpha.generate(model, tok, prompts, sampler=lex, **kw)
    assert torch.equal(lex.exempt_tokens, lexical_exempt_mask(tok))
    assert all(len(ids) > 0 for ids in out.token_ids)
    a = alpha.generate(model, tok, prompts, sampler=build_sampler("alpha"), **kw)
    b = alpha.generate(model, tok, prompts, sampler=build_sampler("alpha", rep_penalty_scope="all"),
                       **kw)
    assert a.token_ids == b.token_ids and a.traces == b.traces


def test_bad_input_is_one_line():
    s = build_sampler("alpha_lexical")
    with pytest.raises(ValueError, match=r"^rep_penalty_scope='lexical' needs the tokenizer's "
                       r"exempt-token mask; .*bind_tokenizer\(tokenizer\)") as err:
        s.sample(torch.randn(2, 50), torch.zeros(2, 3, dtype=torch.long))
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"^rep_penalty_scope='words' is unknown; choose one of "
                       r"\['all', 'lexical'\]$"):
        SamplerConfig(rep_penalty_scope="words")
    with pytest.raises(ValueError, match="alpha_lexical always uses rep_penalty_scope='lexical'"):
        build_sampler("alpha_lexical", rep_penalty_scope="all")
    with pytest.raises(ValueError, match="exempt_tokens has 60 entries but the logits have 50"):
        check_exempt_mask(torch.zeros(60, dtype=torch.bool), 50)
    with pytest.raises(ValueError, match=r"exempt_tokens must be a \(V,\) bool tensor"):
        check_exempt_mask(torch.zeros(50), 50)
    padded = check_exempt_mask(torch.ones(40, dtype=torch.bool), 50)  # model vocab > tokenizer
    assert padded.shape == (50,) and padded[:40].all() and not padded[40:].any()
