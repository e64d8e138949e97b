"""Continuation perplexity equals exp(transformers' own mean loss with labels=-100 on the prompt).

Independent reference: `model(input_ids, labels=labels).loss` on each unpadded row, with ids
tokenised directly in the test. Ours runs batched with right padding, rows sorted by length.
Bad inputs tried: an empty generation, an empty prompt, non-ASCII text, an oracle whose
tokenizer differs from the generator's (texts are re-tokenised), a row longer than max_length.
"""

import math

import pytest
import torch
from conftest import make_tiny_model
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from alpha.evaluation import evaluate_records

PROMPTS = ["Once upon a time", "The", "", "héllo wörld ünïcode", "A longer prompt with words",
           "Short"]
TEXTS = [" there was a king.", " cat sat on the mat and more", "lonely text",
         " ça va? 日本語 fine", "", " x"]


def hf_perplexity(model, tok, prompt, text):
    """exp(mean NLL of the continuation tokens) from transformers' own loss.

    An empty prompt becomes the BOS token when the tokenizer has one (the documented rule).
    """
    context = tok(prompt)["input_ids"] if prompt else []
    if not context and tok.bos_token_id is not None:
        context = [tok.bos_token_id]
    cont = tok(text, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context + cont])
    labels = ids.clone()
    labels[0, :len(context)] = -100
    if (labels[0, 1:] != -100).sum() == 0:
        return None
    with torch.no_grad():
        return math.exp(model(input_ids=ids, labels=labels).loss.item())


def _records():
    return [{"prompt": p, "text": t} for p, t in zip(PROMPTS, TEXTS, strict=True)]


@pytest.mark.parametrize("arch,overrides", [("qwen2", {}), ("llama", {}), ("gpt2", {}),
                                            ("gemma3", {}),
                                            ("gemma3", {"final_logit_softcapping": 2.0})])
def test_perplexity_matches_transformers_loss(arch, overrides, tiny_tokenizer):
    model = make_tiny_model(arch, **overrides)  # softcapping: the model's own head post-processing
    report = evaluate_records(_records(), metrics=["perplexity"], model=model,
                              tokenizer=tiny_tokenizer, options={"batch_size": 4})
    got = [r["perplexity"] for r in report.per_prompt]
    want = [hf_perplexity(model, tiny_tokenizer, p, t) for p, t in zip(PROMPTS, TEXTS, strict=True)]
    assert got[4] is None and want[4] is None  # empty generation: nothing to score
    for g, w in zip(got, want, strict=True):
        if w is not None:
            assert g == pytest.approx(w, rel=1e-4)
    agg = report.aggregates["perplexity"]
    assert agg["n"] == 5 and "1 of 6 prompts" in agg["note"]
    assert agg["mean"] == pytest.approx(sum(w for w in want if w) / 5, rel=1e-4)


def _other_tokenizer():
    """A different byte-level BPE (300 tokens) trained on the fly, with its own ids."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(PROMPTS + TEXTS + ["the quick brown fox"] * 5, trainer)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", pad_token="<pad>")


def test_oracle_with_another_tokenizer_and_loglik_coherence(tiny_tokenizer):
    gen = make_tiny_model("qwen2")
    oracle_tok = _other_tokenizer()
    assert oracle_tok("héllo")["input_ids"] != tiny_tokenizer("héllo")["input_ids"]
    oracle = make_tiny_model("gpt2", vocab_size=len(oracle_tok), seed=3)
    report = evaluate_records(_records(), metrics=["oracle_perplexity", "coherence_ll"],
                              model=gen, tokenizer=tiny_tokenizer, oracle=oracle,
                              oracle_tokenizer=oracle_tok)
    for row, p, t in zip(report.per_prompt, PROMPTS, TEXTS, strict=True):
        want = hf_perplexity(oracle, oracle_tok, p, t)
        if want is None:
            assert row["oracle_perplexity"] is None and row["coherence_ll"] is None
            continue
        assert row["oracle_perplexity"] == pytest.approx(want, rel=1e-4)
        assert row["coherence_ll"] == pytest.approx(-math.log(want), rel=1e-4)


def test_long_rows_lose_prompt_tokens_from_the_left(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    prompt, text = "word " * 40, " and the end of it"
    report = evaluate_records([{"prompt": prompt, "text": text}], metrics=["perplexity"],
                              model=model, tokenizer=tiny_tokenizer, options={"max_length": 16})
    cont = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
    context = tiny_tokenizer(prompt)["input_ids"][-(16 - len(cont)):]
    ids = torch.tensor([context + cont])
    labels = ids.clone()
    labels[0, :len(context)] = -100
    with torch.no_grad():
        want = math.exp(model(input_ids=ids, labels=labels).loss.item())
    assert report.per_prompt[0]["perplexity"] == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_vocabulary_projection_only_at_scored_positions(arch, tiny_tokenizer):
    """The LM head sees one row per scored continuation token: no vocabulary pass over the
    prompt or the padding (what made Gemma-3's 262k-token head most of an oracle pass)."""
    model = make_tiny_model(arch)
    projected = []
    model.lm_head.register_forward_hook(lambda mod, args, out: projected.append(args[0].shape))
    records = _records()
    report = evaluate_records(records, metrics=["perplexity"], model=model,
                              tokenizer=tiny_tokenizer, options={"batch_size": 8})
    scored = sum(len(tiny_tokenizer(r["text"], add_special_tokens=False)["input_ids"])
                 - (0 if r["prompt"] else 1) for r in records)  # empty prompt: BOS is context
    assert sum(math.prod(s[:-1]) for s in projected) == scored
    assert report.aggregates["perplexity"]["n"] == 5


def test_a_model_that_cannot_slice_logits_falls_back_once_and_scores_the_same(tiny_tokenizer):
    """A forward without `logits_to_keep` (older transformers, custom models): full logits,
    the same perplexities, and the failed attempt is made once, not once per batch."""
    model = make_tiny_model("llama")
    want = [r["perplexity"] for r in evaluate_records(
        _records(), metrics=["perplexity"], model=model, tokenizer=tiny_tokenizer,
        options={"batch_size": 2}).per_prompt]

    class NoSlicing(type(model)):
        attempts = 0

        def forward(self, *args, logits_to_keep=0, **kwargs):
            if not isinstance(logits_to_keep, int):
                NoSlicing.attempts += 1
                raise TypeError("forward() got an unexpected keyword argument 'logits_to_keep'")
            return super().forward(*args, **kwargs)

    model.__class__ = NoSlicing
    got = [r["perplexity"] for r in evaluate_records(
        _records(), metrics=["perplexity"], model=model, tokenizer=tiny_tokenizer,
        options={"batch_size": 2}).per_prompt]
    assert NoSlicing.attempts == 1  # 3 batches, one failed attempt
    # A record too short to score has perplexity None in both runs; pytest >= 9 refuses None
    # inside approx(rel=...), so the None positions are compared exactly and the numbers approx.
    assert [g is None for g in got] == [w is None for w in want]
    assert any(w is not None for w in want)
    nums = [(g, w) for g, w in zip(got, want, strict=True) if w is not None]
    assert [g for g, _ in nums] == pytest.approx([w for _, w in nums], rel=1e-5)
