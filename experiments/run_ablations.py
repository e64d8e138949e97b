"""Run the ablations in conf/experiment/ and regenerate each experiments/<name>/ folder.

    python experiments/run_ablations.py window_size solver        # run + tables + figures + README
    python experiments/run_ablations.py --prompts 32 --tokens 48 window_size
    python experiments/run_ablations.py --no-run window_size      # rebuild from multirun/ only

The command line of `alpha/runner/ablations.py` (sweep, table, figures and README live there).
"""

import sys

# This checkout's alpha, not another one an editable install points at: ROOT (where outputs
# and experiments/ resolve) is derived from alpha's location.
from alpha.runner.ablations import main

if __name__ == "__main__":
    sys.exit(main())
