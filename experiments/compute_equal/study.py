"""Study 4's bookkeeping (experiments/compute_equal/run.sh calls it; README: the reading).

    python experiments/compute_equal/study.py collect RUN_DIR runs/NAME   # raw files of a finished run
    python experiments/compute_equal/study.py choose runs/dev --out results/gated_threshold.json
    python experiments/compute_equal/study.py tables runs --out results  # every table from runs/

`collect` copies a finished run's raw files (`alpha.runner.collect`: generations as xz,
byte-exact after `xz -d`, metrics.json, run_config.json, the Hydra config), so every number in
results/ is recomputed from the repository alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

from alpha.runner.collect import collect as copy_run


def collect(run_dir: Path, dest: Path) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if metrics.get("status") != "complete":
        raise SystemExit(f"error: {run_dir} is not complete (metrics.json status "
                         f"{metrics.get('status')!r}); re-run its command to finish it")
    copy_run(run_dir, dest)


def choose(dev: Path, out: Path) -> float:
    """The gated sampler's threshold: the dev run with the highest maj@8, ties to the fewest
    tokens per problem, then the lower threshold. Written down with every candidate."""
    rows = []
    for run in sorted(dev.glob("gated_th*")):
        m = json.loads((run / "metrics.json").read_text())["metrics"]
        cfg = json.loads((run / "run_config.json").read_text())["config"]
        rows.append({"threshold": float(cfg["sampler"]["threshold"]), "maj@8": m["maj@8"]["mean"],
                     "tokens_per_problem": m["tokens_per_problem"]["mean"],
                     "n_problems": m["maj@8"]["n"]})
    if not rows:
        raise SystemExit(f"error: no dev runs under {dev}; run experiments/compute_equal/run.sh")
    best = max(rows, key=lambda r: (r["maj@8"], -r["tokens_per_problem"], -r["threshold"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rule": "max dev maj@8, then fewest tokens, then lower threshold",
                               "chosen": best["threshold"], "candidates": rows}, indent=1) + "\n")
    return best["threshold"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("run_dir", type=Path)
    c.add_argument("dest", type=Path)
    ch = sub.add_parser("choose")
    ch.add_argument("dev", type=Path)
    ch.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("tables")
    t.add_argument("runs", type=Path)
    t.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "collect":
        collect(a.run_dir, a.dest)
    elif a.cmd == "choose":
        print(choose(a.dev, a.out))
    else:
        spec = importlib.util.spec_from_file_location(  # the sibling file, not an installed module
            "compute_equal_analysis", Path(__file__).with_name("analysis.py"))
        analysis = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(analysis)
        analysis.write_tables(a.runs, a.out)


if __name__ == "__main__":
    main()
