"""Self-BLEU against sacrebleu's and nltk's sentence BLEU; Zipf against scipy's linregress.

Bad inputs tried: a single generation, empty generations, non-ASCII text.
"""

import random

import numpy as np
import pytest
import sacrebleu
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from scipy import stats

from alpha.evaluation import evaluate_records
from alpha.evaluation.bleu import self_bleu_scores
from alpha.evaluation.zipf import zipf_coefficient, zipf_from_counts


def _texts(k, seed=0, lengths=(6, 18)):
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(25)] + ["ça", "日本", "naïve"]
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(*lengths))) for _ in range(k)]


@pytest.mark.parametrize("k, seed, lengths", [(7, 0, (6, 18)), (12, 1, (4, 7)), (3, 2, (5, 30))])
def test_self_bleu_equals_sacrebleu_and_nltk(k, seed, lengths):
    texts = _texts(k, seed, lengths)  # (4, 7): many equal lengths, brevity-penalty ties
    ours = self_bleu_scores(texts)
    for i, hyp in enumerate(texts):
        refs = texts[:i] + texts[i + 1:]
        sb = sacrebleu.sentence_bleu(hyp, refs, smooth_method="floor", smooth_value=0.1,
                                     tokenize="none", use_effective_order=True).score / 100
        nl = sentence_bleu([r.split() for r in refs], hyp.split(),
                           smoothing_function=SmoothingFunction().method1)
        assert ours[i] == pytest.approx(sb, rel=1e-9)
        assert ours[i] == pytest.approx(nl, rel=1e-9)


def test_self_bleu_metric_is_mean_and_identical_texts_score_one():
    texts = _texts(5)
    report = evaluate_records([{"prompt": "", "text": t} for t in texts], metrics=["self_bleu"])
    assert report.aggregates["self_bleu"]["mean"] == pytest.approx(np.mean(self_bleu_scores(texts)))
    same = evaluate_records([{"prompt": "", "text": "a b c d e"}] * 3, metrics=["self_bleu"])
    assert same.aggregates["self_bleu"]["mean"] == pytest.approx(1.0)


def test_self_bleu_subsamples_with_seed():
    records = [{"prompt": "", "text": t} for t in _texts(12)]
    opts = {"self_bleu_max_samples": 5}
    a = evaluate_records(records, metrics=["self_bleu"], options=opts, seed=1)
    b = evaluate_records(records, metrics=["self_bleu"], options=opts, seed=1)
    assert a.aggregates == b.aggregates
    assert a.aggregates["self_bleu"]["n"] == 5
    assert sum(r["self_bleu"] is not None for r in a.per_prompt) == 5
    assert "subset of 12" in a.aggregates["self_bleu"]["note"]


@pytest.mark.parametrize("texts", [["only one generation"], ["", "", "one"], [""]])
def test_self_bleu_undefined_below_two_generations(texts):
    report = evaluate_records([{"prompt": "", "text": t} for t in texts], metrics=["self_bleu"])
    agg = report.aggregates["self_bleu"]
    assert agg["mean"] is None and "needs >= 2" in agg["note"]
    with pytest.raises(ValueError, match="at least 2"):
        self_bleu_scores(["one"])


def test_zipf_of_exact_power_law_is_its_exponent():
    counts = [round(1e6 / r ** 1.3) for r in range(1, 200)]
    assert zipf_from_counts(counts) == pytest.approx(1.3, abs=1e-3)


def test_zipf_equals_scipy_linregress_on_rank_frequency():
    texts = _texts(30, seed=2)
    counts = {}
    for t in texts:
        for w in t.split():
            counts[w] = counts.get(w, 0) + 1
    ys = np.array(sorted(counts.values(), reverse=True), float)
    fit = stats.linregress(np.log(np.arange(1, len(ys) + 1)), np.log(ys))
    assert zipf_coefficient([t.split() for t in texts]) == pytest.approx(-fit.slope, rel=1e-9)
    top = zipf_coefficient([t.split() for t in texts], top_n=10)
    fit10 = stats.linregress(np.log(np.arange(1, 11)), np.log(ys[:10]))
    assert top == pytest.approx(-fit10.slope, rel=1e-9)


def test_zipf_undefined_with_fewer_than_two_words():
    assert zipf_coefficient([[], ["a", "a"]]) is None
    report = evaluate_records([{"prompt": "", "text": ""}], metrics=["zipf"])
    assert report.aggregates["zipf"]["mean"] is None
