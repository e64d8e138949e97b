"""Pairwise separability with Holm's correction (alpha/evaluation/separability.py): Holm's
adjusted p-values by hand (a textbook four-test example), and a table on synthetic runs where
one pair is clearly apart and one is not. Bad input tried: a single method."""

from __future__ import annotations

import pytest

from alpha.evaluation.separability import holm, separability_markdown, separability_records


def test_holm_by_hand():
    """p = (0.01, 0.04, 0.03, 0.005), m = 4. Ascending: 0.005·4 = 0.02, 0.01·3 = 0.03,
    0.03·2 = 0.06, 0.04·1 = 0.04 -> kept monotone: 0.02, 0.03, 0.06, 0.06."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.2, None, 0.9]) == [pytest.approx(0.4), None, pytest.approx(0.9)]
    assert holm([0.6, 0.7]) == [1.0, 1.0]  # capped at 1


def _runs(values):
    return [[{"index": i, "text": "x", "metrics": {"accuracy": v}} for i, v in enumerate(values)]]


def test_a_clear_pair_is_separable_a_close_one_is_not():
    n = 40
    groups = {"good": _runs([1.0] * n), "bad": _runs([0.0] * n),
              "bad_too": _runs([0.0] * (n - 1) + [1.0])}
    recs = separability_records(groups, ["accuracy", "mauve"])
    by = {(r["A"], r["B"], r["metric"]): r for r in recs}
    assert len(recs) == 3 * 2  # three pairs, two metrics
    assert by[("good", "bad", "accuracy")]["verdict"] == "A better"
    assert by[("bad", "bad_too", "accuracy")]["verdict"] == "not separable"
    assert by[("good", "bad", "mauve")]["verdict"] == "no test"
    tested = [r for r in recs if r["holm_p"] is not None]
    assert len(tested) == 3 and all(r["holm_p"] >= r["perm_p"] for r in tested)
    text = separability_markdown(recs)
    assert "Holm-adjusted over all 3 tests" in text and "| good | bad | accuracy | 1" in text


def test_one_method_is_refused():
    with pytest.raises(ValueError, match="at least two methods"):
        separability_records({"only": _runs([1.0])}, ["accuracy"])
