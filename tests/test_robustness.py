"""What a new user trips over (issue 13, items 4 and 6-10): each failure is one line, early.

Runs use the shipped tiny model and `debug=default`, offline, one thread. The hub is simulated
by pointing HF_ENDPOINT at a closed local port (refused at once) and at a blackhole address
(no answer); a second run in a folder is a real second process.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_run import _cfg, _env, _one_error_line, _run_module, run_cli


def _closed_port() -> int:
    """A local TCP port with nothing listening (connects are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------ 7. the resume hint


@pytest.mark.parametrize("folder", [
    "outputs/run/2026-01-31/12-00-00_sampler.base_temp=0.3,seed=1",
    "/tmp/a b/it's \"q\"\\x\\",
    "o/[x]{y}:$HOME,a=b",
])
def test_resume_hint_parses_back_to_the_folder(folder):
    """The printed command, split as a shell splits it and parsed by Hydra's own override
    parser, gives back the folder and the original overrides."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from alpha.runner.main import resume_command

    cmd = resume_command(folder, ["debug=default", "sampler.base_temp=0.3", "hydra.run.dir=old"])
    argv = shlex.split(cmd)
    assert argv[:2] == ["python", "run.py"]
    parsed = OverridesParser.create().parse_overrides(argv[2:])
    got = {o.key_or_group: o.value() for o in parsed}
    assert got == {"debug": "default", "sampler.base_temp": 0.3, "hydra.run.dir": folder}


# ------------------------------------------------------------------------ 8. failed starts


def _spec(out: Path, fingerprint: dict):
    from alpha.runner.experiment import ExperimentSpec

    return ExperimentSpec(output_dir=str(out), evaluation={"metrics": ["diversity"],
                                                           "headline": "diversity"},
                          fingerprint=fingerprint)


def test_folder_without_results_is_reused_and_refusal_names_the_real_difference(tmp_path):
    from alpha.runner.experiment import append_rows, prepare_output_dir

    out = tmp_path / "run"
    files = {f"f{i}.json": str(i) for i in range(6)}
    first = {"model": {"path": "models/missing"}, "seed": 0, "files": files}
    prepare_output_dir(_spec(out, first))  # a start that failed after writing its fingerprint
    fixed = {"model": {"path": "models/tiny"}, "seed": 0,
             "files": {f"f{i}.json": "x" for i in range(6)}}
    prepare_output_dir(_spec(out, fixed))  # no generations: reused, fingerprint replaced
    saved = json.loads((out / "run_config.json").read_text())["fingerprint"]
    assert saved["model"]["path"] == "models/tiny"
    (out / "generations.jsonl").write_text("\n")  # blank lines are not results either
    prepare_output_dir(_spec(out, first))
    append_rows(out / "generations.jsonl", [{"index": 0}])
    with pytest.raises(ValueError) as err:
        prepare_output_dir(_spec(out, fixed))
    msg = str(err.value)
    assert "differs in: model.path, files.f0.json, files.f1.json and 4 more local files)" in msg


# ------------------------------------------------------------------------ 6. one run per folder


def test_second_run_in_a_locked_folder_names_the_holder(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from alpha.runner.lock import acquire; "
         f"acquire({str(out)!r}); print('held', flush=True); time.sleep(120)"],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = run_cli(monkeypatch, capsys, "debug=default", f"hydra.run.dir={out}")
        assert res.returncode == 2
        line = _one_error_line(res)
        assert f"is in use by another run: pid {holder.pid} on host {socket.gethostname()}" in line
        assert "alpha.runner.lock" in line or "python -c" in line  # the holder's command
        assert not (out / "generations.jsonl").exists() and not (out / "run_config.json").exists()
    finally:
        holder.kill()
        holder.wait()
    assert (out / ".lock").exists()  # the dead holder's lock file is stale: it does not block
    res = run_cli(monkeypatch, capsys, "debug=default", "max_new_tokens=4", f"hydra.run.dir={out}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert len((out / "generations.jsonl").read_text().splitlines()) == 4


def test_lock_is_reentrant_in_one_process_and_released(tmp_path):
    from alpha.runner.lock import acquire, release, run_folder_lock

    with run_folder_lock(tmp_path), run_folder_lock(tmp_path):
        probe = subprocess.run(
            [sys.executable, "-c", "from alpha.runner.lock import acquire; "
             f"acquire({str(tmp_path)!r})"], cwd=ROOT, env=_env(), capture_output=True, text=True)
        assert probe.returncode == 1 and f"pid {os.getpid()}" in probe.stderr
    acquire(tmp_path)  # released above: free again
    release(tmp_path)
