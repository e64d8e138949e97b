"""evaluate_records: report shape (the metrics.json contract), cost metrics, registry, bad input.

Bad inputs tried: no records, unknown metric/option, a bare string as metrics, a record whose
text is None, missing num_tokens, an unknown finish_reason, model metrics without a model,
oracle metrics without an oracle, a single record (no interval), wall_time_s missing.
"""

import json

import pytest
import yaml
from conftest import ROOT

from alpha.evaluation import METRICS, EvalOptions, available_metrics, evaluate_records

RECORDS = [
    {"prompt": "p1", "text": "a b c", "num_tokens": 10, "finish_reason": "eos"},
    {"prompt": "p2", "text": "d e", "num_tokens": 30, "finish_reason": "length"},
    {"prompt": "p3", "text": "f", "num_tokens": 20, "finish_reason": "stop"},
    {"prompt": "p4", "text": "g h i j", "num_tokens": 40, "finish_reason": "eos"},
]
COST = ["generated_tokens", "tokens_per_s", "wall_time_s", "eos_rate", "mean_length"]


def test_cost_metrics_hand_computed():
    report = evaluate_records(RECORDS, metrics=COST, wall_time_s=4.0)
    agg = {k: v["mean"] for k, v in report.aggregates.items()}
    assert agg == {"generated_tokens": 100.0, "tokens_per_s": 25.0, "wall_time_s": 4.0,
                   "eos_rate": 0.5, "mean_length": 25.0}
    assert [r["eos_rate"] for r in report.per_prompt] == [1.0, 0.0, 0.0, 1.0]
    assert report.aggregates["tokens_per_s"]["higher_is_better"] is True


def test_aggregates_follow_the_metrics_json_contract():
    report = evaluate_records(RECORDS, metrics=["rep_2", "distinct_1", "mean_length"])
    assert len(report.per_prompt) == len(RECORDS)
    for entry in report.aggregates.values():
        assert set(entry) == {"mean", "ci95", "n", "higher_is_better", "note"}
        assert entry["ci95"] is None or (len(entry["ci95"]) == 2
                                         and entry["ci95"][0] <= entry["ci95"][1])
    json.dumps(report.aggregates)  # plain JSON values only
    json.dumps(report.per_prompt)
    lo, hi = report.aggregates["mean_length"]["ci95"]
    assert 10 <= lo <= 25 <= hi <= 40


def test_wall_time_missing_gives_none_with_note():
    report = evaluate_records(RECORDS, metrics=["tokens_per_s", "wall_time_s"])
    assert report.aggregates["tokens_per_s"]["mean"] is None
    assert "wall_time_s not given" in report.aggregates["tokens_per_s"]["note"]


def test_single_record_has_no_interval():
    report = evaluate_records(RECORDS[:1], metrics=["mean_length", "rep_2", "self_bleu"])
    assert report.aggregates["mean_length"] == {"mean": 10.0, "ci95": None, "n": 1,
                                                "higher_is_better": None, "note": ""}
    assert report.aggregates["self_bleu"]["mean"] is None


def test_registry_lists_every_metric_with_direction_and_aggregation():
    names = available_metrics()
    for name in ["rep_2", "rep_3", "rep_4", "diversity", "seq_rep_4", "distinct_2", "self_bleu",
                 "zipf", "perplexity", "oracle_perplexity", "coherence", "coherence_ll",
                 "mauve", "accuracy", *COST]:
        assert name in names
    assert METRICS["rep_2"].higher_is_better is False and METRICS["rep_2"].aggregation == "pooled"
    assert METRICS["mauve"].needs_model and not METRICS["self_bleu"].needs_model


@pytest.mark.parametrize("name", ["fast", "default", "full"])
def test_evaluation_configs_name_real_metrics_and_options(name):
    cfg = yaml.safe_load((ROOT / "conf" / "evaluation" / f"{name}.yaml").read_text())
    assert set(cfg) == {"metrics", "options", "oracle", "headline"}
    assert set(cfg["metrics"]) <= set(available_metrics())
    assert cfg["headline"] in cfg["metrics"]
    EvalOptions.from_dict(cfg["options"])
    model_based = [m for m in cfg["metrics"] if METRICS[m].needs_model]
    if name == "fast":
        assert model_based == [] and cfg["oracle"] is None
    if name == "full":
        assert set(cfg["metrics"]) == set(available_metrics()) and cfg["oracle"]


@pytest.mark.parametrize("kwargs, match", [
    ({"metrics": ["rep_5"]}, "unknown name"),
    ({"metrics": "rep_2"}, "expected a list"),
    ({"metrics": ["rep_2"], "options": {"self_bleu_max": 3}}, "unknown key"),
    ({"metrics": ["rep_2"], "options": {"bootstrap_samples": -1}}, "bootstrap_samples"),
    ({"metrics": ["rep_2"], "options": {"simctg_compat": "yes"}}, "simctg_compat"),
    ({"metrics": ["perplexity"]}, "needs the generating model"),
    ({"metrics": ["coherence_ll"]}, "needs an oracle"),
    ({"metrics": ["mauve"], "options": {"mauve_feature_model": "oracle"}}, "needs an oracle"),
])
def test_bad_arguments_raise_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        evaluate_records(RECORDS, **kwargs)


@pytest.mark.parametrize("record, match", [
    ({"prompt": "p", "text": None, "num_tokens": 1, "finish_reason": "eos"}, r"records\[0\].text"),
    ({"prompt": "p", "text": "x", "finish_reason": "eos"}, r"records\[0\].num_tokens"),
    ({"prompt": "p", "text": "x", "num_tokens": 1, "finish_reason": "max"},
     r"records\[0\].finish_reason"),
])
def test_bad_records_raise_naming_the_field(record, match):
    with pytest.raises(ValueError, match=match):
        evaluate_records([record], metrics=COST)


def test_empty_records_raise():
    with pytest.raises(ValueError, match="records is empty"):
        evaluate_records([], metrics=["rep_2"])


def test_mean_interval_equals_a_direct_percentile_bootstrap():
    import numpy as np

    lengths = [3, 9, 4, 15, 7, 1, 12, 8]
    records = [{"prompt": "p", "text": "x", "num_tokens": n, "finish_reason": "eos"}
               for n in lengths]
    report = evaluate_records(records, metrics=["mean_length"], seed=11,
                              options={"bootstrap_samples": 500})
    idx = np.random.default_rng(11).integers(0, len(lengths), size=(500, len(lengths)))
    means = np.asarray(lengths, float)[idx].mean(axis=1)  # resample prompts, then average
    want = np.percentile(means, [2.5, 97.5])
    np.testing.assert_allclose(report.aggregates["mean_length"]["ci95"], want, rtol=1e-12)
