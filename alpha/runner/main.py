"""What `python run.py` does with a composed config: validate, load, run, print, return.

`run(cfg)` checks everything cheap first (settings, sampler, evaluation, prompts, run folder),
then loads the model(s) and hands over to the run loop (`alpha.runner.experiment`); it returns
the headline as a sweeper needs it. `fold_hydra_errors(main)` runs a `@hydra.main` function
with Hydra's multi-line composition errors turned into one `error: ...` line (exit 2).
`run.py` holds only the `@hydra.main` decorator (its `config_path` is relative to that file).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from omegaconf import DictConfig

from alpha.runner import config as hc


def summary_table(result) -> None:
    """Print the run's metrics as a small rich table (headline first)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.n_prompts} prompts -> {result.output_dir}")
    for col in ("metric", "mean", "95% CI", "n"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    names = [result.headline] + sorted(k for k in result.metrics if k != result.headline)
    for name in names:
        m = result.metrics.get(name) or {}
        mean, ci = m.get("mean"), m.get("ci95")
        arrow = {True: " ↑", False: " ↓"}.get(m.get("higher_is_better"), "")
        label = f"[bold]{name}{arrow}[/bold]" if name == result.headline else name + arrow
        table.add_row(label, "-" if mean is None else f"{mean:.4g}",
                      f"[{ci[0]:.3g}, {ci[1]:.3g}]" if ci else "-", str(m.get("n", "")))
    Console(stderr=False).print(table)


def run(cfg: DictConfig) -> float:
    """Validate everything cheap first (settings, sampler, prompts), then load and run."""
    from alpha.models import load_model_and_tokenizer
    from alpha.runner import shards
    from alpha.runner.experiment import run_experiment
    from alpha.threads import configure_threads

    c = hc.to_plain(cfg)
    settings = hc.settings(c)
    configure_threads(settings.cpu_threads)  # null: OMP_NUM_THREADS or the cores available
    sampler = hc.build_sampler(c["sampler"], compile=settings.compile_sampler)
    spec = hc.experiment_spec(c, settings)
    hc.check_evaluation(c["evaluation"])
    oracle_kw = hc.oracle_kwargs(c, settings)
    records = hc.load_records(c["dataset"], settings, c["model"])
    spec = shards.prepare(spec)  # unwritable folder / another config's results: fail before loading (N ranks: rank 0's folder)
    model, tokenizer = load_model_and_tokenizer(**hc.model_kwargs(c["model"], settings))
    oracle = load_model_and_tokenizer(**oracle_kw) if oracle_kw and shards.is_main() else None
    run_fn = shards.run_sharded if shards.is_sharded() else run_experiment  # accelerate launch: docs/scaling.md
    result = run_fn(spec, model=model, tokenizer=tokenizer, sampler=sampler, records=records,
                    logger=hc.make_logger(c.get("logger")) if shards.is_main() else None, oracle=oracle)
    if shards.is_main():
        summary_table(result)
    return hc.sweeper_value(result.value, result.metrics, result.headline)


def run_or_exit(cfg: DictConfig) -> float:
    """`run`, with a ValueError as one `error:` line (exit 2) and Ctrl-C as exit 130."""
    try:
        return run(cfg)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"interrupted: finished batches are kept in {cfg.output_dir}; re-run with "
              f"hydra.run.dir={cfg.output_dir} to resume", file=sys.stderr)
        sys.exit(130)


def fold_hydra_errors(main: Callable[[], object]) -> None:
    """Run `main`, turning Hydra's multi-line composition errors (a typo'd key, an unknown
    option, a bad override) into one `error: ...` line and exit code 2. HYDRA_FULL_ERROR=1
    (set by the user) keeps Hydra's own report with the stack trace."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        main()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let the exception reach us instead of Hydra's report
    try:
        main()
    except (HydraException, OmegaConfBaseException) as err:
        print(f"error: {hc.one_line(err)}", file=sys.stderr)
        sys.exit(2)
