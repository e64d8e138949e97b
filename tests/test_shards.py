"""Data-parallel runs (`alpha/runner/shards.py`).

Fast: the pure parts (which rank gets which row, the merge and its refusals, a shard folder of
another config) against hand-built rows. Slow: `accelerate launch --multi_gpu --num_processes 2
run.py` on CPU (gloo) against a one-process `python run.py` of the same config, then a rank that
died mid-run (resume generates only its missing rows) and a stray shard of another config.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from alpha.runner import shards
from alpha.runner.experiment import ExperimentSpec
from tests.conftest import ROOT

FP = {"seed": 0, "sampler": {"name": "alpha"}, "max_new_tokens": 16}


def row(i: int, text: str | None = None) -> dict:
    return {"index": i, "text": text or f"t{i}", "token_ids": [i, i + 1], "trace": {}}


# ------------------------------------------------------------------------------ fast


def test_world_from_launcher_env(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert shards.world() == (0, 1) and not shards.is_sharded() and shards.is_main()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert shards.world() == (1, 3) and shards.is_sharded() and not shards.is_main()


def test_ranks_get_the_one_process_batches_round_robin():
    recs = [{"index": i} for i in range(10, 17)]  # indices need not be positions
    # batches of 2: [10 11] [12 13] [14 15] [16] -> rank 0: 1st and 3rd, rank 1: 2nd and 4th
    assert [r["index"] for r in shards.shard_records(recs, 0, 2, 2)] == [10, 11, 14, 15]
    assert [r["index"] for r in shards.shard_records(recs, 1, 2, 2)] == [12, 13, 16]
    assert [r["index"] for r in shards.shard_records(recs, 1, 3, 1)] == [11, 14]
    assert shards.shard_records(recs, 3, 4, 4) == []  # 2 batches, 4 ranks: ranks 2, 3 idle


def test_merge_is_keyed_by_index_and_keeps_finished_rows():
    finished = {0: row(0) | {"metrics": {"m": 1}}}
    merged = shards.merge_rows(FP, [0, 1, 2, 3, 4], finished, [
        ("shards/rank-1", FP, [row(3), row(1)]),
        ("shards/rank-0", FP, [row(4), row(0), row(2)]),  # row 0 again, same text: the finished one stays
    ])
    assert sorted(merged) == [0, 1, 2, 3, 4]
    assert merged[0]["metrics"] == {"m": 1}
    assert [merged[i]["text"] for i in sorted(merged)] == ["t0", "t1", "t2", "t3", "t4"]


def test_merge_refuses_a_shard_of_another_config():
    other = FP | {"seed": 1}
    with pytest.raises(ValueError, match=r"shards/rank-1 was generated under another config "
                                         r"\(differs in: seed\)"):
        shards.merge_rows(FP, [0, 1], {}, [("shards/rank-0", FP, [row(0)]),
                                           ("shards/rank-1", other, [row(1)])])


def test_merge_refuses_overlapping_shards():
    with pytest.raises(ValueError, match="prompt index 1 is in shards/rank-0 and in shards/rank-1"):
        shards.merge_rows(FP, [0, 1], {}, [("shards/rank-0", FP, [row(0), row(1)]),
                                           ("shards/rank-1", FP, [row(1)])])
    with pytest.raises(ValueError, match="prompt index 0 is in shards/rank-0 and in shards/rank-0"):
        shards.merge_rows(FP, [0], {}, [("shards/rank-0", FP, [row(0), row(0)])])


def test_merge_refuses_a_shard_row_that_differs_from_the_finished_row():
    with pytest.raises(ValueError, match="prompt index 2 in shards/rank-0 differs"):
        shards.merge_rows(FP, [2], {2: row(2)}, [("shards/rank-0", FP, [row(2, "other")])])


def test_merge_names_missing_indices_and_says_how_to_finish():
    with pytest.raises(ValueError, match=r"2 of 4 prompts have no row after the merge \(indices "
                                         r"1, 3\); a rank stopped early: re-run the same command"):
        shards.merge_rows(FP, [0, 1, 2, 3], {}, [("shards/rank-0", FP, [row(0), row(2)])])


def test_read_rows_skips_a_torn_line_without_writing(tmp_path):
    p = tmp_path / "g.jsonl"
    data = (json.dumps(row(0)) + "\n" + '{"index": 1, "te').encode()
    p.write_bytes(data)
    assert [r["index"] for r in shards.read_rows(p)] == [0]
    assert p.read_bytes() == data  # other ranks may still be appending: reading never truncates


def test_read_shards_reads_each_rank_folder_in_rank_order(tmp_path):
    for k in (10, 2):
        d = shards.shard_dir(tmp_path, k)
        d.mkdir(parents=True)
        (d / shards.SHARD_META).write_text(json.dumps({"fingerprint": FP | {"rank_tag": k}}))
        (d / "generations.jsonl").write_text(json.dumps(row(k)) + "\n")
    found = shards.read_shards(tmp_path)
    assert [(n, fp["rank_tag"], [r["index"] for r in rows]) for n, fp, rows in found] == [
        ("shards/rank-2", 2, [2]), ("shards/rank-10", 10, [10])]


def _spec(tmp_path, **kw) -> ExperimentSpec:
    return ExperimentSpec(output_dir=str(tmp_path), fingerprint=kw.pop("fingerprint", FP),
                          evaluation={"metrics": ["diversity"], "headline": "diversity"}, **kw)


def test_own_shard_refuses_another_configs_folder_unless_force(tmp_path):
    d = shards._own_shard(tmp_path, _spec(tmp_path), 1)
    assert json.loads((d / shards.SHARD_META).read_text())["fingerprint"] == FP
    (d / "generations.jsonl").write_text(json.dumps(row(1)) + "\n")
    assert shards._own_shard(tmp_path, _spec(tmp_path), 1) == d  # same config: resume
    other = _spec(tmp_path, fingerprint=FP | {"max_new_tokens": 32})
    with pytest.raises(ValueError, match=r"shards/rank-1 in .* was generated under another "
                                         r"config \(differs in: max_new_tokens\)"):
        shards._own_shard(tmp_path, other, 1)
    other.force = True
    shards._own_shard(tmp_path, other, 1)
    assert (tmp_path / "shards" / "rank-1.old-1" / "generations.jsonl").exists()
    assert not (d / "generations.jsonl").exists()


# ------------------------------------------------------------------------------ slow: 2 processes

RUN = ["debug=default", "num_prompts=5", "batch_size=2", "cpu_threads=1", "progress=false"]


def _env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1")
    env.pop("HYDRA_FULL_ERROR", None)
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_process(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *RUN, f"hydra.run.dir={out}"], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=600)


def two_processes(out: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
           "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()), "run.py", *RUN, f"hydra.run.dir={out}"]
    return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def fields(path: Path) -> list[str]:
    """index, text, token_ids, trace of each row, as the JSON text the file holds."""
    return [json.dumps([r["index"], r["text"], r["token_ids"], r["trace"]]) for r in lines(path)]


@pytest.mark.slow
def test_accelerate_two_processes_equal_one_process_and_resume(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    res = one_process(one)
    assert res.returncode == 0, res.stderr[-2000:]
    res = two_processes(two)
    assert res.returncode == 0, res.stderr[-3000:]
    # each rank runs one process's batches ([0 1] [4] and [2 3]): traces too are byte-for-byte equal
    assert fields(two / "generations.jsonl") == fields(one / "generations.jsonl")
    assert [r["index"] for r in lines(two / "shards/rank-0/generations.jsonl")] == [0, 1, 4]
    assert [r["index"] for r in lines(two / "shards/rank-1/generations.jsonl")] == [2, 3]
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (one, two))
    assert m2["status"] == "complete" and m2["n_prompts"] == 5
    assert m2["metrics"]["diversity"] == m1["metrics"]["diversity"]

    # rank 1 died before writing its last row (and mid-write of it), so no merge happened
    (two / "generations.jsonl").unlink()
    (two / "metrics.json").unlink()
    shard1 = two / "shards/rank-1/generations.jsonl"
    kept = shard1.read_text().splitlines(keepends=True)[:1]
    shard1.write_text("".join(kept) + '{"index": 3, "text": "half')
    timing0 = (two / "shards/rank-0/timing.jsonl").read_text()
    n_timing1 = len(lines(two / "shards/rank-1/timing.jsonl"))
    res = two_processes(two)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (two / "shards/rank-0/timing.jsonl").read_text() == timing0  # rank 0: nothing to do
    new = lines(two / "shards/rank-1/timing.jsonl")[n_timing1:]
    assert [t["n"] for t in new] == [2]  # rank 1: its batch [2 3] again, whole (3 was torn)
    # so rows 2 and 3 ran in the batch they first ran in: byte-equal to one process, traces too
    assert fields(two / "generations.jsonl") == fields(one / "generations.jsonl")

    # a shard folder of another config (here: seed 1) is refused in one line, nothing is lost
    stray = two / "shards/rank-7"
    stray.mkdir()
    meta = json.loads((two / "shards/rank-1/shard.json").read_text())
    meta["fingerprint"]["seed"] = 1
    (stray / "shard.json").write_text(json.dumps(meta))
    (stray / "generations.jsonl").write_text("")
    before = (two / "generations.jsonl").read_bytes()
    res = two_processes(two)
    assert res.returncode != 0
    errors = [x for x in res.stderr.splitlines() if x.startswith("error:")]
    assert errors == ["error: shards/rank-7 was generated under another config (differs in: "
                      "seed); move it out of the run folder or use another hydra.run.dir"]
    assert (two / "generations.jsonl").read_bytes() == before
