"""The library stays free of the framework: `import alpha` loads no Hydra, OmegaConf or W&B."""

import subprocess
import sys


def test_import_alpha_loads_no_framework():
    code = (
        "import sys, alpha\n"
        "import alpha.registry; alpha.available_samplers()\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(alpha.__path__, 'alpha.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in ('hydra', 'omegaconf', 'wandb') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"alpha imported {out.stdout.strip()}"
