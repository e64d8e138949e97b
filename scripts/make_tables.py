"""Multirun folders (or a W&B project) -> Markdown, LaTeX and CSV tables.

    python scripts/make_tables.py multirun/window_size/2026-11-27_13-00-00 --out outputs/tables/window_size
    python scripts/make_tables.py multirun/ --metrics rep_4,distinct_2,tokens_per_s
    python scripts/make_tables.py --wandb my-team/alpha-sampler --group window_size_2026-11-27_13-00-00
    python scripts/make_tables.py outputs/tune/tiny/runs/test --by sampler.name --reference top_p \
        --trials outputs/tune/tiny/trials.csv --out outputs/tune/tiny/table

The command line of `alpha/runner/tables.py` (grouping, statistics and formats live there).
"""

import sys

# This checkout's alpha, not another one an editable install points at: ROOT (where outputs
# and experiments/ resolve) is derived from alpha's location.
from alpha.runner.tables import main

if __name__ == "__main__":
    sys.exit(main())
