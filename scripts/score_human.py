"""Score the human continuations of finished runs as if they were generations.

    python scripts/score_human.py multirun/tune/leaderboard/runs/test/top_p/seed0
    python scripts/score_human.py $(dirname $(find multirun/tune/leaderboard/runs/test -name metrics.json))

Writes RUN_DIR/human_metrics.json (alpha/runner/human.py says what is scored and what is left
out); `make_tables.py` then adds a `human` row and distance-to-human columns. A folder that is
not a finished run with references is one line on stderr, exit 2.
"""

import sys
from pathlib import Path

from alpha.runner.human import score_run


def main(argv: list[str] | None = None) -> int:
    dirs = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not dirs:
        print(__doc__)
        return 2
    models: dict = {}  # each model and oracle loaded once for all the folders
    for d in dirs:
        try:
            out = score_run(d, models)
        except (ValueError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        shown = {k: round(v["mean"], 4) for k, v in out["metrics"].items()
                 if isinstance(v.get("mean"), float)}
        print(f"{d}: {out['n']} references: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
