"""README.md as a newcomer uses it: every snippet runs as pasted, every command line is valid.

Issue 13, item 11: the Quick Start worked only from the repository root (elsewhere it went to
the hub), the batched and AlphaLogitsProcessor snippets used undefined names. Here:
- every ```python block runs, in order, in one fresh interpreter whose working directory is a
  temporary folder, offline (HF_HUB_OFFLINE=1), one thread, with no "does not fit" warning;
- every `python run.py ...` line of a ```bash block composes with Hydra's compose API (sweeps
  composed at their first value) and its sampler builds; nothing runs;
- every `python scripts/X.py ...` / `python experiments/X.py ...` the README names has a
  working --help, and its arguments parse with the script's own parser (the script is stopped
  right after parsing).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

import alpha
from alpha.runner import config as hc
from alpha.runner import tuning

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def bash_lines(prefix: str) -> list[str]:
    """Lines of ```bash blocks that start with `prefix`, continuations joined, comments cut."""
    out = []
    for block in blocks("bash"):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(prefix):
                out.append(line)
    return out


def test_tiny_model_constant_is_the_shipped_model():
    assert Path(alpha.TINY_MODEL).is_absolute()
    assert Path(alpha.TINY_MODEL) == ROOT / "models" / "tiny-shakespeare"
    assert (Path(alpha.TINY_MODEL) / "config.json").is_file()


def test_python_snippets_run_as_pasted_from_another_directory(tmp_path):
    code = blocks("python")
    assert len(code) >= 3
    script = "".join(f"print('@@ block {i}', flush=True)\n{c}\n" for i, c in enumerate(code))
    script += f"print('@@ block {len(code)}', flush=True)\n"
    (tmp_path / "snippets.py").write_text(script)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}" + os.environ.get(
               "PYTHONPATH", "")}  # this checkout's alpha, as an editable install gives
    done = subprocess.run([sys.executable, "snippets.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    reached = re.findall(r"^@@ block (\d+)$", done.stdout, re.M)
    failed = int(reached[-1]) if reached else 0
    assert done.returncode == 0, (f"README python block {failed} failed:\n{code[failed]}\n"
                                  f"{done.stderr[-3000:]}")
    assert reached[-1] == str(len(code))
    assert "does not fit" not in done.stderr, done.stderr[-2000:]
    assert not list(tmp_path.iterdir())[1:], "the snippets wrote files into the working directory"


def _sweep_first(override) -> str:
    """`key=a,b,c` -> `key=a`; `key=interval(lo,hi)` -> `key=lo` (compose takes one value)."""
    if not override.is_sweep_override():
        return override.input_line
    sweep = override.value()
    value = sweep.list[0] if hasattr(sweep, "list") else sweep.start
    return f"{override.get_key_element()}={value}"


RUN_LINES = bash_lines("python run.py")


def test_readme_has_run_lines():
    assert len(RUN_LINES) >= 8, RUN_LINES


@pytest.mark.parametrize("line", RUN_LINES)
def test_run_line_composes(line):
    args = [a for a in shlex.split(line)[2:] if a != "-m"]
    overrides = [_sweep_first(o) for o in OverridesParser.create().parse_overrides(args)]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides + ["output_dir=/tmp/x"],
                      return_hydra_config=True)
    assert not str(cfg.hydra.run.dir).startswith("experiments")
    c = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]),
                               resolve=True)
    hc.build_sampler(c["sampler"])  # the registry rejects unknown or out-of-range parameters


SCRIPT_LINES = sorted({m.strip() for m in re.findall(
    r"python (?:scripts|experiments)/(?:bench/)?\w+\.py[^`#\n]*", re.sub(r"\\\n\s*", " ", README))})


class _Parsed(Exception):
    pass


def _run_script(path: Path, argv: list[str], monkeypatch) -> tuple[BaseException, str]:
    """Run a script as __main__ with argv until its argparse parser returns (then stop)."""
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    monkeypatch.syspath_prepend(str(path.parent))  # as `python path` has it: siblings import
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except (_Parsed, SystemExit) as stop:
            return stop, out.getvalue()
    raise AssertionError(f"{path} ran to the end without parsing its arguments")


def test_readme_names_the_scripts():
    names = {line.split()[1] for line in SCRIPT_LINES}
    assert {"scripts/tune.py", "scripts/make_tables.py", "scripts/plot_traces.py",
            "experiments/run_ablations.py", "scripts/bench/benchmark.py",
            "scripts/bench/bench_metrics.py"} <= names, names


@pytest.mark.parametrize("line", SCRIPT_LINES)
def test_script_line_has_help_and_parses(line, monkeypatch):
    argv = shlex.split(line.replace("<", "_").replace(">", "_"))[1:]
    path = ROOT / argv[0]
    stop, text = _run_script(path, ["--help"], monkeypatch)
    assert isinstance(stop, SystemExit) and not stop.code, text[-2000:]
    assert len(text) > 100, text
    if argv[0] == "scripts/tune.py":  # not argparse: the config and its overrides load and plan
        tuning.make_plan(tuning.load_config(argv[1], argv[2:]))
        return
    stop, text = _run_script(path, argv[1:], monkeypatch)
    assert isinstance(stop, _Parsed), f"`{line}` does not parse:\n{text[-2000:]}"


def test_output_folder_and_debug_claims_match_the_configs():
    """The README's run-folder pattern and what it says `debug=default` switches."""
    run_dir = yaml.safe_load((ROOT / "conf" / "hydra" / "default.yaml").read_text())["run"]["dir"]
    assert run_dir == ("outputs/${task_name}/${now:%Y-%m-%d}/${now:%H-%M-%S}_"
                       "${hydra.job.override_dirname}")
    assert "`outputs/run/<date>/<time>_<overrides>/`" in README
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        plain, debug = (compose("config", overrides=o) for o in ([], ["debug=default"]))
    claims = README[README.index("`python run.py debug=default` is"):][:600]
    for group, chosen in (("logger", "none"), ("evaluation", "fast")):
        assert f"`{group}={chosen}" in claims
        assert debug[group] == compose_group(group, chosen) != plain[group]
    assert (debug.num_prompts, debug.max_new_tokens, debug.task_name) == (4, 16, "debug")
    assert "4 prompts x 16 tokens" in claims and "`outputs/debug/" in claims


def compose_group(group: str, option: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=[f"{group}={option}"])[group]
