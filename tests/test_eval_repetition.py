"""rep-n, diversity, seq-rep-n and distinct-n against hand-computed values and the SimCTG loop.

Independent references: counts worked out by hand in the comments, and a transcription of the
SimCTG reference code's `eval_text` loop (which drops each text's last n-gram).
Bad inputs tried: empty text, text shorter than n, non-ASCII text.
"""

import pytest

from alpha.evaluation import evaluate_records
from alpha.evaluation import repetition as rep


def simctg_eval_text(text, ngram):
    """The loop of SimCTG's simctg/evaluation.py `eval_text` (same logic, shortened)."""
    token_list = text.strip().split()
    start_idx, end_idx = 0, ngram
    total_num = 0
    ngram_set = set()
    while end_idx < len(token_list):
        ngram_set.add(" ".join(token_list[start_idx:end_idx]))
        total_num += 1
        start_idx += 1
        end_idx += 1
    return len(ngram_set), total_num


def simctg_measure(text_list):
    """SimCTG's `measure_repetition_and_diversity`: rounded rep-2/3/4 and diversity."""
    reps = []
    for n in (2, 3, 4):
        pairs = [simctg_eval_text(t.strip("\n").strip(), n) for t in text_list]
        reps.append(round((1 - sum(p[0] for p in pairs) / sum(p[1] for p in pairs)) * 100, 2))
    return (*reps, (1 - reps[0] / 100) * (1 - reps[1] / 100) * (1 - reps[2] / 100))


TEXTS = ["a b a b a b", "the cat the cat sat", "x y z", "ünï cödé ünï cödé 日本 語"]


def test_rep_2_hand_computed():
    # "a b a b a b": bigrams ab ba ab ba ab -> 2 unique / 5; "c d c d": cd dc cd -> 2 / 3
    value = rep.rep_n([["a", "b", "a", "b", "a", "b"], ["c", "d", "c", "d"]], 2)
    assert value == pytest.approx(100 * (1 - 4 / 8))


def test_simctg_switch_reproduces_reference_code_exactly():
    texts = TEXTS + ["the the the the cat cat dog dog dog the the", "a b c d e f g a b c d e f"]
    rep2, rep3, rep4, div = simctg_measure(texts)
    report = evaluate_records([{"prompt": "p", "text": t} for t in texts],
                              metrics=["rep_2", "rep_3", "rep_4", "diversity"],
                              options={"simctg_compat": True})
    got = [report.aggregates[m]["mean"] for m in ("rep_2", "rep_3", "rep_4", "diversity")]
    assert got == [rep2, rep3, rep4, div]  # exact, rounding included
    # the default counts every n-gram, so it differs from the reference loop here
    assert rep.rep_n([t.split() for t in TEXTS], 2) != pytest.approx(
        rep.rep_n([t.split() for t in TEXTS], 2, simctg_compat=True))


def test_diversity_is_product_of_rep_terms():
    words = [t.split() for t in TEXTS]
    reps = [rep.rep_n(words, n) for n in (2, 3, 4)]
    report = evaluate_records([{"prompt": "p", "text": t} for t in TEXTS],
                              metrics=["rep_2", "rep_3", "rep_4", "diversity"])
    expected = (1 - reps[0] / 100) * (1 - reps[1] / 100) * (1 - reps[2] / 100)
    assert report.aggregates["diversity"]["mean"] == pytest.approx(expected)
    assert report.aggregates["rep_3"]["mean"] == pytest.approx(reps[1])


def test_seq_rep_hand_computed():
    # "the cat the cat sat": bigrams [the cat, cat the, the cat, cat sat] -> 3 unique of 4
    assert rep.seq_rep_n("the cat the cat sat".split(), 2) == pytest.approx(1 - 3 / 4)
    assert rep.seq_rep_n("a a a a".split(), 4) == pytest.approx(0.0)  # one 4-gram, unique
    assert rep.seq_rep_n("a a a a a".split(), 4) == pytest.approx(0.5)


def test_distinct_is_pooled_over_texts():
    # unigrams: {a, b} in text 1 (4 tokens), {a, c} in text 2 (2 tokens): 3 distinct / 6
    assert rep.distinct_n([["a", "b", "a", "b"], ["a", "c"]], 1) == pytest.approx(3 / 6)
    # bigrams: ab ba ab | ac -> {ab, ba, ac} / 4
    assert rep.distinct_n([["a", "b", "a", "b"], ["a", "c"]], 2) == pytest.approx(3 / 4)


def test_empty_and_short_texts_are_undefined_not_errors():
    records = [{"prompt": "p", "text": ""}, {"prompt": "p", "text": "one"},
               {"prompt": "p", "text": "a b a b a"}]
    report = evaluate_records(records, metrics=["rep_2", "seq_rep_4", "distinct_2", "diversity"])
    assert report.per_prompt[0]["rep_2"] is None and report.per_prompt[1]["rep_2"] is None
    assert report.aggregates["rep_2"]["n"] == 1
    assert report.aggregates["rep_2"]["mean"] == pytest.approx(100 * (1 - 2 / 4))
    assert report.aggregates["seq_rep_4"]["mean"] == pytest.approx(0.0)
    assert "3 prompts" in report.aggregates["seq_rep_4"]["note"] or \
        "2 of 3" in report.aggregates["seq_rep_4"]["note"]
    only_empty = evaluate_records([{"prompt": "p", "text": ""}], metrics=["rep_2", "diversity"])
    assert only_empty.aggregates["rep_2"]["mean"] is None
    assert only_empty.aggregates["diversity"]["mean"] is None


def test_pooled_interval_contains_value_and_is_seeded():
    records = [{"prompt": "p", "text": t} for t in TEXTS * 5]
    a = evaluate_records(records, metrics=["rep_2"], seed=3)
    b = evaluate_records(records, metrics=["rep_2"], seed=3)
    lo, hi = a.aggregates["rep_2"]["ci95"]
    assert lo <= a.aggregates["rep_2"]["mean"] <= hi
    assert a.aggregates == b.aggregates
