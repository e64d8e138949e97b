"""Progress across a `python run.py -m` sweep, and its summary table at the end.

A Hydra callback (registered in conf/hydra/default.yaml). At the sweep's start it records the
start time and the number of jobs (the product of the sweep lists, BasicSweeper's grid; an
Optuna sweeper's `n_trials`) in `<sweep dir>/.sweep_progress.json`. Each job, in whichever
process the launcher runs it (joblib and SLURM jobs too), appends its folder to
`<sweep dir>/.sweep_done` and prints one line: a bar, jobs done / total, elapsed time and ETA.
At the end the main process prints one table of the swept runs: each job's overrides, its
headline metric (the value the sweeper optimises), its status and folder, best first; the
same rows go to `<sweep dir>/sweep_summary.csv`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

STATE = ".sweep_progress.json"
DONE = ".sweep_done"
SUMMARY = "sweep_summary.csv"


def sweep_size(config: DictConfig) -> int | None:
    """The number of jobs the sweep will run, or None when it cannot be told up front."""
    sweeper = config.hydra.sweeper
    target = str(sweeper.get("_target_", ""))
    if "optuna" in target.lower():
        return int(sweeper.n_trials) if sweeper.get("n_trials") else None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = sweeper.get("params") or {}
    if isinstance(params, DictConfig):
        params = OmegaConf.to_container(params, resolve=False)
    lines = {k: f"{k}={v}" for k, v in params.items()}
    for line in config.hydra.overrides.task:  # the command line wins over the file's grid
        lines[line.split("=", 1)[0].lstrip("+~")] = line
    try:
        parsed = OverridesParser.create().parse_overrides(list(lines.values()))
        return math.prod(len(list(o.sweep_string_iterator())) if o.is_sweep_override() else 1
                         for o in parsed)
    except Exception:  # noqa: BLE001 - an odd grammar: progress without a total, never a failure
        return None


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def progress_line(done: int, total: int | None, elapsed: float, width: int = 20) -> str:
    """`sweep [#####---------------] 3/12 jobs, 1m02s elapsed, ETA 3m06s` (no total: no bar)."""
    if not total:
        return f"sweep: {done} jobs done, {_clock(elapsed)} elapsed"
    filled = min(width, round(width * done / total))
    eta = elapsed / done * max(total - done, 0) if done else float("nan")
    eta_text = _clock(eta) if eta == eta else "?"
    return (f"sweep [{'#' * filled}{'-' * (width - filled)}] {done}/{total} jobs, "
            f"{_clock(elapsed)} elapsed, ETA {eta_text}")


def _headline(folder: Path) -> tuple[str, float | None, str, bool | None]:
    """(headline name, value, status, higher_is_better) from a job's metrics.json."""
    try:
        m = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return "", None, "no metrics.json", None
    head = m.get("headline") or {}
    name = head.get("name") or ""
    better = ((m.get("metrics") or {}).get(name) or {}).get("higher_is_better")
    return name, head.get("value"), str(m.get("status", "?")), better


def summary_rows(sweep_dir: Path) -> list[dict]:
    """One row per job folder of the sweep (those with a .hydra folder), best headline first."""
    rows = []
    for folder in sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir()):
        name, value, status, better = _headline(folder)
        rows.append({"job": folder.name, "metric": name, "value": value, "status": status,
                     "higher_is_better": better, "folder": str(folder)})
    higher = next((r["higher_is_better"] for r in rows if r["higher_is_better"] is not None), True)
    sign = -1.0 if higher is not False else 1.0
    rows.sort(key=lambda r: (r["value"] is None, sign * r["value"] if r["value"] is not None else 0))
    return rows


def print_summary(rows: list[dict], sweep_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    if not rows:
        return
    metric = next((r["metric"] for r in rows if r["metric"]), "headline")
    arrow = {True: " ↑", False: " ↓"}.get(rows[0]["higher_is_better"], "")
    table = Table(title=f"sweep: {len(rows)} runs, best first")
    for col in ("job", metric + arrow, "status"):
        table.add_column(col, justify="right" if col.startswith(metric) else "left")
    for r in rows:
        table.add_row(r["job"], "-" if r["value"] is None else f"{r['value']:.4g}", r["status"])
    Console(stderr=False).print(table)
    print(f"sweep folder: {sweep_dir} (each job's folder: its name above; table: {SUMMARY})")


class SweepProgress(Callback):
    """Hydra callback: a progress line per finished job, a summary table at the sweep's end."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / STATE).write_text(json.dumps({"started": time.time(),
                                                   "total": sweep_size(config)}))
        (sweep_dir / DONE).unlink(missing_ok=True)

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        from hydra.types import RunMode

        if config.hydra.mode != RunMode.MULTIRUN or os.environ.get("RANK", "0") != "0":
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            state = json.loads((sweep_dir / STATE).read_text())
            with open(sweep_dir / DONE, "a") as f:  # one short append per job: safe across processes
                f.write(config.hydra.runtime.output_dir + "\n")
            done = len((sweep_dir / DONE).read_text().splitlines())
        except (OSError, ValueError):
            return
        line = progress_line(done, state.get("total"), time.time() - state["started"])
        print(f"{line}; last: {Path(config.hydra.runtime.output_dir).name}", file=sys.stderr,
              flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        rows = summary_rows(sweep_dir)
        if rows:
            with open(sweep_dir / SUMMARY, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
        print_summary(rows, sweep_dir)
