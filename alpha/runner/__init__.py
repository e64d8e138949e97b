"""The runner: everything around one `python run.py` besides the library itself.

Hydra glue (`config.py`), the run loop with resume, OOM back-off and metrics.json
(`experiment.py`), loggers (`loggers.py`: none/local; `wandb_logger.py`: W&B), the
equal-budget tuner (`tuning.py`), run folders read and grouped (`runs.py`), tables over them
(`tables.py`) and their paired differences and budget curves (`stat_tables.py`), plots
(`plots.py`) and the ablation builder (`ablations.py`). This is the only part of `alpha/` that
may import Hydra, OmegaConf or W&B; `import alpha` never loads it. Imported by `run.py`,
`scripts/*` and the tests. Importing this package itself is free: each submodule is loaded on
its own.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository root (conf/, models/, data/, run.py)
