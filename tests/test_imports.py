"""The library stays free of the framework, and `import alpha` stays light.

`import alpha` loads no torch, transformers, Hydra, OmegaConf, W&B, sacrebleu, evaluate or
datasets (every exported name loads its module on first use), and neither do the modules of the
tools that only read run folders (`alpha.runner.collect`, `alpha.runner.tuning`'s planning,
`alpha.data`'s registry); no module of the library outside the runner package (`alpha.runner`,
the only place allowed Hydra/OmegaConf/W&B) loads Hydra, OmegaConf or W&B. The `evaluate`
wrappers (`alpha.evaluation.hf_evaluate`) are not walked: they import `evaluate`, which is their
purpose, and no run imports them. One interpreter serves both checks.
"""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "hydra", "omegaconf", "wandb", "sacrebleu", "evaluate", "datasets")
FRAMEWORK = ("hydra", "omegaconf", "wandb")


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    """Which of HEAVY are in sys.modules after `import alpha`, and after importing every
    library module outside the runner."""
    code = (
        "import sys, alpha\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
        "import alpha.registry; alpha.available_samplers()\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(alpha.__path__, 'alpha.'):\n"
        "    if not m.name.startswith(('alpha.runner.', 'alpha.evaluation.hf_evaluate')):\n"
        "        importlib.import_module(m.name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    after_import, after_walk = (line.split(",") if line else [] for line in
                                out.stdout.rstrip("\n").split("\n"))
    return {"import": after_import, "walk": after_walk}


def test_import_alpha_is_light(loaded):
    assert loaded["import"] == []


def test_the_run_folder_tools_load_no_torch():
    """collect_runs.py's module, the tuner's planning and the prompt-set registry start without
    torch or transformers (seconds per call under load, many calls per study)."""
    code = ("import sys, alpha.runner.collect, alpha.runner.tuning, alpha.data.records\n"
            "print([m for m in ('torch', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_alpha_loads_no_framework(loaded):
    bad = [m for m in loaded["walk"] if m in FRAMEWORK]
    assert bad == [], f"alpha imported {bad}"


def test_no_module_edits_sys_path():
    """Entry points and scripts import the installed package; none edits sys.path (a script
    that did ran another checkout's code against this one's tests once)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [root / "run.py", *(root / "alpha").rglob("*.py"), *(root / "scripts").rglob("*.py"),
             *(root / "experiments").rglob("*.py")]
    bad = [str(f.relative_to(root)) for f in files if "sys.path" in f.read_text()]
    assert bad == []
