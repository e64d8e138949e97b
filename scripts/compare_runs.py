"""Compare two trees of run outputs: same generations, same metrics, same tables (timing aside).

    python scripts/compare_runs.py /tmp/eq/before /tmp/eq/after

Walks BEFORE and checks every output file against the file at the same relative path in AFTER:
`generations.jsonl` and the local logger's `prompts.csv`/`traces.csv` byte for byte;
`metrics.json`, `summary.json`, `summary.csv`, `run_config.json`'s fingerprint, `timing.jsonl`'s
batch sizes, the tuner's `winners.yaml`/`trials.csv`/`inputs.json`/`optimization_results.yaml`
and the tables (`table.md/.tex/.csv`) as values with the wall-clock fields left out:
`wall_time_s`, `tokens_per_s` and anything named after them (table columns, CSV rows, bold
marks in those columns). Files that only log, lock or echo paths (`run.log`, `.lock`, `.hydra/`, `wandb/`,
`events.jsonl`, `config.json`, `runs.log`) are skipped. Prints one line per compared file and
a verdict; exits 1 on any difference or missing file.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import yaml

TIMING = ("wall_time_s", "tokens_per_s")
SKIP_NAMES = {"run.log", "events.jsonl", "config.json", "runs.log", "multirun.yaml", ".lock",
              "wandb_run_id", ".sweep_done", ".sweep_progress.json"}
SKIP_PARTS = {".hydra", "wandb"}


def _timed(text: str) -> bool:
    return any(t in text.replace("\\_", "_") for t in TIMING)


def _drop_timing(obj):
    """A JSON value with every key named after a timing field removed (recursively)."""
    if isinstance(obj, dict):
        return {k: _drop_timing(v) for k, v in obj.items() if not _timed(str(k))}
    if isinstance(obj, list):
        return [_drop_timing(v) for v in obj]
    return obj


def _rows(text: str, kind: str) -> list[list[str]]:
    """Table rows as cells, timing columns and rows removed, bold marks stripped."""
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))
    else:
        sep = "|" if kind == "md" else "&"
        rows = [[c.strip() for c in line.rstrip("\\ ").split(sep)] for line in text.splitlines()]
    width = max((len(r) for r in rows), default=0)
    header = next((r for r in rows if len(r) == width), [])
    keep = [i for i, cell in enumerate(header) if not _timed(cell)]
    out = []
    for r in rows:
        if any(_timed(c) for c in r) and r is not header:
            continue  # a summary.csv row of a timing metric
        cells = [r[i] for i in keep if i < len(r)] if len(r) == width else r
        out.append([c.replace("**", "").replace("\\textbf{", "").replace("}", "")
                    if "textbf" in c or "**" in c else c for c in cells])
    return out


def _load(path: Path):
    """What is compared for this file: bytes, or values with timing left out."""
    name, text = path.name, None
    if name in ("generations.jsonl", "prompts.csv", "traces.csv"):
        return path.read_bytes()
    text = path.read_text(encoding="utf-8")
    if name == "run_config.json":
        return json.loads(text)["fingerprint"]
    if name == "timing.jsonl":
        return [json.loads(x)["n"] for x in text.splitlines() if x.strip()]
    if path.suffix == ".json":
        return _drop_timing(json.loads(text))
    if path.suffix == ".yaml":
        return yaml.safe_load(text)
    if path.suffix in (".csv", ".md", ".tex"):
        return _rows(text, path.suffix[1:])
    return path.read_bytes()


def compare(before: Path, after: Path) -> list[str]:
    """Differences between the two trees (empty when equal); prints each compared file."""
    problems = []
    files = sorted(p for p in before.rglob("*") if p.is_file() and p.name not in SKIP_NAMES
                   and not SKIP_PARTS & set(p.relative_to(before).parts))
    for path in files:
        rel = path.relative_to(before)
        other = after / rel
        if not other.is_file():
            problems.append(f"missing in {after}: {rel}")
            continue
        same = _load(path) == _load(other)
        print(f"{'same' if same else 'DIFFERENT'}  {rel}")
        if not same:
            problems.append(f"differs: {rel}")
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2:
        print(__doc__)
        return 2
    before, after = Path(argv[0]), Path(argv[1])
    problems = compare(before, after)
    n = sum(1 for p in before.rglob("generations.jsonl"))
    if problems:
        print("\n".join(problems))
        print(f"FAIL: {len(problems)} difference(s)")
        return 1
    print(f"OK: {n} generations.jsonl byte-identical; metrics, logs, tuner files and tables "
          f"equal apart from {', '.join(TIMING)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
