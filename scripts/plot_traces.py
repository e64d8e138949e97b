"""Figures from run folders: traces over a generation, temperature vs entropy, sweeps, HTML.

    python scripts/plot_traces.py traces RUN_DIR --prompts 0,1 --out outputs/figures/       # alpha + params
    python scripts/plot_traces.py temperature RUN_DIR --out outputs/figures/                # T vs entropy
    python scripts/plot_traces.py sweep SWEEP_DIR --key sampler.alpha_window_size --metric rep_4 --out outputs/figures/rep4.png
    python scripts/plot_traces.py html RUN_DIR --prompts 0 --out outputs/figures/           # tokens by alpha

The command line of `alpha/runner/plots.py` (the figures are drawn there).
"""

import sys

# This checkout's alpha, not another one an editable install points at: ROOT (where outputs
# and experiments/ resolve) is derived from alpha's location.
from alpha.runner.plots import main

if __name__ == "__main__":
    sys.exit(main())
