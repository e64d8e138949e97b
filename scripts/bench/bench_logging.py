"""How much does logging add to a run's wall time? (goal: W&B offline <= 5% at default settings)

Two measurements, printed with their ratio:
  1. end to end: the same `python run.py` command with `logger=none` and with
     `logger=wandb logger.mode=offline`, back to back in fresh output folders (order alternated
     over --repeats), wall time of the whole process each;
  2. in process, low noise: the logger calls a run makes (start, log_records, log_summary,
     log_file x2, finish) replayed on the first run's real records, NullLogger vs WandbLogger,
     against that run's own wall time (metrics.json `wall_time_s`); W&B's start runs in a
     background thread, reported separately.

    python scripts/bench/bench_logging.py                                   # default settings
    python scripts/bench/bench_logging.py --repeats 2 -- num_prompts=32     # extra run.py overrides
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alpha.runner import timing

ROOT = Path(__file__).resolve().parents[2]


def run_once(logger: list[str], extra: list[str], out: Path) -> None:
    """One `python run.py` process writing into `out` (timed by the caller)."""
    cmd = [sys.executable, "run.py", f"hydra.run.dir={out}", "progress=false", *logger, *extra]
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"run.py failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")


def replay(logger, run_dir: Path, records: list[dict], metrics: dict,
           config: dict) -> tuple[float, float]:
    """(blocking s, background s) of the logger calls a run makes, on real records.

    Blocking = time inside the calls once the background start (W&B's import + init, which a
    real run overlaps with generation) has finished; background = that start's own time.
    """
    t0 = time.perf_counter()
    logger.start(config=config, run_dir=str(run_dir))
    blocking = time.perf_counter() - t0
    t1 = time.perf_counter()
    thread = getattr(logger, "_thread", None)
    if thread is not None:
        thread.join()
    background = time.perf_counter() - t1
    t2 = time.perf_counter()
    logger.log_records(records)
    logger.log_summary(metrics)
    logger.log_file(str(run_dir / "generations.jsonl"), "generations")
    logger.log_file(str(run_dir / "metrics.json"), "metrics")
    logger.finish(status="complete")
    return blocking + time.perf_counter() - t2, background


def in_process(run_dir: Path, tmp: Path) -> tuple[float, float, float, float]:
    """(null blocking s, wandb blocking s, wandb background s, the run's wall_time_s)."""
    import yaml

    from alpha.runner.loggers import NullLogger
    from alpha.runner.wandb_logger import WandbLogger

    records = [json.loads(x) for x in (run_dir / "generations.jsonl").read_text().splitlines()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    target = tmp / "replay"
    target.mkdir()
    for name in ("generations.jsonl", "metrics.json"):
        (target / name).write_text((run_dir / name).read_text())
    null_s, _ = replay(NullLogger(), target, records, metrics["metrics"], config)
    wandb_s, wandb_bg = replay(WandbLogger(mode="offline"), target, records,
                               metrics["metrics"], config)
    return null_s, wandb_s, wandb_bg, metrics["metrics"]["wall_time_s"]["mean"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="pairs of end-to-end runs")
    parser.add_argument("extra", nargs="*", help="run.py overrides after --")
    args = parser.parse_args()
    none, wandb = ["logger=none"], ["logger=wandb", "logger.mode=offline"]
    before = timing.load()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        calls = iter(range(10**6))

        def end_to_end(name, logger):
            return lambda: run_once(logger, args.extra, tmp / f"{name}{next(calls)}")

        rows = timing.interleaved({"none": end_to_end("none", none),
                                   "wandb": end_to_end("wandb", wandb)},
                                  repeats=args.repeats, warmup=0, baseline="none")
        first_none = sorted(p for p in tmp.iterdir() if p.name.startswith("none"))[0]
        null_s, wandb_s, wandb_bg, gen_wall = in_process(first_none, tmp)
    print(f"overrides: {' '.join(args.extra) or '(defaults)'}")
    print(timing.report(rows, title="end to end: logger=none vs logger=wandb (offline)",
                        before=before))
    print(f"in process: NullLogger calls {null_s * 1000:.1f} ms; WandbLogger calls {wandb_s:.2f} s "
          f"blocking + {wandb_bg:.2f} s background start (overlaps generation); run "
          f"wall_time_s {gen_wall:.2f} s -> blocking overhead "
          f"{100 * (wandb_s - null_s) / gen_wall:.2f}%, "
          f"{100 * (wandb_s + wandb_bg - null_s) / gen_wall:.2f}% if nothing overlapped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
