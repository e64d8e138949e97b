"""Models kept between the jobs of one process (alpha/runner/model_cache.py).

Unit: the same load arguments reuse the loaded objects; other arguments, another role's load, or
a rewritten checkpoint folder load again. End to end: a `run.py -m` sweep of two seeds loads the
model once, and its second job writes the generations a separate process writes for that seed
(the first job, the adaptive sampler with attention capture, leaves nothing behind on the model).
"""

from __future__ import annotations

import json
import os

from alpha.runner import model_cache
from tests.test_run import FAST, rows, run_py


def test_same_arguments_reuse_and_anything_else_reloads(tmp_path):
    model_cache.clear()
    calls = []

    def loader(**kw):
        calls.append(kw)
        return (object(), object())

    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    kw = {"name_or_path": str(folder), "device": "cpu", "dtype": "float32"}
    first = model_cache.load("model", kw, loader)
    assert model_cache.load("model", dict(kw), loader) is first and len(calls) == 1
    other = model_cache.load("oracle", kw, loader)  # roles are kept apart
    assert other is not first and len(calls) == 2
    assert model_cache.load("model", {**kw, "dtype": "bfloat16"}, loader) is not first
    assert len(calls) == 3
    again = model_cache.load("model", kw, loader)  # one per role: the float32 one was replaced
    assert len(calls) == 4
    (folder / "config.json").write_text('{"changed": 1}')  # a checkpoint rewritten in between
    os.utime(folder / "config.json", ns=(1, 1))
    assert model_cache.load("model", kw, loader) is not again and len(calls) == 5
    hub = {"name_or_path": "Qwen/Qwen2.5-0.5B", "device": "cpu", "dtype": "auto"}
    assert model_cache.load("model", hub, loader) is model_cache.load("model", hub, loader)
    model_cache.clear()


def test_a_sweep_loads_once_and_its_jobs_match_separate_runs(ckpt, tmp_path):
    sweep, single = tmp_path / "sweep", tmp_path / "single"
    common = [*FAST, "num_prompts=4", f"model.path={ckpt}", "logger=none"]
    res = run_py("-m", *common, "seed=0,1", f"hydra.sweep.dir={sweep}")
    assert res.returncode == 0, res.stderr[-3000:]
    assert (res.stdout + res.stderr).count(f"loaded {ckpt}") == 1
    one = run_py(*common, "seed=1", f"hydra.run.dir={single}")
    assert one.returncode == 0, one.stderr[-3000:]
    (job,) = [d for d in sweep.iterdir() if d.name.endswith("seed=1")]
    swept, alone = rows(job / "generations.jsonl"), rows(single / "generations.jsonl")
    assert [r["text"] for r in swept] == [r["text"] for r in alone]
    assert [r["trace"] for r in swept] == [r["trace"] for r in alone]
    m1, m2 = (json.loads((d / "metrics.json").read_text())["metrics"] for d in (job, single))
    assert {k: v["mean"] for k, v in m1.items() if "time" not in k and "per_s" not in k} == \
        {k: v["mean"] for k, v in m2.items() if "time" not in k and "per_s" not in k}
