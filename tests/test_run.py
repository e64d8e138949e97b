"""`python run.py` end to end in subprocesses: outputs, multirun folders, resume after SIGKILL,
launchers, and each start-up error.

The generator is a tiny random Qwen2 model saved with the committed test tokenizer (a real
`save_pretrained` folder passed as `model.path=`); prompts are the bundled held-out passages.
Expected values come from outside the runner: prompts read straight from data/*.jsonl, metrics
recomputed with `evaluate_records` on the written texts, and an uninterrupted run for resume.

Bad inputs tried: a typo'd key, an unknown group option, an out-of-range sampler value, a missing
prompt field, an empty split, an unwritable run folder, a folder holding another config's
results, a hub model and a hub dataset offline.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from tests.conftest import ROOT

HELDOUT = ROOT / "data" / "heldout_passages.jsonl"
FAST = ["debug=default", "max_new_tokens=6", "batch_size=2"]


def _env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_MODE="offline",
               OMP_NUM_THREADS="1")  # one thread per run: far faster on a shared 2-core box
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_py(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sweep_result(ckpt, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One `run.py -m` process with two jobs (alpha_window_size=1,5; 8 prompts, batch 1): the
    multirun test reads both folders, and the window-5 job (the default config) is the
    uninterrupted run everything else is compared with."""
    sweep = tmp_path_factory.mktemp("sweep") / "sweep"
    res = run_py("-m", *FAST, "batch_size=1", "num_prompts=8", "sampler.alpha_window_size=1,5",
                 f"model.path={ckpt}", f"hydra.sweep.dir={sweep}")
    assert res.returncode == 0, res.stderr[-3000:]
    return sweep, res


@pytest.fixture(scope="module")
def full_run_result(sweep_result) -> tuple[Path, subprocess.CompletedProcess]:
    """The uninterrupted debug run (8 prompts, batch 1, default sampler): the sweep's window-5 job."""
    sweep, res = sweep_result
    (out,) = [d for d in sweep.iterdir() if d.name.endswith("sampler.alpha_window_size=5")]
    return out, res


@pytest.fixture(scope="module")
def full_run(full_run_result) -> Path:
    return full_run_result[0]


def test_debug_run_writes_the_design_outputs(full_run):
    from alpha.evaluation import evaluate_records

    got = rows(full_run / "generations.jsonl")
    expected_prompts = [json.loads(x)["prompt"] for x in HELDOUT.read_text().splitlines()[:8]]
    assert [r["prompt"] for r in got] == expected_prompts
    assert [r["index"] for r in got] == list(range(8))
    for r in got:
        assert r["num_tokens"] == len(r["token_ids"]) <= 6
        assert r["finish_reason"] in ("eos", "length") and r["reference"]
        assert len(r["trace"]["temperature"]) == r["num_tokens"]
    metrics = json.loads((full_run / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["n_prompts"] == 8
    assert metrics["headline"]["name"] == "diversity"  # evaluation=fast's headline
    ref = evaluate_records(got, metrics=["diversity", "distinct_2"], seed=0,
                           options={"bootstrap_samples": 0})
    assert metrics["metrics"]["distinct_2"]["mean"] == pytest.approx(ref.aggregates["distinct_2"]["mean"])
    assert metrics["headline"]["value"] == pytest.approx(ref.aggregates["diversity"]["mean"])
    assert (full_run / ".hydra" / "config.yaml").exists() and (full_run / "run_config.json").exists()


def test_readme_debug_command_on_the_shipped_model(tmp_path):
    """`python run.py debug=default` as the README gives it, from another working directory:
    the shipped tiny model and bundled prompts resolve against the repo root."""
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                          f"hydra.run.dir={out}"], cwd=tmp_path, env=_env(), capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    got = rows(out / "generations.jsonl")
    assert len(got) == 4 and all(1 <= r["num_tokens"] <= 16 for r in got)
    saved = json.loads((out / "run_config.json").read_text())["config"]
    assert saved["model"]["path"] == "models/tiny-shakespeare" and "diversity" in res.stdout


def test_summary_table_is_printed(full_run_result):
    out, res = full_run_result
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert "95% CI" in res.stdout
    for name in metrics:  # every metric has a row
        assert name in res.stdout


def test_resume_after_sigkill_gives_the_same_generations(ckpt, full_run, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "run.py"), *FAST, "batch_size=1", "num_prompts=8",
           f"model.path={ckpt}", f"hydra.run.dir={out}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    gen = out / "generations.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if gen.exists() and gen.read_text().count("\n") >= 1:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = gen.read_text().count("\n")
    assert 1 <= partial < 8, "the kill should land mid-run"
    res = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"{partial} of 8 prompts already generated" in res.stdout + res.stderr
    assert gen.read_bytes() == (full_run / "generations.jsonl").read_bytes()


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_finished_prompts(ckpt, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "run.py"), *FAST, "batch_size=1", f"model.path={ckpt}",
           f"hydra.run.dir={out}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    gen = out / "generations.jsonl"
    while proc.poll() is None and not (gen.exists() and gen.read_text().count("\n") >= 1):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: finished batches are kept" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "partial" and metrics["n_prompts"] == len(rows(gen)) >= 1


def test_multirun_makes_one_folder_per_value(sweep_result):
    sweep, res = sweep_result
    dirs = sorted(p.name for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(dirs) == 2  # named by job number and overrides
    # progress across the sweep, then one summary table of both jobs (best headline first)
    assert "] 1/2 jobs" in res.stderr and "] 2/2 jobs" in res.stderr and "ETA" in res.stderr
    assert "sweep: 2 runs, best first" in res.stdout
    summary = (sweep / "sweep_summary.csv").read_text().splitlines()
    assert len(summary) == 3 and all(d in "".join(summary) for d in dirs)
    for i, (d, w) in enumerate(zip(dirs, (1, 5), strict=True)):
        assert d.startswith(f"{i}_") and d.endswith(f"sampler.alpha_window_size={w}")
        assert "model.path" not in d and "max_new_tokens=6" in d  # paths stay out of names
        saved = json.loads((sweep / d / "run_config.json").read_text())
        assert saved["config"]["sampler"]["alpha_window_size"] == w
        assert json.loads((sweep / d / "metrics.json").read_text())["status"] == "complete"


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_parallel_launchers(ckpt, tmp_path, launcher):
    sweep = tmp_path / "sweep"
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else ["hydra.launcher.timeout_min=10"]
    res = run_py("-m", f"hydra/launcher={launcher}", *extra, *FAST, "num_prompts=2",
                 "seed=0,1", f"model.path={ckpt}", f"hydra.sweep.dir={sweep}", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    dirs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name[0].isdigit())
    assert [d.name[:2] + d.name[-6:] for d in dirs] == ["0_seed=0", "1_seed=1"]
    for d in dirs:
        assert json.loads((d / "metrics.json").read_text())["status"] == "complete"
    a, b = (rows(d / "generations.jsonl") for d in dirs)
    assert [r["prompt"] for r in a] == [r["prompt"] for r in b]


@pytest.mark.slow
def test_optuna_sweeper_tunes_a_sampler_parameter(ckpt, tmp_path):
    sweep = tmp_path / "sweep"
    res = run_py("-m", "hydra/sweeper=tune", "hydra.sweeper.n_trials=2", *FAST, "num_prompts=2",
                 "max_new_tokens=12", "dataset.split=dev", "sampler.target_scale=interval(0.2,0.8)",
                 f"model.path={ckpt}", f"hydra.sweep.dir={sweep}", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    best = (sweep / "optimization_results.yaml").read_text()
    assert "sampler.target_scale" in best
    values = [json.loads((d / "metrics.json").read_text())["headline"]["value"]
              for d in sweep.iterdir() if d.is_dir() and d.name[0].isdigit()]
    assert len(values) == 2


def test_undefined_headline_is_the_worst_value_for_sweepers():
    from alpha.runner.config import sweeper_value

    nan = float("nan")
    assert sweeper_value(0.5, {}, "x") == 0.5
    assert sweeper_value(nan, {"mauve": {"higher_is_better": True}}, "mauve") == float("-inf")
    assert sweeper_value(nan, {"rep_2": {"higher_is_better": False}}, "rep_2") == float("inf")


# ------------------------------------------------------------------------ errors, in a subprocess


def _one_error_line(res: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in res.stderr, res.stderr
    lines = [x for x in res.stderr.splitlines() if x.startswith("error: ")]
    assert len(lines) == 1, res.stderr
    return lines[0]


def run_cli(monkeypatch, capsys, *args: str) -> subprocess.CompletedProcess:
    """`python run.py ARGS` in this process (run.py executed as __main__ by runpy): exit code
    and captured output in a CompletedProcess, like `run_py`, without a new interpreter."""
    import logging
    import runpy

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # Hydra's job logging reconfigures the root
    GlobalHydra.instance().clear()
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)  # restored after the test
    for key, value in _env().items():
        if key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "WANDB_MODE"):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", [str(ROOT / "run.py"), *args])
    capsys.readouterr()
    code = 0
    try:
        runpy.run_path(str(ROOT / "run.py"), run_name="__main__")
    except SystemExit as err:
        code = err.code
    finally:
        GlobalHydra.instance().clear()
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level = handlers, level
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def test_typo_key_and_unknown_option_are_one_line_errors(monkeypatch, capsys):
    """Hydra's own composition errors (typo'd key, unknown option, bad override syntax) are
    folded into one `error:` line, exit 2; no traceback."""
    res = run_cli(monkeypatch, capsys, "debug=default", "sampler.base_tmp=0.3")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert _one_error_line(res) == (
        "error: Could not override 'sampler.base_tmp'; Key 'base_tmp' is not in struct; "
        "To append to your config use +sampler.base_tmp=0.3")
    res = run_cli(monkeypatch, capsys, "debug=default", "sampler=alpah")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    line = _one_error_line(res)
    assert line.startswith("error: In 'config': Could not find 'sampler/alpah'; Available "
                           "options in 'sampler': adaptive_p, alpha, alpha_lexical, alpha_seed, ")
    assert "search path" not in line
    assert res.stderr.strip() == line  # nothing but the one line
    res = run_cli(monkeypatch, capsys, "debug=default", "seed=[1,2")
    assert res.returncode == 2 and _one_error_line(res).startswith("error: no viable alternative")


def test_out_of_range_value_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    res = run_cli(monkeypatch, capsys, "debug=default", "sampler.temp_min=2",
                  f"hydra.run.dir={tmp_path / 'r'}")
    assert res.returncode == 2
    assert _one_error_line(res).startswith("error: temp_min=2")
    assert not (tmp_path / "r" / "generations.jsonl").exists()


def test_a_rejected_start_leaves_no_run_folder(tmp_path, monkeypatch, capsys):
    """Hydra makes the run folder before the run is checked: a refused start removes it (and its
    date folder when that is left empty); a folder that holds anything else stays."""
    monkeypatch.chdir(tmp_path)  # conf/debug/default.yaml's outputs/debug/<date>/<time>_... here
    res = run_cli(monkeypatch, capsys, "debug=default", "sampler.base_temp=5")
    assert res.returncode == 2 and "base_temp=5" in _one_error_line(res)
    assert not list(tmp_path.rglob(".hydra")) and not list(tmp_path.rglob("*.log"))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    res = run_cli(monkeypatch, capsys, "debug=default", "sampler.base_temp=5",
                  f"hydra.run.dir={keep}")
    assert res.returncode == 2 and (keep / "notes.txt").read_text() == "mine"


def test_unwritable_run_dir_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("x")
    res = run_cli(monkeypatch, capsys, "debug=default", f"hydra.run.dir={tmp_path / 'file' / 'run'}")
    assert res.returncode == 2
    assert "is not writable" in _one_error_line(res)


# ------------------------------------------------------------------------ errors, in process


def _run_module():
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cfg(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.mark.parametrize(("overrides", "needle"), [
    (["dataset.prompt_field=question"], r"missing field 'question'"),
    (["dataset.split=dev", "dataset.dev_size=0"], r"dataset gave no prompts"),
    (["model=qwen0.5b"], r"^model Qwen/Qwen2.5-0.5B-Instruct: no such folder \(.*\), and as a "
                         r"hub id it is not in the local hub cache \(HF_HUB_OFFLINE=1\); point "
                         r"model.path at a save_pretrained folder, or set HF_HUB_OFFLINE=0"),
    (["model.path=./no/such/model"], r"^model.path='./no/such/model': no such folder \(/"),
    (["model.path=models/nope"], r"^model.path='models/nope': no such folder \(.*/models/nope\)"),
    (["sampler.base_temp=5"], r"^base_temp=5 is outside \[temp_min, temp_max\] = \[0.1, 1.0\], "
                              r"where the bisection solver would run it at 1.0; .* clamp_base=true"),
    (["sampler.base_top_k=500"], r"^base_top_k=500 is outside \[top_k_min, top_k_max\]"),
    (["dataset=gsm8k", "dataset.source=null"],  # no package fallback: the hub's message
     r"^dataset openai/gsm8k is not available offline"),
    (["evaluation.headline=mauve"], r"evaluation.headline='mauve' is not among"),
])
def test_start_up_errors_name_the_field(overrides, needle, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    cfg = _cfg("debug=default", f"output_dir={tmp_path}", *overrides)
    with pytest.raises(ValueError, match=needle):
        _run_module().run(cfg)


def test_folder_of_another_config_is_refused_and_kept(ckpt, full_run, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(full_run, out)
    before = (out / "generations.jsonl").read_bytes()
    cfg = _cfg(*FAST, "batch_size=1", f"model.path={ckpt}", f"output_dir={out}", "sampler.temp_max=0.9")
    with pytest.raises(ValueError, match=r"differs in: sampler.temp_max\).*force=true"):
        _run_module().run(cfg)
    assert (out / "generations.jsonl").read_bytes() == before


def test_num_prompts_above_the_set_says_how_many_run(tmp_path, caplog):
    """num_prompts=100000 on the 240 held-out passages: one warning line with the count run."""
    import logging

    from alpha.runner import config as hc

    c = hc.to_plain(_cfg("debug=default", "num_prompts=100000", f"output_dir={tmp_path}"))
    with caplog.at_level(logging.WARNING, logger="alpha.data.records"):
        records = hc.load_records(c["dataset"], hc.settings(c), c["model"])
    assert len(records) == 240
    assert "num_prompts=100000 but the dataset's split 'all' has 240 prompts: running all 240" \
        in caplog.text
    caplog.clear()
    c = hc.to_plain(_cfg("debug=default", "num_prompts=10", f"output_dir={tmp_path}"))
    with caplog.at_level(logging.WARNING, logger="alpha.data.records"):
        assert len(hc.load_records(c["dataset"], hc.settings(c), c["model"])) == 10
    assert "num_prompts" not in caplog.text
