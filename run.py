"""The experiment runner: compose the config, run the library, return the headline metric.

    python run.py                                  # embedded default (tiny model, held-out passages)
    python run.py debug=default                    # seconds on CPU
    python run.py model=qwen0.5b sampler.target_scale=0.4
    python run.py -m sampler.alpha_window_size=1,5,10

A library ValueError (bad value, missing field, unusable folder) prints `error: <message>` on
stderr and exits 2; Ctrl-C keeps the finished batches and exits 130. See docs/running.md.
What a run does lives in `alpha/runner/main.py`; this file only binds it to `conf/`.
"""

import hydra
from omegaconf import DictConfig

from alpha.runner.main import fold_hydra_errors, run, run_or_exit

__all__ = ["main", "run"]


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return run_or_exit(cfg)


if __name__ == "__main__":
    fold_hydra_errors(main)
