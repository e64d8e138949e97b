"""Run folders record the code that wrote them (alpha/runner/code_version.py).

Reference: git itself, asked independently (rev-parse, status). Tried: this checkout, a folder
that is not a git checkout (commit None, the package version kept), a resumed run under the same
code (no new entry) and under other code (one entry appended), and `run.py` end to end: a
finished run re-used under other code records nothing, one that generates more records this code.
"""

from __future__ import annotations

import json
import subprocess

from alpha.runner import code_version as cv
from tests.conftest import ROOT
from tests.test_run import FAST, run_py


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def test_the_commit_and_dirty_flag_are_git_s_own():
    got = cv.code_version()
    assert got["commit"] == _git("rev-parse", "HEAD")
    assert got["dirty"] == bool(_git("status", "--porcelain", "--untracked-files=no"))
    assert got["package"]  # the installed alpha-sampler's version


def test_outside_a_checkout_only_the_package_version_is_known(tmp_path, monkeypatch):
    monkeypatch.setattr(cv, "ROOT", tmp_path)
    cv.code_version.cache_clear()
    try:
        got = cv.code_version()
        assert got["commit"] is None and got["dirty"] is None and got["package"]
    finally:
        cv.code_version.cache_clear()


def test_a_resume_appends_only_other_code():
    now = cv.code_version()
    other = {**now, "commit": "0" * 40}
    assert cv.with_current(None) == [now]
    assert cv.with_current([now]) == [now]
    assert cv.with_current([other]) == [other, now]
    assert cv.with_current([now, other]) == [now, other, now]


def test_run_py_records_the_code_and_a_resume_keeps_one_entry(tmp_path):
    out = tmp_path / "run"
    for _ in range(2):  # the second start resumes the finished run under the same code
        res = run_py(*FAST, "num_prompts=2", f"hydra.run.dir={out}")
        assert res.returncode == 0, res.stderr[-2000:]
    saved = json.loads((out / "run_config.json").read_text())
    cv.code_version.cache_clear()  # asked now, as run.py did: not what an earlier test cached
    assert saved["code"] == [cv.code_version()] and saved["code"][0]["commit"] == _git(
        "rev-parse", "HEAD")
    assert "code" not in saved["fingerprint"]  # other code never refuses a resume


def test_only_a_start_that_writes_records_its_code(tmp_path):
    """A finished run that a later start only reuses (a re-run sweep, a restored study) keeps its
    code history; a start that generates more prompts in it appends this code."""
    out = tmp_path / "run"
    assert run_py(*FAST, "num_prompts=2", f"hydra.run.dir={out}").returncode == 0
    path = out / "run_config.json"
    other = {**cv.code_version(), "commit": "0" * 40}
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "code": [other]}, indent=2))  # as if made by other code
    res = run_py(*FAST, "num_prompts=2", f"hydra.run.dir={out}")  # reused, nothing written
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(path.read_text())["code"] == [other]
    res = run_py(*FAST, "num_prompts=3", f"hydra.run.dir={out}")  # one more prompt generated
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(path.read_text())["code"] == [other, cv.code_version()]
