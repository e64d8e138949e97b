"""Equal-budget tuning of every listed sampler, then the winners on the test split.

    python scripts/tune.py conf/tune/tiny.yaml                 # the tiny-model study -> outputs/tune/tiny/
    python scripts/tune.py conf/tune/tiny.yaml trials=2 seeds=[0,1] methods=[top_p,min_p]
    python scripts/tune.py conf/tune/tiny.yaml sampler=tpe     # TPE instead of random search

Arguments after the config file are `key=value` overrides of it (OmegaConf dotlist).
A bad tuning config (unknown method, empty search range, objective the evaluation does not
compute, fewer than two seeds) prints one line and exits 2 before any generation starts.
Outputs: run folders dev/ and test/ in the config's out_dir; trials.csv, winners.yaml,
table.md and table.csv in its results_dir (default: out_dir); trials.csv names the objective,
its direction and the Optuna sampler, for `make_tables.py --trials`. conf/tune/tiny.yaml writes
under outputs/tune/tiny/; the committed study (experiments/baselines/tiny/) is rewritten only by
naming it: experiments/baselines/run.sh. See docs/baselines.md and docs/statistics.md.
"""

from __future__ import annotations

import sys

# ROOT (where outputs, conf/ and run.py resolve) is derived from the imported alpha's location:
# from a second checkout (a study's worktree) put it first, PYTHONPATH=$PWD, as the studies'
# run.sh files do, or an editable install of another checkout is what runs.
from alpha.runner.tuning import load_config, make_plan, run_study


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        plan = make_plan(load_config(argv[0], argv[1:]))
    except ValueError as err:
        print(f"tune: {err}", file=sys.stderr)
        return 2
    failures = run_study(plan)
    for failure in failures:
        print(f"tune: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
