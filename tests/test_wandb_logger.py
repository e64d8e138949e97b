"""WandbLogger: an offline run read back from its `.wandb` transaction log (W&B's own protobuf
`Record` messages, parsed from the LevelDB-style log format without W&B's writer code) and from
its table files. Checks the config, summary metrics, the per-prompt table, the trace plots and
the generations artifact. Bad inputs tried: mode="sometimes", project="", log_traces_for=-2;
wandb.init raising (unreachable server) -> a warning and no-ops, never an exception."""

from __future__ import annotations

import json
import struct
import time
import warnings

import pytest

from alpha.runner.wandb_logger import WandbLogger, resolve_mode, sweep_group

RECORDS = [
    {"index": 0, "prompt": "To be", "text": " or not", "num_tokens": 2, "finish_reason": "length",
     "trace": {"alpha": [0.5, 0.25], "temperature": [0.7, 0.3], "top_k": [10.0, 12.0]},
     "metrics": {"rep_2": 0.0, "distinct_1": 1.0}},
    {"index": 1, "prompt": "Friends, Romans", "text": " lend", "num_tokens": 1,
     "finish_reason": "eos", "trace": {"alpha": [0.125], "temperature": [0.9], "top_k": [5.0]},
     "metrics": {"rep_2": 12.5}},
]
METRICS = {
    "rep_2": {"mean": 6.25, "ci95": [0.0, 12.5], "n": 2, "higher_is_better": False},
    "mauve": {"mean": None, "ci95": None, "n": 0, "higher_is_better": True},
    "tokens_per_s": {"mean": 100.0, "ci95": None, "n": 1, "higher_is_better": True},
}


def _records():
    return [dict(r) for r in RECORDS]

BLOCK = 32768  # LevelDB log block size used by W&B's transaction log


def read_wandb_records(path):
    """Decode a `.wandb` file into `wandb_internal_pb2.Record` messages."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    pos, out, buf = 7, [], b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # block trailer too short for a header: padding
            pos += BLOCK - pos % BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if pos + 7 + length > len(data):  # a chunk still being written
            break
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 0 and length == 0:
            break
        buf = chunk if kind in (1, 2) else buf + chunk  # full/first vs middle/last
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            out.append(rec)
    return out


def _updates(items):
    return {"/".join(u.nested_key) or u.key: json.loads(u.value_json) for u in items}


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    (run_dir / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _records()))
    config = {"seed": 0, "sampler": {"name": "alpha", "alpha_window_size": 5},
              "tags": ["ablation", "window"]}
    logger = WandbLogger(project="alpha-test", mode="offline", tags=["unit"], log_traces_for=1)
    logger.start(config=config, run_dir=str(run_dir))
    logger.log_records(_records())
    logger.log_summary(METRICS)
    logger.log_file(str(run_dir / "generations.jsonl"), "generations")
    logger.finish(status="complete")
    (wandb_file,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    return wandb_file.parent, _wait_for_exit(wandb_file)


def _wait_for_exit(wandb_file, timeout_s=30.0):
    """wandb-core may still be writing after `finish()` returns: wait for the exit record."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_wandb_records(wandb_file)
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            return records
        assert time.monotonic() < deadline, f"{wandb_file} has no exit record after {timeout_s} s"
        time.sleep(0.1)


def test_config_tags_and_project(offline_run):
    _, records = offline_run
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.project == "alpha-test"
    assert list(run.tags) == ["unit", "ablation", "window"]
    config = _updates(run.config.update)
    assert config["sampler"] == {"name": "alpha", "alpha_window_size": 5} and config["seed"] == 0


def test_summary_metrics(offline_run):
    _, records = offline_run
    summary = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            summary.update(_updates(r.summary.update))
    assert summary["rep_2/mean"] == 6.25 and summary["rep_2/ci95_hi"] == 12.5
    assert summary["tokens_per_s/mean"] == 100.0 and "mauve/mean" not in summary


def test_prompt_table(offline_run):
    run_dir, _ = offline_run
    (table_file,) = run_dir.glob("files/media/table/prompts_*.table.json")
    table = json.loads(table_file.read_text())
    assert table["columns"] == ["index", "prompt", "text", "num_tokens", "finish_reason",
                                "distinct_1", "rep_2"]
    assert [row[1] for row in table["data"]] == ["To be", "Friends, Romans"]
    assert table["data"][0][6] == 0.0 and table["data"][1][6] == 12.5


def test_trace_plots(offline_run):
    run_dir, records = offline_run
    visual = {}
    for r in records:
        if r.WhichOneof("record_type") == "config":
            for u in r.config.update:
                if list(u.nested_key[:2]) == ["_wandb", "visualize"]:
                    visual["/".join(u.nested_key[2:])] = json.loads(u.value_json)
    assert set(visual) == {"trace/prompt_0/alpha", "trace/prompt_0/temperature",
                           "trace/prompt_0/top_k"}  # log_traces_for=1: prompt 1 not plotted
    assert all(v["panel_config"]["panelDefId"] == "wandb/lineseries/v0" for v in visual.values())
    (temp,) = run_dir.glob("files/media/table/trace/prompt_0/temperature_table_*.table.json")
    data = json.loads(temp.read_text())["data"]
    assert sorted((row[0], row[2]) for row in data) == [(0, 0.7), (1, 0.3)]  # (position, value)


def test_generations_artifact(offline_run):
    _, records = offline_run
    arts = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    (gen,) = [a for a in arts if a.type == "generations"]
    assert [e.path for e in gen.manifest.contents] == ["generations.jsonl"]


def test_resolve_mode():
    assert resolve_mode("auto", {"WANDB_API_KEY": "k"}) == "online"
    assert resolve_mode("auto", {}) == "offline"
    assert resolve_mode("auto", {"WANDB_MODE": "disabled", "WANDB_API_KEY": "k"}) == "disabled"
    assert resolve_mode("offline", {"WANDB_API_KEY": "k"}) == "offline"


def test_sweep_group(tmp_path):
    sweep = tmp_path / "multirun" / "2026-11-27" / "13-05-00"
    (sweep / "0").mkdir(parents=True)
    assert sweep_group(str(sweep / "0")) is None  # no multirun.yaml: not a sweep
    (sweep / "multirun.yaml").write_text("{}")
    assert sweep_group(str(sweep / "0")) == "2026-11-27_13-05-00"


@pytest.mark.parametrize("kwargs,field", [({"mode": "sometimes"}, "logger.mode"),
                                          ({"project": ""}, "logger.project"),
                                          ({"log_traces_for": -2}, "log_traces_for")])
def test_bad_options(kwargs, field):
    with pytest.raises(ValueError, match=field):
        WandbLogger(**kwargs)


def test_wandb_failure_is_a_warning(tmp_path, monkeypatch):
    import wandb

    def unreachable(**_):
        raise ConnectionError("api.wandb.ai unreachable")

    monkeypatch.setattr(wandb, "init", unreachable)
    logger = WandbLogger(mode="online")
    logger.start(config={}, run_dir=str(tmp_path))  # starts in the background: no error yet
    with pytest.warns(RuntimeWarning, match="W&B start failed.*unreachable.*the run goes on"):
        logger.log_records(_records())  # the first call that needs W&B reports the failure
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # after a failed start the rest are silent no-ops
        logger.log_summary(METRICS)
        logger.log_file(str(tmp_path / "missing.jsonl"), "generations")
        logger.finish(status="complete")


def test_a_resumed_run_continues_the_same_wandb_run(offline_run, tmp_path):
    """Two starts in one run folder (an interrupted run, then its resume) log to one W&B run id;
    another folder gets another id."""
    ids = []
    for run_dir in (tmp_path / "a", tmp_path / "a", tmp_path / "b"):
        run_dir.mkdir(exist_ok=True)
        logger = WandbLogger(project="alpha-test", mode="offline")
        logger.start(config={"seed": 0}, run_dir=str(run_dir))
        logger.log_summary(METRICS)  # waits for the background start
        ids.append(logger.run.id)
        logger.finish(status="complete")
    assert ids[0] == ids[1] != ids[2]
    assert (tmp_path / "a" / "wandb_run_id").read_text().strip() == ids[0]
    runs = sorted(p.name for p in (tmp_path / "a" / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(f"-{ids[0]}" in r for r in runs)  # wandb sync joins them
