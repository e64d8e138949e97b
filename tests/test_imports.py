"""The library stays free of the framework, and `import alpha` stays light.

`import alpha` loads no Hydra, OmegaConf, W&B, sacrebleu, evaluate or datasets (the evaluation
stack, prompt data and the runner load on first use); no module of the library outside the
runner package (`alpha.runner`, the only place allowed Hydra/OmegaConf/W&B) loads Hydra,
OmegaConf or W&B.
"""

import subprocess
import sys

HEAVY = ("hydra", "omegaconf", "wandb", "sacrebleu", "evaluate", "datasets")


def _loaded(code: str, names) -> list[str]:
    code += f"\nprint(','.join(m for m in {tuple(names)!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_alpha_is_light():
    assert _loaded("import sys, alpha", HEAVY) == []


def test_import_alpha_loads_no_framework():
    code = (
        "import sys, alpha\n"
        "import alpha.registry; alpha.available_samplers()\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(alpha.__path__, 'alpha.'):\n"
        "    if not m.name.startswith('alpha.runner.'):\n"
        "        importlib.import_module(m.name)\n"
    )
    bad = _loaded(code, ("hydra", "omegaconf", "wandb"))
    assert bad == [], f"alpha imported {bad}"
