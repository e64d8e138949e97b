"""DRY (alpha/dry.py) by hand: the penalty of a repeated motif, sequence breakers (built from a
real tokenizer as llama.cpp builds them, a single-token breaker never penalised, a breaker ending
a repeat's reach), padded rows equal the rows alone, the engine binds the tokenizer. Its core is
compared with llama.cpp's own DRY in test_llama_cpp_reference.py. Bad inputs tried: multiplier 0,
base 0.9, allowed_length 0, penalty_last_n 0, a bare string for the breakers, an empty breaker,
a breaker no token can spell, DRY stepped without its tokenizer."""

from __future__ import annotations

import pytest
import torch
from conftest import ASSETS, make_tiny_model
from transformers import AutoTokenizer

from alpha import build_sampler
from alpha.dry import dry_penalties, process_breakers, rep_limit


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(ASSETS / "tokenizer")


def test_a_repeated_motif_by_hand():
    """h = 5 6 7 8 5 6 7 8 5 6 7: emitting 8 would repeat '5 6 7 8 5 6 7' (7 tokens) once more,
    so 8 loses 0.8 · 1.75^(7 - 2); nothing else would extend a repeat of 2 or more."""
    pen = dry_penalties([5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7], multiplier=0.8, base=1.75, allowed=2,
                        last_n=64, breakers={})
    assert pen == pytest.approx({8: 0.8 * 1.75 ** 5})
    # the window cuts the history: the last 5 tokens '7 8 5 6 7' hold '7' then '5 6 7'...
    assert dry_penalties([5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7], multiplier=0.8, base=1.75, allowed=2,
                         last_n=5, breakers={}) == {}
    assert dry_penalties([1, 2, 3], multiplier=1, base=2, allowed=3, last_n=9, breakers={}) == {}


def test_breakers_limit_the_reach_and_are_never_penalised():
    h = [5, 6, 99, 5, 6]  # 99 is a breaker: the repeat '5 6' may not reach across it
    assert rep_limit(h, {99: [()]}) == 2  # 2 tokens after the breaker
    assert dry_penalties(h, multiplier=1, base=2, allowed=2, last_n=9, breakers={99: [()]}) == {}
    assert dry_penalties(h, multiplier=1, base=2, allowed=2, last_n=9, breakers={}) == {99: 1.0}
    h = [5, 99, 5, 99, 5]  # the breaker itself would extend '5 99 5': still not penalised
    assert 99 not in dry_penalties(h, multiplier=1, base=2, allowed=1, last_n=9,
                                   breakers={99: [()], 5: [(7,)]})
    assert rep_limit([1, 5, 7, 2], {5: [(7,)]}) == 1  # head 5 + tail 7 end the reach


def test_breakers_from_the_tokenizer_as_llama_cpp_builds_them(tok):
    """A token whose text holds the whole string is a single-token breaker; one whose text ends
    with the string's start is a head, its tail the tokens of the rest."""
    words = [tok.decode([i]) for i in range(len(tok))]
    got = process_breakers(tok, ["\n", ", and"])
    singles = {i for i, w in enumerate(words) if "\n" in w or ", and" in w}
    assert {h for h, tails in got.items() if () in tails} == singles
    comma = [i for i, w in enumerate(words) if w.endswith(",") and ", and" not in w]
    assert comma and all(tuple(tok.encode(" and", add_special_tokens=False)) in got[i]
                         for i in comma)


def test_a_padded_row_is_penalised_as_the_row_alone(tok):
    s = build_sampler("dry", sequence_breakers=["\n"])
    s.bind_tokenizer(tok)
    row = [5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7]
    ids = torch.tensor([row, [0, 0, 0] + row[3:]])
    mask = torch.tensor([[True] * 11, [False] * 3 + [True] * 8])
    x = torch.zeros(2, len(tok))
    both = s.penalised(x, ids, mask)
    torch.testing.assert_close(both[1:], s.penalised(x[:1], torch.tensor([row[3:]]), None))
    assert both[0, 8] < both[1, 8] < 0  # the longer history repeats more


def test_the_engine_binds_the_tokenizer_and_traces_the_penalised_tokens(tok):
    from alpha.generation import generate

    res = generate(make_tiny_model("llama", vocab_size=len(tok)), tok, ["a b a b a b", "x"],
                   sampler=build_sampler("dry", multiplier=2.0), max_new_tokens=6, seed=0)
    assert all(len(t["dry_penalised"]) == len(ids) for t, ids in zip(res.traces, res.token_ids,
                                                                     strict=True))


@pytest.mark.parametrize("params,message", [
    (dict(multiplier=0.0), r"^sampler.multiplier=0.0 is invalid: use a number in \(0, inf\)$"),
    (dict(base=0.9), r"^sampler.base=0.9 is invalid: use a number in \[1, inf\)$"),
    (dict(allowed_length=0), r"^sampler.allowed_length=0 is invalid: use an integer in \[1, inf\)$"),
    (dict(penalty_last_n=0), r"^sampler.penalty_last_n=0 is invalid"),
    (dict(sequence_breakers="\n"), r"^sampler.sequence_breakers='\\n' is invalid: use a list"),
    (dict(sequence_breakers=["\n", ""]), r"^sampler.sequence_breakers=\['\\n', ''\] is invalid"),
])
def test_bad_parameters_are_one_line(params, message):
    with pytest.raises(ValueError, match=message):
        build_sampler("dry", **params)


def test_a_breaker_no_token_spells_and_a_missing_tokenizer_are_one_line(tok):
    s = build_sampler("dry", sequence_breakers=["\u2603"])  # a snowman: not in the vocabulary
    with pytest.raises(ValueError, match=r"^sampler.sequence_breakers: '\u2603' matches no token"):
        s.bind_tokenizer(tok)
    with pytest.raises(ValueError, match="DRY needs the tokenizer"):
        build_sampler("dry").step(torch.zeros(1, 5), torch.zeros(1, 2, dtype=torch.long))
