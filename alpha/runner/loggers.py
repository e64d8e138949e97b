"""Run loggers: where a finished run's records and metrics go besides the run folder.

The runner writes `generations.jsonl` and `metrics.json` itself, first; a logger only copies
them somewhere else (JSON Lines / CSV files here, Weights & Biases in `alpha/runner/wandb_logger.py`).
This module knows the record and metrics formats of `docs/design.md` and nothing about Hydra,
W&B, models or sampling. A logger never raises into the run: every method is guarded, and a
failure becomes a `warnings.warn` naming the logger and the step that failed.

Loggers are built by name from `conf/logger/*.yaml` (`type: none|local|wandb` + keyword
parameters) through the `LOGGERS` registry; the W&B one is imported only when asked for.

Interface (the runner calls, in order):
    start(config=..., run_dir=...) -> log_records(records) -> log_summary(metrics)
    -> log_file(path, kind) -> finish(status=...)

>>> logger = NullLogger()
>>> logger.start(config={}, run_dir=".")
>>> logger.finish(status="complete")
"""

from __future__ import annotations

import csv
import functools
import json
import math
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alpha.protocol import PARAM_NAMES
from alpha.registry import Registry

PARAM_KEYS = PARAM_NAMES  # the five parameters, in the sampler's order
ALPHA_KEYS = ("alpha", "alpha_mean", "h_tok", "vh_tok", "h_attn", "vh_attn")
RECORD_COLUMNS = ("index", "prompt", "text", "num_tokens", "finish_reason")
LOGGERS = Registry("logger.type")  # logger.type -> builder(**params) -> Logger


def guarded(method: Callable) -> Callable:
    """Decorator: run a logger method; any exception becomes a warning, never a lost run."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as err:  # noqa: BLE001 - a logger must not kill the run
            warnings.warn(
                f"{type(self).__name__}.{method.__name__} failed ({type(err).__name__}: {err}); "
                "the run goes on and its local files are intact",
                RuntimeWarning,
                stacklevel=2,
            )
            return None

    return wrapper


class Logger:
    """Base logger: every method does nothing. Subclasses override what they record."""

    def start(self, *, config: dict, run_dir: str) -> None:
        """Begin a run. `config` is the resolved config as plain containers."""

    def log_records(self, records: list[dict]) -> None:
        """The final `generations.jsonl` rows (traces and per-prompt metrics included)."""

    def log_summary(self, metrics: dict) -> None:
        """The `metrics` mapping of `metrics.json`: {name: {"mean", "ci95", "n", ...}}."""

    def log_file(self, path: str, kind: str) -> None:
        """A file the run wrote (e.g. kind="generations" for generations.jsonl)."""

    def finish(self, *, status: str = "complete") -> None:
        """End the run; `status` is "complete", "partial" or "failed"."""


@LOGGERS.register("none")
class NullLogger(Logger):
    """Records nothing: keeps the run loop free of `if logger:` branches."""


# ---------------------------------------------------------------------------- pure helpers


def _number(value: Any) -> float | None:
    """A finite float, or None for null / NaN / non-numbers."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def flatten_summary(metrics: dict) -> dict[str, float]:
    """metrics.json's `metrics` mapping -> flat {"name/mean": v, "name/ci95_lo": v, ...}.

    Nulls (a metric undefined for this run) are left out; a bare number is kept as `name`;
    `higher_is_better` becomes 1.0 / 0.0 so tables built from W&B can draw their arrows.
    """
    flat: dict[str, float] = {}
    for name, entry in metrics.items():
        if not isinstance(entry, dict):
            if _number(entry) is not None:
                flat[name] = _number(entry)
            continue
        for key in ("mean", "n", "higher_is_better"):
            if _number(entry.get(key)) is not None:
                flat[f"{name}/{key}"] = _number(entry[key])
        ci = entry.get("ci95")
        if isinstance(ci, (list, tuple)) and len(ci) == 2:
            for side, value in zip(("ci95_lo", "ci95_hi"), ci, strict=True):
                if _number(value) is not None:
                    flat[f"{name}/{side}"] = _number(value)
    return flat


def metric_columns(records: Iterable[dict]) -> list[str]:
    """Sorted union of the per-prompt metric names over all records."""
    names: set[str] = set()
    for rec in records:
        names.update((rec.get("metrics") or {}).keys())
    return sorted(names)


def prompt_rows(records: list[dict]) -> tuple[list[str], list[list]]:
    """One row per prompt: index, prompt, text, length, finish reason, per-prompt metrics.

    Returns:
        (columns, rows); a metric a record lacks is None in its row.
    """
    metrics = metric_columns(records)
    rows = []
    for rec in records:
        per = rec.get("metrics") or {}
        rows.append([rec.get(c) for c in RECORD_COLUMNS] + [per.get(m) for m in metrics])
    return list(RECORD_COLUMNS) + metrics, rows


def trace_rows(record: dict) -> tuple[list[str], list[list]]:
    """A record's per-step trace as rows: position, then one column per trace key.

    Returns:
        (columns, rows) with columns ["position", key, ...] in TRACE-like order.
    """
    trace = record.get("trace") or {}
    order = [*ALPHA_KEYS, *PARAM_KEYS]
    keys = [k for k in order if k in trace] + sorted(k for k in trace if k not in order)
    steps = max((len(trace[k]) for k in keys), default=0)
    rows = [
        [t] + [trace[k][t] if t < len(trace[k]) else None for k in keys] for t in range(steps)
    ]
    return ["position", *keys], rows


def check_traces_for(value: Any) -> int:
    """Validate `log_traces_for` (how many prompts' traces to log): an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"logger.log_traces_for={value!r} is invalid; use an int >= 0 (0 logs no traces)"
        )
    return value


def _write_csv(path: Path, columns: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)


# ---------------------------------------------------------------------------- local logger


@LOGGERS.register("local")
class LocalLogger(Logger):
    """Writes JSON Lines / CSV copies under `<run_dir>/<subdir>/` for users without W&B.

    Files: `config.json`, `events.jsonl` (start, files, finish with timestamps), `prompts.csv`
    (one row per prompt with its metrics), `traces.csv` (position x trace key, for the first
    `log_traces_for` prompts, with a `prompt_index` column), `summary.csv` and `summary.json`.

    Args:
        subdir: folder under the run dir (a non-empty relative name).
        log_traces_for: number of prompts whose per-step traces are written (0 = none).
    """

    def __init__(self, *, subdir: str = "logs", log_traces_for: int = 4) -> None:
        if not isinstance(subdir, str) or not subdir.strip() or Path(subdir).is_absolute():
            raise ValueError(
                f"logger.subdir={subdir!r} is invalid; use a relative folder name such as 'logs'"
            )
        self.subdir = subdir
        self.log_traces_for = check_traces_for(log_traces_for)
        self.dir: Path | None = None

    def _event(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": time.time(), **fields})
        with (self.dir / "events.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    @guarded
    def start(self, *, config: dict, run_dir: str) -> None:
        self.dir = Path(run_dir) / self.subdir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.json").write_text(json.dumps(config, indent=2, default=str))
        self._event("start", run_dir=str(run_dir))

    @guarded
    def log_records(self, records: list[dict]) -> None:
        columns, rows = prompt_rows(records)
        _write_csv(self.dir / "prompts.csv", columns, rows)
        chosen = records[: self.log_traces_for]
        all_keys: list[str] = []
        per_record = []
        for rec in chosen:
            cols, trows = trace_rows(rec)
            per_record.append((rec.get("index"), cols, trows))
            all_keys += [c for c in cols[1:] if c not in all_keys]
        out = []
        for index, cols, trows in per_record:
            pos = {c: i for i, c in enumerate(cols)}
            out += [[index, r[0]] + [r[pos[k]] if k in pos else None for k in all_keys]
                    for r in trows]
        _write_csv(self.dir / "traces.csv", ["prompt_index", "position", *all_keys], out)

    @guarded
    def log_summary(self, metrics: dict) -> None:
        (self.dir / "summary.json").write_text(json.dumps(metrics, indent=2, default=str))
        rows = []
        for name, entry in metrics.items():
            entry = entry if isinstance(entry, dict) else {"mean": entry}
            ci = entry.get("ci95") or [None, None]
            rows.append([name, entry.get("mean"), ci[0], ci[1], entry.get("n"),
                         entry.get("higher_is_better")])
        _write_csv(self.dir / "summary.csv",
                   ["metric", "mean", "ci95_lo", "ci95_hi", "n", "higher_is_better"], rows)

    @guarded
    def log_file(self, path: str, kind: str) -> None:
        self._event("file", path=str(path), kind=kind)

    @guarded
    def finish(self, *, status: str = "complete") -> None:
        self._event("finish", status=status)


@LOGGERS.register("wandb")
def _wandb_logger(**params: Any) -> Logger:
    from alpha.runner.wandb_logger import WandbLogger  # wandb itself loads in `start`

    return WandbLogger(**params)
