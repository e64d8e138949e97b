"""Answer extraction (GSM8K '#### N', last-number fallback) and exact match, hand-checked.

Bad inputs tried: no number in the generation, no answer in the dataset, non-ASCII text,
thousands separators, dollar signs, trailing zeros.
"""

import pytest

from alpha.evaluation import evaluate_records
from alpha.evaluation.accuracy import extract_answer, gold_answer, is_correct


@pytest.mark.parametrize("text, expected", [
    ("Natalia sold 48/2 = 24 clips in May.\n#### 72", "72"),
    ("so 3 + 4 = 7. The answer is 7.", "7"),
    ("It costs $1,234.50 in total", "1234.5"),
    ("#### -5", "-5"),
    ("first 10 then #### 18.00 and later 99", "18"),
    ("Réponse : 日本 42 ünï", "42"),
    ("no number here", None),
    ("", None),
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_gold_answer_reads_gsm8k_solutions_and_plain_answers():
    assert gold_answer("She has 5 + 3 = <<5+3=8>>8 apples.\n#### 8") == "8"
    assert gold_answer("1,000") == "1000"
    assert gold_answer(" Paris. ") == "paris"


def test_is_correct():
    assert is_correct("The total is 1000.", "#### 1,000") == (True, True)
    assert is_correct("The total is 999.", "#### 1000") == (False, True)
    assert is_correct("I do not know.", "#### 1000") == (False, False)


def test_accuracy_metric_counts_and_notes():
    records = [
        {"prompt": "q1", "text": "#### 72", "answer": "... #### 72"},
        {"prompt": "q2", "text": "The answer is 5", "answer": "6"},
        {"prompt": "q3", "text": "no idea", "answer": "#### 3"},
        {"prompt": "q4", "text": "whatever 4", "answer": None},
    ]
    report = evaluate_records(records, metrics=["accuracy"])
    agg = report.aggregates["accuracy"]
    assert agg["mean"] == pytest.approx(1 / 3) and agg["n"] == 3
    assert [r["accuracy"] for r in report.per_prompt] == [1.0, 0.0, 0.0, None]
    assert "1 generations had no extractable answer" in agg["note"]
    assert "1 of 4 prompts have no answer" in agg["note"]


def test_accuracy_without_answers_is_none():
    report = evaluate_records([{"prompt": "q", "text": "7"}], metrics=["accuracy"])
    assert report.aggregates["accuracy"]["mean"] is None
