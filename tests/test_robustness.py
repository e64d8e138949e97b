"""What a new user trips over (issue 13, items 4 and 6-10): each failure is one line, early.

Runs use the shipped tiny model and `debug=default`, offline, one thread. The hub is simulated
by pointing HF_ENDPOINT at a closed local port (refused at once) and at a blackhole address
(no answer); a second run in a folder is a real second process.
"""

from __future__ import annotations

import json
import logging
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


LOCK_IMPORT = "import sys; sys.path.insert(0, 'alpha/runner'); from lock import acquire; "


def test_second_run_in_a_locked_folder_names_the_holder(tmp_path, monkeypatch, capsys):
    from alpha.runner.lock import acquire, release

    out = tmp_path / "run"
    holder = subprocess.Popen(  # lock.py alone (no torch import): a cheap second process
        [sys.executable, "-c", LOCK_IMPORT + "import time; "
         f"acquire({str(out)!r}); print('held', flush=True); time.sleep(120)"],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = run_cli(monkeypatch, capsys, "debug=default", f"hydra.run.dir={out}")
        assert res.returncode == 2
        line = _one_error_line(res)
        assert f"is in use by another run: pid {holder.pid} on host {socket.gethostname()}" in line
        assert "(python -c)" in line  # the holder's command (sys.argv of python -c)
        assert not (out / "generations.jsonl").exists() and not (out / "run_config.json").exists()
        assert not (out / ".hydra").exists()  # refused before Hydra writes its copy of the config
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((out / ".lock").read_text())["pid"] == holder.pid  # left by the dead run
    acquire(out)  # stale: the kernel dropped the dead holder's flock
    assert json.loads((out / ".lock").read_text())["pid"] == os.getpid()
    release(out)


def test_lock_is_reentrant_in_one_process_and_released(tmp_path):
    from alpha.runner.lock import acquire, release, run_folder_lock

    probe = [sys.executable, "-c", LOCK_IMPORT + f"acquire({str(tmp_path)!r})"]
    with run_folder_lock(tmp_path), run_folder_lock(tmp_path):
        res = subprocess.run(probe, cwd=ROOT, env=_env(), capture_output=True, text=True)
        assert res.returncode == 1 and f"pid {os.getpid()}" in res.stderr
    res = subprocess.run(probe, cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr  # released above: free again
    acquire(tmp_path)
    release(tmp_path)


# ------------------------------------------------------------------------ 4. hub waits, devices


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Hub offline flags cleared, an empty HF cache, model loading forbidden (the checks must
    fail before it), and a record of every reachability check."""
    import alpha.models
    from alpha.runner import preflight

    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    calls = []
    real = preflight.unreachable

    def spy(url, timeout=preflight.TIMEOUT_S):
        calls.append(url)
        return real(url, timeout)

    def no_load(*a, **k):
        raise AssertionError("a model was loaded before the start-up checks failed")

    monkeypatch.setattr(preflight, "unreachable", spy)
    monkeypatch.setattr(alpha.models, "load_model_and_tokenizer", no_load)
    return calls


@pytest.mark.parametrize(("overrides", "part"), [
    (["model=qwen0.5b"], "model.path=Qwen/Qwen2.5-0.5B-Instruct"),
    (["dataset=gsm8k", "dataset.source=null"], "dataset.name=openai/gsm8k"),  # no package copy
    (["evaluation=full"], "evaluation.oracle=Qwen/Qwen2.5-1.5B-Instruct"),
])
def test_unreachable_hub_is_one_check_before_loading(overrides, part, online, monkeypatch,
                                                     tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    cfg = _cfg("debug=default", f"output_dir={tmp_path / 'r'}", *overrides)
    with pytest.raises(ValueError, match=rf"^{part} need the Hugging Face hub \(no such local folder\), but "
                                         r"http://127.0.0.1:\d+ is unreachable \(.*HF_HUB_OFFLINE=1"):
        _run_module().run(cfg)
    assert len(online) == 1  # one connect, nothing loaded (no_load)


def test_silent_hub_fails_within_the_probe_timeout(online, monkeypatch, tmp_path):
    """A server that accepts connections and never answers (a blackhole behind a middlebox):
    the probe gives up after its timeout instead of the hub client's 28-55 s of retries."""
    from alpha.runner import preflight

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # the kernel accepts connects; nobody ever reads or answers
        url = f"https://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("HF_ENDPOINT", url)
        monkeypatch.setattr(preflight.check_hub, "__defaults__", (0.5,))
        cfg = _cfg("debug=default", f"output_dir={tmp_path / 'r'}", "model=qwen0.5b")
        t0 = time.monotonic()
        with pytest.raises(ValueError, match=rf"{url} is unreachable \(no answer within 0.5 s\)"):
            _run_module().run(cfg)
    assert time.monotonic() - t0 < 15  # a generous functional bound, not a performance one
    assert len(online) == 1


def test_local_model_and_bundled_data_never_touch_the_network(online, monkeypatch, tmp_path):
    from alpha.runner.config import model_kwargs, settings
    from alpha.runner.preflight import hub_parts

    c = _plain("debug=default")
    assert hub_parts(model_kwargs(c["model"], settings(c)), c["dataset"], None) == []


def _plain(*overrides):
    from omegaconf import OmegaConf

    cfg = _cfg(*overrides, "output_dir=unused")
    return OmegaConf.to_container(cfg, resolve=True)


def test_unreachable_hub_in_a_subprocess_is_one_line_and_exit_2(tmp_path):
    env = {k: v for k, v in _env().items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HUB_CACHE=str(tmp_path / "c"))
    res = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default", "model=qwen0.5b",
                          f"hydra.run.dir={tmp_path / 'r'}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "need the Hugging Face hub" in _one_error_line(res)
    assert res.stderr.strip() == _one_error_line(res)  # no retry noise


def test_cuda_on_a_cpu_machine_is_reported_before_the_hub(online, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = _cfg("debug=default", f"output_dir={tmp_path / 'r'}", "model=qwen0.5b", "device=cuda")
    with pytest.raises(ValueError, match=r"^device='cuda' but no CUDA device is visible"):
        _run_module().run(cfg)
    assert online == []


# ------------------------------------------------------------------------ 9. early, short errors


@pytest.mark.parametrize(("overrides", "needle"), [
    (["max_new_tokens=512"], r"^max_new_tokens=512 does not fit model.path=.*tiny-shakespeare: "
                             r"its context is 512 tokens"),
    (["capture=7"], r"^capture=7 is out of range for a 4-layer model"),
    (["evaluation.metrics=[diversity,fluency]"], r"unknown metric\(s\) \['fluency'\]"),
    (["evaluation.headline=fluency"], r"^evaluation.headline='fluency' is an unknown metric"),
    (["logger=wandb", "logger.mode=foo"], r"^logger.mode='foo' is unknown"),
])
def test_bad_settings_fail_before_the_model_loads(overrides, needle, online, monkeypatch, tmp_path):
    cfg = _cfg("debug=default", f"output_dir={tmp_path / 'r'}", *overrides)
    with pytest.raises(ValueError, match=needle):
        _run_module().run(cfg)


def test_logger_mode_typo_exits_2(tmp_path, monkeypatch, capsys):
    res = run_cli(monkeypatch, capsys, "debug=default", "logger=wandb", "logger.mode=foo",
                  f"hydra.run.dir={tmp_path / 'r'}")
    assert res.returncode == 2 and "logger.mode='foo' is unknown" in _one_error_line(res)


def test_unreachable_wandb_goes_offline_with_one_line(monkeypatch, capsys):
    from alpha.runner.config import make_logger

    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    logger = make_logger({"type": "wandb", "mode": "auto"})
    assert logger.mode == "offline"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("W&B is unreachable (http://127.0.0.1:")


def test_sigterm_in_process_is_handled_like_ctrl_c(tmp_path, monkeypatch, capsys):
    """A real SIGTERM to this process after the first batch is written: exit 143, one line
    with the resume command, metrics.json partial, the finished prompt kept."""
    from alpha.runner import experiment
    from alpha.runner.main import run_or_exit

    real = experiment.append_rows

    def append(path, rows):
        real(path, rows)
        if Path(path).name == "generations.jsonl":
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(experiment, "append_rows", append)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        run_or_exit(_cfg("debug=default", "batch_size=1", "max_new_tokens=4", f"output_dir={out}"))
    assert exit_.value.code == 143
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("terminated")]
    assert line.startswith(f"terminated (SIGTERM): finished batches are kept in {out}; "
                           "resume with: python run.py")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "partial" and metrics["n_prompts"] == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


@pytest.mark.slow
def test_sigterm_keeps_finished_prompts_says_how_to_resume_and_exits_143(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "run.py"), "debug=default", "batch_size=1",
           "num_prompts=40", f"hydra.run.dir={out}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    gen = out / "generations.jsonl"
    deadline = time.time() + 240
    while proc.poll() is None and time.time() < deadline and not (
            gen.exists() and gen.read_text().count("\n") >= 1):
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    (line,) = [x for x in err.splitlines() if x.startswith("terminated")]
    assert "Traceback" not in err and f"kept in {out}; resume with: python run.py" in line
    metrics = json.loads((out / "metrics.json").read_text())
    kept = [json.loads(x) for x in gen.read_text().splitlines()]
    assert metrics["status"] == "partial" and metrics["n_prompts"] == len(kept) >= 1


def test_full_disk_is_one_line_saying_what_was_kept(tmp_path, monkeypatch, capsys):
    """ENOSPC on the second batch's append (fault injected at the write): one line naming the
    file and the kept prompts, exit 1; the first batch is intact."""
    import errno

    from alpha.runner import experiment
    from alpha.runner.main import run_or_exit

    real, calls = experiment.append_rows, []

    def append(path, rows):
        if Path(path).name == "generations.jsonl":
            calls.append(path)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, rows)

    monkeypatch.setattr(experiment, "append_rows", append)
    out = tmp_path / "run"
    cfg = _cfg("debug=default", "batch_size=1", "max_new_tokens=4", f"output_dir={out}")
    with pytest.raises(SystemExit) as exit_:
        run_or_exit(cfg)
    assert exit_.value.code == 1
    stderr = capsys.readouterr().err
    err = [x for x in stderr.splitlines() if x.startswith("error")]
    assert "Traceback" not in stderr and len(err) == 1 and err[0].startswith(
        f"error: no space left on the device while writing {out / 'generations.jsonl'}; "
        f"1 finished prompts are kept in {out}/generations.jsonl")
    assert len((out / "generations.jsonl").read_text().splitlines()) == 1
    assert json.loads((out / "metrics.json").read_text())["status"] == "failed"


def test_non_utf8_data_names_file_and_line(tmp_path):
    from alpha.data import load_prompts

    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"prompt": "fine"}\n{"prompt": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=rf"^{path}:2: not UTF-8 \(byte 0xe9 at column 16\)"):
        load_prompts(path)


def test_empty_prompt_is_reported_by_file_line_before_loading(tmp_path, online, monkeypatch):
    data = tmp_path / "p.jsonl"
    data.write_text('{"prompt": "a", "reference": "r"}\n\n{"prompt": " ", "reference": "r"}\n')
    cfg = _cfg("debug=default", f"output_dir={tmp_path / 'r'}", f"dataset.path={data}")
    with pytest.raises(ValueError, match=rf"^{data}:3: field 'prompt' is empty"):
        _run_module().run(cfg)  # online's no_load: nothing loaded


def test_empty_hub_prompt_is_reported_by_dataset_row():
    from alpha.data.records import DATASET_SOURCES, load_records

    @DATASET_SOURCES.register("rows_for_test")
    def _rows(ds, *, limit, tokenizer_fn=None):
        return [{"index": i, "prompt": p} for i, p in enumerate(["a", "b", "c", ""])]

    try:
        with pytest.raises(ValueError, match=r"^dataset row 3 has an empty prompt"):
            load_records({"rows_for_test": True})
    finally:
        DATASET_SOURCES.pop("rows_for_test", None)


# ------------------------------------------------------------------------ 10. start-up noise


def test_local_prompt_file_shows_no_generating_split_bar(tmp_path, capfd):
    from alpha.data import load_prompts

    path = tmp_path / "fresh.jsonl"  # not in the datasets cache: the split would be generated
    path.write_text("".join(json.dumps({"prompt": f"p{i}"}) + "\n" for i in range(5)))
    capfd.readouterr()
    assert [r["prompt"] for r in load_prompts(path)] == [f"p{i}" for i in range(5)]
    out, err = capfd.readouterr()
    assert "Generating" not in out + err


def test_slurm_launcher_without_srun_is_one_line(tmp_path, monkeypatch, capsys):
    import shutil

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # python, but no srun/sbatch
    assert shutil.which("srun") is None
    res = run_cli(monkeypatch, capsys, "-m", "hydra/launcher=slurm", "debug=default", "seed=0,1",
                  f"hydra.sweep.dir={tmp_path / 's'}")
    assert res.returncode == 2
    assert "hydra/launcher=slurm needs a SLURM cluster (no `srun` on PATH)" in _one_error_line(res)
    assert "Traceback" not in res.stderr


def test_gpu_benchmark_on_a_cpu_machine_is_one_line(monkeypatch):
    import importlib.util

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spec = importlib.util.spec_from_file_location("benchmark", ROOT / "scripts" / "bench" / "benchmark.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    config = next((ROOT / "scripts" / "configs").glob("*.json"))
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--config", str(config), "--device", "cuda"])
    assert str(exit_.value.code).startswith("error: --device cuda but no CUDA device is visible")
    assert "\n" not in str(exit_.value.code)


def test_long_prompt_that_is_truncated_gives_no_token_indices_line(tiny_tokenizer):
    import copy
    import logging

    from alpha.generation import encode_prompts

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    hf = logging.getLogger("transformers")  # transformers' root logger (does not propagate)
    hf.addHandler(handler)
    level, disabled = hf.level, hf.disabled
    hf.setLevel(logging.WARNING)  # other tests' logging set-ups may have quietened transformers
    hf.disabled = False
    try:
        tok = copy.deepcopy(tiny_tokenizer)
        tok.model_max_length = 8
        tok.deprecation_warnings = {}  # as loaded: nothing shown yet
        with pytest.warns(UserWarning, match=r"keeping its last 6"):  # the runner's own warning
            (ids,) = encode_prompts(tok, ["word " * 40], max_prompt_tokens=6)
        assert len(ids) == 6
        assert not any("Token indices sequence length" in m for m in seen)
        fresh = copy.deepcopy(tiny_tokenizer)  # the reference: transformers does say it
        fresh.model_max_length = 8
        fresh.deprecation_warnings = {}
        fresh("word " * 40)
        assert any("Token indices sequence length" in m for m in seen)
    finally:
        hf.removeHandler(handler)
        hf.setLevel(level)
        hf.disabled = disabled


def test_run_output_has_no_loading_bars_empty_rows_or_wrapped_path(tmp_path, monkeypatch, capsys):
    out = tmp_path / ("a-long-folder-name-" * 6) / "run,sampler.base_temp=0.3"
    from alpha.runner.main import hydra_quote

    res = run_cli(monkeypatch, capsys, "debug=default", "max_new_tokens=4",
                  f"hydra.run.dir={hydra_quote(str(out))}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Loading weights" not in res.stderr + res.stdout
    assert f"outputs: {out}\n" in res.stdout  # whole, on its own line
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["accuracy"]["mean"] is None
    assert "│ accuracy" not in res.stdout and "no values: accuracy (" in res.stdout


def test_offline_wandb_run_says_where_it_went_and_how_to_upload(tmp_path, capsys):
    from alpha.runner.wandb_logger import WandbLogger

    logger = WandbLogger(project="alpha-test", mode="offline", log_artifact=False)
    logger.start(config={"seed": 0}, run_dir=str(tmp_path))
    logger.log_summary({"diversity": {"mean": 1.0, "n": 1}})
    logger.finish(status="complete")
    (folder,) = tmp_path.glob("wandb/offline-run-*")
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("W&B")]
    assert lines == [f"W&B offline run saved in {folder}; upload it with: wandb sync {folder}"]


@pytest.mark.parametrize("through_runner", [False, True])
def test_alembic_plugin_lines_are_silenced_on_the_runner_path(through_runner):
    """The Optuna sweeper imports alembic under Hydra's INFO logging; the plain import shows
    the 'setup plugin alembic...' lines (the reference), the runner's entry point does not."""
    call = ("from alpha.runner.main import fold_hydra_errors; "
            "fold_hydra_errors(lambda: __import__('alembic.autogenerate')); "
            "print(logging.getLogger('sentence_transformers').level)" if through_runner
            else "__import__('alembic.autogenerate')")
    res = subprocess.run([sys.executable, "-c", "import logging; "
                          "logging.basicConfig(level=logging.INFO); " + call],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert ("setup plugin alembic" in res.stderr) is (not through_runner)
    if through_runner:  # the embedder's 'No device provided' / 'Loading ...' INFO lines too
        assert res.stdout.split() == [str(logging.WARNING)]


def test_unreachable_hub_with_a_cached_model_goes_offline_with_one_line(online, monkeypatch,
                                                                          tmp_path, capsys):
    """A hub id in the HF cache (laid out as the hub client lays it out) and no hub: one line,
    then offline mode, so the loader reads the cache instead of retrying."""
    import huggingface_hub.constants

    from alpha.runner.preflight import check_hub, check_model_config

    cache = tmp_path / "hub"
    repo = cache / "models--org--cached"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    from transformers import Qwen2Config

    Qwen2Config(max_position_embeddings=64).to_json_file(repo / "snapshots" / "abc123" / "config.json")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    check_hub({"name_or_path": "org/cached"}, {"path": "heldout"}, None)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is unreachable" in err[0] and "HF cache" in err[0]
    assert huggingface_hub.constants.HF_HUB_OFFLINE is True and os.environ["HF_HUB_OFFLINE"] == "1"
    assert len(online) == 1
    with pytest.raises(ValueError, match=r"^model.path=org/missing need the Hugging Face hub"):
        monkeypatch.delenv("HF_HUB_OFFLINE")
        check_hub({"name_or_path": "org/missing"}, {"path": "heldout"}, None)
    with pytest.raises(ValueError, match=r"^max_new_tokens=64 does not fit model.path=org/cached: "
                                         r"its context is 64 tokens"):  # read from the cache
        check_model_config({"name_or_path": "org/cached"}, max_new_tokens=64, capture="last",
                           needs_attention=True)
