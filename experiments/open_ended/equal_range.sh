#!/usr/bin/env bash
# Study 1's equal-range check (issue 15): is the adaptive sampler's better budget curve (best of 1
# random setting) the search ranges' doing? alpha's base_temp is drawn from [0.1, 1.0], the
# baselines' temperature from [0.3, 1.5]. Here top_p, min_p and temperature-only are re-tuned with
# temperature in alpha's [0.1, 1.0], same 10 random trials, same dev passages; dev only (test=false).
# Then their budget curves beside the main study's (make_tables --trials main,equal_range).
#   bash experiments/open_ended/equal_range.sh          # resumable; after run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-multirun/tune/open_ended/runs}             # the main study's run folders
OUT=${OUT:-multirun/tune/open_ended_equal_range/runs}    # this check's run folders
RES=experiments/open_ended/equal_range
python scripts/tune.py conf/tune/open_ended.yaml 'methods=[top_p,min_p,temperature]' test=false \
    'extra_overrides=[sampler.search_space.temperature.low=0.1,sampler.search_space.temperature.high=1.0]' \
    out_dir=$OUT results_dir=$RES
python scripts/make_tables.py $RUNS/test/alpha $RUNS/test/alpha_seed $RUNS/test/top_p \
    $RUNS/test/min_p $RUNS/test/temperature --by sampler.name --metrics mauve,coherence \
    --trials experiments/open_ended/results/trials.csv,$RES/trials.csv \
    --trial-methods top_p,min_p,temperature,alpha,alpha_seed --out $RES/budget
