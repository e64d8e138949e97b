"""The one timing harness of the measurement scripts (scripts/bench/): interleaved repeats,
medians, ratios against a baseline timed in the same process, and the machine's load beside them.

    from alpha.runner.timing import interleaved, report
    rows = interleaved({"top_p": run_top_p, "alpha": run_alpha}, repeats=5, baseline="top_p")
    print(report(rows, title="B=32, V=151,936"))

The machines these run on are shared and noisy, so a figure alone says little: every function is
warmed up, then run once per round in a rotating order (round r starts at function r), and the
median of the rounds is compared with the baseline's median from the same rounds. `load()` is
recorded before and after (1-minute load average, cores available, torch threads), so a reader
can tell a quiet measurement from a loaded one.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Timing:
    """One function's rounds: the seconds of each, their median, the ratio to the baseline."""

    name: str
    seconds: list[float]
    median: float
    ratio: float | None = None  # median / baseline's median (None without a baseline)
    extra: dict = field(default_factory=dict)  # what the caller adds (tokens/s, shapes, ...)
    result: Any = field(default=None, repr=False)  # the last timed call's return value


def load() -> dict[str, Any]:
    """The machine's state now: 1-minute load average, cores this process may use, torch threads."""
    from alpha.threads import available_cores

    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency
        threads = None
    return {"load1": round(os.getloadavg()[0], 2), "cores": available_cores(),
            "torch_threads": threads}


def interleaved(fns: dict[str, Callable[[], Any]], *, repeats: int = 3, warmup: int = 1,
                baseline: str | None = None, clock: Callable[[], float] = time.perf_counter,
                sync: Callable[[], None] | None = None) -> list[Timing]:
    """Time each function `repeats` times, interleaved and in rotating order, after `warmup`
    untimed calls each; medians, and ratios to `baseline` (one of the names) when given.
    `sync` runs before and after each timed call (e.g. `torch.cuda.synchronize` on a GPU)."""
    if repeats < 1 or not fns:
        raise ValueError(f"repeats={repeats} must be >= 1 and fns must name at least one function")
    if baseline is not None and baseline not in fns:
        raise ValueError(f"baseline={baseline!r} is not one of {list(fns)}")
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    seconds: dict[str, list[float]] = {n: [] for n in names}
    results: dict[str, Any] = {}
    for r in range(repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            if sync is not None:
                sync()
            t0 = clock()
            results[n] = fns[n]()
            if sync is not None:
                sync()
            seconds[n].append(clock() - t0)
    rows = [Timing(n, s, statistics.median(s), result=results[n]) for n, s in seconds.items()]
    if baseline is not None:
        base = statistics.median(seconds[baseline])
        for row in rows:
            row.ratio = row.median / base if base > 0 else float("nan")
    return rows


def report(rows: list[Timing], *, title: str = "", before: dict | None = None,
           after: dict | None = None, columns: tuple[str, ...] = ()) -> str:
    """A Markdown table (name, median, runs, ratio, and any `extra` columns named), with the
    load before and after underneath."""
    head = ["name", "median s", "runs (s)", "vs baseline", *columns]
    lines = ([f"**{title}**", ""] if title else []) + [
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        runs = " / ".join(f"{s:.3g}" for s in r.seconds)
        extra = [str(r.extra.get(c, "")) for c in columns]
        lines.append("| " + " | ".join([r.name, f"{r.median:.4g}", runs, ratio, *extra]) + " |")
    after = after or load()
    lines += ["", f"load: before {before or '-'}, after {after} (median of {len(rows[0].seconds)} "
                  "interleaved rounds; only the ratios compare across machines)"]
    return "\n".join(lines)


def write_jsonl(path: str | Path, rows: list[Timing], **context: Any) -> None:
    """Append one JSON line per row (its fields plus `context`, e.g. the command and the load)."""
    with open(path, "a") as f:
        for r in rows:
            f.write(json.dumps({**{k: v for k, v in asdict(r).items() if k != "result"},
                                **context}) + "\n")
