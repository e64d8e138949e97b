"""What `python run.py` does with a composed config: validate, load, run, print, return.

`run(cfg)` checks everything cheap first (settings, sampler, evaluation, prompts, run folder),
then loads the model(s) and hands over to the run loop (`alpha.runner.experiment`); it returns
the headline as a sweeper needs it. `fold_hydra_errors(main)` runs a `@hydra.main` function
with Hydra's multi-line composition errors turned into one `error: ...` line (exit 2).
`run.py` holds only the `@hydra.main` decorator (its `config_path` is relative to that file).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from alpha.runner import config as hc
from alpha.runner import preflight


def summary_table(result) -> None:
    """Print the run's metrics as a small rich table (headline first); metrics without values
    for this run (e.g. accuracy on a dataset without answers) are named below it, not as empty
    rows, and the run folder is printed whole on its own line (rich would wrap it in a title)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.n_prompts} prompts")
    for col in ("metric", "mean", "95% CI", "n"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    names = [result.headline] + sorted(k for k in result.metrics if k != result.headline)
    empty = []
    for name in names:
        m = result.metrics.get(name) or {}
        mean, ci = m.get("mean"), m.get("ci95")
        if mean is None and not m.get("n") and name != result.headline:
            empty.append(name)
            continue
        arrow = {True: " ↑", False: " ↓"}.get(m.get("higher_is_better"), "")
        label = f"[bold]{name}{arrow}[/bold]" if name == result.headline else name + arrow
        table.add_row(label, "-" if mean is None else f"{mean:.4g}",
                      f"[{ci[0]:.3g}, {ci[1]:.3g}]" if ci else "-", str(m.get("n", "")))
    Console(stderr=False).print(table)
    for name in empty:
        note = (result.metrics.get(name) or {}).get("note")
        print(f"no values: {name}" + (f" ({note})" if note else ""))
    print(f"outputs: {result.output_dir}")


def _quiet_loading() -> None:
    """No "Loading weights" bars (one per model, also for the evaluation's scoring models): the
    runner logs each model it loads; hub downloads keep their own progress bars."""
    from huggingface_hub.utils import are_progress_bars_disabled, enable_progress_bars
    from transformers.utils import logging as hf_logging

    hub_bars = not are_progress_bars_disabled()
    hf_logging.disable_progress_bar()  # also turns off the hub's download bars...
    if hub_bars:
        enable_progress_bars()  # ...which stay as they were


def run(cfg: DictConfig) -> float:
    """Validate everything cheap first (settings, sampler, prompts), then load and run."""
    from alpha.models import load_model_and_tokenizer
    from alpha.runner import model_cache, shards
    from alpha.runner.experiment import run_experiment
    from alpha.runner.lock import run_folder_lock
    from alpha.threads import configure_threads

    c = hc.to_plain(cfg)
    settings = hc.settings(c)
    configure_threads(settings.cpu_threads)  # null: OMP_NUM_THREADS or 1 (docs/threads.md)
    preflight.check_device(settings.device)  # before any hub access
    sampler = hc.build_sampler(c["sampler"], compile=settings.compile_sampler)
    hc.check_evaluation(c["evaluation"])  # unknown metric names first, then the headline rule
    spec = hc.experiment_spec(c, settings)
    oracle_kw = hc.oracle_kwargs(c, settings)
    model_kw = hc.model_kwargs(c["model"], settings)
    preflight.check_hub(model_kw, c["dataset"], oracle_kw)  # one connect, not minutes of retries
    preflight.check_model_config(model_kw, max_new_tokens=settings.max_new_tokens,
                                 capture=settings.capture,
                                 needs_attention=bool(getattr(sampler, "needs_attention", False)))
    logger = hc.make_logger(c.get("logger"))  # a bad logger setting fails here, in one line
    records = hc.load_records(c["dataset"], settings, c["model"])
    main = shards.is_main()  # data parallel (accelerate launch): rank 0 locks, merges, logs
    with run_folder_lock(spec.output_dir) if main else contextlib.nullcontext():
        spec = shards.prepare(spec)  # unwritable / another config's results: fail before loading
        _quiet_loading()
        model, tokenizer = model_cache.load("model", model_kw, load_model_and_tokenizer)
        oracle = (model_cache.load("oracle", oracle_kw, load_model_and_tokenizer)
                  if oracle_kw and main else None)
        run_fn = shards.run_sharded if shards.is_sharded() else run_experiment  # docs/scaling.md
        result = run_fn(spec, model=model, tokenizer=tokenizer, sampler=sampler, records=records,
                        logger=logger if main else None, oracle=oracle)
    if main:
        summary_table(result)
    return hc.sweeper_value(result.value, result.metrics, result.headline)


def hydra_quote(value: str) -> str:
    """`value` as a double-quoted Hydra override value (`=`, `,`, spaces, brackets stay text)."""
    # Hydra's quoted strings: backslashes are literal except a run right before a quote or the
    # end, which is doubled; a quote is escaped
    text = re.sub(r'(\\+)(?="|$)', lambda m: m.group(1) * 2, str(value))
    return '"' + text.replace('"', '\\"') + '"'


def resume_command(output_dir: str, overrides: list[str] | None = None) -> str:
    """The shell command that resumes a run in `output_dir`, safe to paste: every override is
    shell-quoted and the folder is Hydra-quoted (run folder names hold `=` and `,`).
    `overrides` default to the command line of this Hydra run (without hydra.run.dir)."""
    if overrides is None:
        try:
            from hydra.core.hydra_config import HydraConfig

            overrides = list(HydraConfig.get().overrides.task)
        except ValueError:  # not inside a Hydra run (the runner called as a function)
            overrides = []
    keep = [o for o in overrides if not o.lstrip("+~").startswith(("hydra.run.dir=", "output_dir="))]
    args = [*keep, f"hydra.run.dir={hydra_quote(output_dir)}"]
    return "python run.py " + " ".join(shlex.quote(a) for a in args)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's stop, `kill`), handled like Ctrl-C: finished batches are kept and
    metrics.json says "partial"."""


def _terminate(signum, frame):
    raise Terminated()


def _rows_in(output_dir: str) -> int:
    from alpha.runner.experiment import GENERATIONS

    try:
        with open(os.path.join(output_dir, GENERATIONS), "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0


def run_or_exit(cfg: DictConfig) -> float:
    """`run`, with a ValueError as one `error:` line (exit 2), Ctrl-C as exit 130, SIGTERM as
    exit 143 (both keep the finished batches and say how to resume) and a full disk as one line
    (exit 1) saying what was kept."""
    import errno
    import signal
    import threading

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    rejected = False
    try:
        return run(cfg)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        rejected = True
        sys.exit(2)
    except KeyboardInterrupt as err:
        what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        print(f"{what}: finished batches are kept in {cfg.output_dir}; resume with: "
              f"{resume_command(cfg.output_dir)}", file=sys.stderr)
        sys.exit(143 if isinstance(err, Terminated) else 130)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        print(f"error: no space left on the device while writing {err.filename or cfg.output_dir}; "
              f"{_rows_in(cfg.output_dir)} finished prompts are kept in {cfg.output_dir}/"
              f"generations.jsonl; free some space and resume with: "
              f"{resume_command(cfg.output_dir)}", file=sys.stderr)
        sys.exit(1)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        from alpha.runner.lock import release

        release(cfg.output_dir)  # the start callback's hold: Hydra skips on_run_end on an exit
        if rejected:
            discard_empty_run_folder(cfg.output_dir)


# What a start leaves in its run folder before it produces anything: Hydra's config copy and
# log, the folder lock, the recorded config.
START_FILES = (".hydra", ".lock", "run_config.json", "run_config.json.tmp")


def discard_empty_run_folder(output_dir: str) -> bool:
    """Remove a rejected start's run folder (and its date folder when that is left empty) when
    it holds nothing but what the start itself wrote (`START_FILES`, `*.log`): a folder with
    any result or any other file stays. Returns True when the folder was removed."""
    import shutil

    folder = Path(output_dir)
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return False
    if any(n not in START_FILES and not n.endswith(".log") for n in names):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.parent.name):  # Hydra's date folder, if left empty
        with contextlib.suppress(OSError):
            folder.parent.rmdir()
    return not folder.exists()


def fold_hydra_errors(main: Callable[[], object]) -> None:
    """Run `main`, turning Hydra's multi-line composition errors (a typo'd key, an unknown
    option, a bad override) into one `error: ...` line and exit code 2. HYDRA_FULL_ERROR=1
    (set by the user) keeps Hydra's own report with the stack trace."""
    import logging

    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    # INFO lines of other libraries that Hydra's INFO root handler would print: Optuna's
    # sweeper imports alembic (7 "setup plugin alembic..." lines); sentence-transformers says
    # which device and folder the coherence/MAUVE embedder loads from (2 lines)
    for name in ("alembic", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        main()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let the exception reach us instead of Hydra's report
    try:
        main()
    except (HydraException, OmegaConfBaseException) as err:
        print(f"error: {hc.one_line(err)}", file=sys.stderr)
        sys.exit(2)
    except RuntimeError as err:
        if '"srun"' not in str(err):  # submitit's SLURM executor, off a SLURM cluster
            raise
        print("error: hydra/launcher=slurm needs a SLURM cluster (no `srun` on PATH); run the "
              "sweep on the cluster's login node, or here with hydra/launcher=joblib or "
              "hydra/launcher=submitit_local", file=sys.stderr)
        sys.exit(2)
