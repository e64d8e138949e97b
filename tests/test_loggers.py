"""LocalLogger / NullLogger: files read back with the csv and json modules and compared with
the records and metrics that went in. Bad inputs tried: log_traces_for=-1, "3", True; subdir
"", an absolute path; a run dir that is a file (unwritable) -> warning, not an exception."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest

from alpha.runner.loggers import LocalLogger, NullLogger, flatten_summary, prompt_rows, trace_rows


def _records():
    return [
        {"index": 0, "prompt": "To be", "reference": None, "answer": None, "text": " or not",
         "token_ids": [5, 6], "num_tokens": 2, "finish_reason": "length",
         "trace": {"alpha": [0.5, 0.25], "temperature": [0.7, 0.3], "top_k": [10.0, 12.0]},
         "metrics": {"rep_2": 0.0, "distinct_1": 1.0}},
        {"index": 1, "prompt": "Friends, Romans", "reference": None, "answer": None,
         "text": " lend", "token_ids": [7], "num_tokens": 1, "finish_reason": "eos",
         "trace": {"alpha": [0.125], "temperature": [0.9], "top_k": [5.0]},
         "metrics": {"rep_2": 12.5}},  # a metric set that differs from prompt 0's
    ]


METRICS = {
    "rep_2": {"mean": 6.25, "ci95": [0.0, 12.5], "n": 2, "higher_is_better": False, "note": ""},
    "mauve": {"mean": None, "ci95": None, "n": 0, "higher_is_better": True,
              "note": "needs references"},
    "tokens_per_s": {"mean": 100.0, "ci95": None, "n": 1, "higher_is_better": True, "note": ""},
}


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_flatten_summary_by_hand():
    assert flatten_summary(METRICS) == {
        "rep_2/mean": 6.25, "rep_2/n": 2.0, "rep_2/ci95_lo": 0.0, "rep_2/ci95_hi": 12.5,
        "rep_2/higher_is_better": 0.0, "mauve/n": 0.0, "mauve/higher_is_better": 1.0,
        "tokens_per_s/mean": 100.0, "tokens_per_s/n": 1.0, "tokens_per_s/higher_is_better": 1.0,
    }


def test_prompt_rows_union_of_metrics():
    columns, rows = prompt_rows(_records())
    assert columns == ["index", "prompt", "text", "num_tokens", "finish_reason",
                       "distinct_1", "rep_2"]
    assert rows[1] == [1, "Friends, Romans", " lend", 1, "eos", None, 12.5]


def test_trace_rows_order_and_values():
    columns, rows = trace_rows(_records()[0])
    assert columns == ["position", "alpha", "temperature", "top_k"]
    assert rows == [[0, 0.5, 0.7, 10.0], [1, 0.25, 0.3, 12.0]]


def test_local_logger_writes_what_went_in(tmp_path):
    logger = LocalLogger(log_traces_for=1)
    logger.start(config={"seed": 3, "sampler": {"name": "alpha"}}, run_dir=str(tmp_path))
    logger.log_records(_records())
    logger.log_summary(METRICS)
    logger.log_file(str(tmp_path / "generations.jsonl"), "generations")
    logger.finish(status="complete")
    d = tmp_path / "logs"
    assert json.loads((d / "config.json").read_text()) == {"seed": 3, "sampler": {"name": "alpha"}}
    prompts = _read_csv(d / "prompts.csv")
    assert [p["prompt"] for p in prompts] == ["To be", "Friends, Romans"]
    assert prompts[0]["rep_2"] == "0.0" and prompts[1]["distinct_1"] == ""
    traces = _read_csv(d / "traces.csv")  # only prompt 0 (log_traces_for=1)
    assert [(t["prompt_index"], t["position"], float(t["alpha"])) for t in traces] == [
        ("0", "0", 0.5), ("0", "1", 0.25)]
    summary = {r["metric"]: r for r in _read_csv(d / "summary.csv")}
    assert float(summary["rep_2"]["mean"]) == 6.25 and summary["mauve"]["mean"] == ""
    assert json.loads((d / "summary.json").read_text()) == METRICS
    events = [json.loads(x) for x in (d / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "file", "finish"]
    assert events[1]["kind"] == "generations" and events[2]["status"] == "complete"


def test_null_logger_writes_nothing(tmp_path):
    logger = NullLogger()
    logger.start(config={"a": 1}, run_dir=str(tmp_path))
    logger.log_records(_records())
    logger.log_summary(METRICS)
    logger.finish(status="complete")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [-1, "3", True, 2.5])
def test_bad_log_traces_for(bad):
    with pytest.raises(ValueError, match="log_traces_for"):
        LocalLogger(log_traces_for=bad)


@pytest.mark.parametrize("bad", ["", "  ", "/abs/logs"])
def test_bad_subdir(bad):
    with pytest.raises(ValueError, match="logger.subdir"):
        LocalLogger(subdir=bad)


def test_failure_is_a_warning_not_an_exception(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    logger = LocalLogger()
    with pytest.warns(RuntimeWarning, match="LocalLogger.start failed"):
        logger.start(config={}, run_dir=str(blocker))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logger.log_records(_records())  # never started: warns, does not raise
        logger.finish(status="failed")
    assert len(caught) == 2 and all("the run goes on" in str(w.message) for w in caught)


def test_each_logger_option_builds_its_logger_by_name():
    """conf/logger/<option>.yaml -> the runner's make_logger -> the logger class the option
    documents (docs/tracking.md), with no warning (a misspelt key would fall back to NullLogger)."""
    from omegaconf import OmegaConf

    from alpha.runner.config import make_logger
    from alpha.runner.wandb_logger import WandbLogger

    conf = Path(__file__).resolve().parents[1] / "conf" / "logger"
    expected = {"none": NullLogger, "local": LocalLogger, "wandb": WandbLogger}
    assert sorted(p.stem for p in conf.glob("*.yaml")) == sorted(expected)
    for option, cls in expected.items():
        cfg = OmegaConf.to_container(OmegaConf.load(conf / f"{option}.yaml"), resolve=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert type(make_logger(cfg)) is cls, option
