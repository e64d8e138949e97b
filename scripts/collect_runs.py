"""Copy every finished run's raw files under a folder into the repository, generations as xz.

    python scripts/collect_runs.py multirun/tune/leaderboard experiments/leaderboard/runs
    python scripts/collect_runs.py multirun/tune/leaderboard experiments/leaderboard/runs --check
    python scripts/collect_runs.py multirun/tune/leaderboard experiments/leaderboard/runs --restore

For each run folder below SRC (one holding metrics.json with status "complete"), writes
DEST/<the same relative path>/generations.jsonl.xz (byte-equal to the run's generations.jsonl
after `xz -d`), metrics.json, run_config.json, .hydra/config.yaml, .hydra/overrides.yaml and
human_metrics.json when scored, so `make_tables.py DEST ...` (which reads the .xz) recomputes
every table and CI of a study from the repository alone (the runs themselves stay in multirun/,
which git ignores). A run already collected with the same bytes is skipped; unfinished runs are
listed and left out. `--check` copies nothing and exits 1 when a finished run is missing or
differs in DEST. `--restore` goes the other way: every run collected in DEST that SRC lacks
is unpacked into SRC (generations decompressed, small files copied; a run folder in SRC that has
generations is never touched), so a study resumed from a fresh clone reuses its committed runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alpha.runner.collect import collect, collected_runs, finished_runs, is_collected, restore


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--check", action="store_true", help="copy nothing; exit 1 if DEST lags")
    ap.add_argument("--restore", action="store_true",
                    help="unpack DEST's collected runs that SRC lacks into SRC (resume a study)")
    a = ap.parse_args(argv)
    if a.restore:
        if not a.dest.is_dir():  # nothing collected yet: nothing to restore
            print("0 run(s) restored (nothing collected yet)")
            return 0
        runs = collected_runs(a.dest)
        n = sum(restore(r, a.src / r.relative_to(a.dest)) for r in runs)
        print(f"{n} run(s) restored, {len(runs) - n} already in {a.src}")
        return 0
    if not a.src.is_dir():
        print(f"error: {a.src} is not a folder; give the study's multirun folder", file=sys.stderr)
        return 2
    done, open_ = finished_runs(a.src)
    if a.check:
        stale = [r for r in done if not is_collected(r, a.dest / r.relative_to(a.src))]
        for r in stale:
            print(f"not collected: {r}")
        return 1 if stale else 0
    copied = sum(collect(r, a.dest / r.relative_to(a.src)) for r in done)
    print(f"{copied} run(s) collected, {len(done) - copied} already there, "
          f"{len(open_)} unfinished left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
