"""The sampler registry: an explicit name -> "module:builder" map, imported lazily, plugins by
entry point, did-you-mean on a typo, and a protocol check on what a builder returns.

References: the conf/sampler options (every one names a listed sampler), importlib.metadata's
own entry-point discovery (a plugin distribution on the path), the TokenSampler protocol.
Bad inputs tried: a typo'd name (sampler and logger), a builder that returns something that is not a sampler.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import alpha
from alpha import registry
from alpha.protocol import TokenSampler

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_sampler_builds_with_its_defaults():
    for name in registry.SAMPLER_MAPPING:
        assert isinstance(alpha.build_sampler(name), TokenSampler), name


def test_every_sampler_option_names_a_listed_sampler():
    names = {OmegaConf.load(p).name for p in (ROOT / "conf" / "sampler").glob("*.yaml")}
    assert names == set(registry.SAMPLER_MAPPING)


def test_the_registry_reads_no_source_text():
    src = inspect.getsource(registry)
    assert "read_text" not in src and "pkgutil" not in src


def test_a_typo_suggests_the_closest_name():
    with pytest.raises(ValueError, match=r"^sampler.name='top_pp' is unknown; did you mean "
                                         r"'top_p'\? choose one of \['adaptive_p', 'alpha', "):
        alpha.build_sampler("top_pp")


def test_every_registry_suggests_the_closest_name():
    from alpha.runner.loggers import LOGGERS
    with pytest.raises(ValueError, match=r"^logger.type='wandbb' is unknown; did you mean 'wandb'\? "
                                         r"choose one of \['local', 'none', 'wandb'\]$"):
        LOGGERS.get_entry("wandbb")
    with pytest.raises(ValueError, match=r"^logger.type='zzz' is unknown; choose one of \["):
        LOGGERS.get_entry("zzz")


def test_a_builder_that_returns_no_sampler_is_refused():
    registry.register_sampler("not_a_sampler")(lambda: object())
    try:
        with pytest.raises(ValueError, match="returned object, which is not a TokenSampler"):
            alpha.build_sampler("not_a_sampler")
    finally:
        registry.SAMPLERS.pop("not_a_sampler")


def write_plugin(folder: Path) -> Path:
    """A sampler from outside the package: its module, its YAML, and an installed-distribution
    record with the `alpha.samplers` entry point (what `pip install` of a plugin writes)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_plugin.py").write_text(
        '"""A plugin sampler: greedy under another name."""\n'
        "from alpha.baselines import GreedySampler\n\n\n"
        "def build_my_greedy():\n"
        "    return GreedySampler()\n")
    dist = folder / "my_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[alpha.samplers]\nmy_greedy = my_plugin:build_my_greedy\n")
    conf = folder / "conf" / "sampler"
    conf.mkdir(parents=True)
    (conf / "my_greedy.yaml").write_text(
        "# python run.py hydra.searchpath=[file://...] sampler=my_greedy\n"
        "name: my_greedy\nsearch_space: {}\n")
    return folder


def test_a_plugin_sampler_is_found_by_entry_point_and_imported_only_when_built(tmp_path):
    plugin = write_plugin(tmp_path)
    code = ("import sys, alpha\n"
            "assert 'my_greedy' in alpha.available_samplers()\n"
            "assert 'my_plugin' not in sys.modules  # listed, not imported\n"
            "print(type(alpha.build_sampler('my_greedy')).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(plugin), "PATH": "/usr/bin:/bin",
                              "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "GreedySampler"


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                          capture_output=True, text=True).stdout


def test_a_plugin_sampler_runs_in_the_runner_and_the_tuner_with_no_repository_change(tmp_path):
    """The plugin's module and YAML only (outside the package, found through its entry point
    and `hydra.searchpath`): run.py generates with it (the same texts as the package's greedy,
    which it wraps) and scripts/tune.py tunes it; no file of the repository changes."""
    import json
    import os

    plugin = write_plugin(tmp_path / "plugin")
    before = _git_status()
    env = {**os.environ, "PYTHONPATH": str(plugin), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "offline"}
    search = f"hydra.searchpath=[file://{plugin / 'conf'}]"
    fast = ["debug=default", "max_new_tokens=6", "num_prompts=2"]
    texts = {}
    for name in ("my_greedy", "greedy"):
        out = tmp_path / name
        res = subprocess.run([sys.executable, str(ROOT / "run.py"), *fast, f"sampler={name}",
                              search, f"hydra.run.dir={out}"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        texts[name] = [json.loads(x)["text"] for x in (out / "generations.jsonl").open()]
    assert texts["my_greedy"] == texts["greedy"]
    tune = tmp_path / "tune.yaml"
    tune.write_text(
        "methods: [my_greedy]\ntrials: 1\nobjective: distinct_2\nseeds: [0, 1]\n"
        f"out_dir: {tmp_path / 'tune' / 'runs'}\nresults_dir: {tmp_path / 'tune'}\n"
        f"overrides: ['{search}', debug=default, max_new_tokens=4, num_prompts=2,\n"
        "            'evaluation.metrics=[distinct_2,rep_2]']\n")
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "tune.py"), str(tune)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "| my_greedy |" in (tmp_path / "tune" / "table.md").read_text()
    assert _git_status() == before
