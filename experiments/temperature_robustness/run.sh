#!/usr/bin/env bash
# Study 2 (issue 15): reasoning accuracy vs temperature. One command, resumable (every run's folder
# is fixed; a re-run skips finished prompts and finished runs):
#   bash experiments/temperature_robustness/run.sh
#   EXTRA="model=gemma3-270m" bash experiments/temperature_robustness/run.sh   # another model (own folders)
# Two streams, one torch thread each (a 2-core machine): the baselines' grid and the adaptive
# sampler's grid side by side, greedy first. Then the tables (paired CIs against greedy) and
# summarise.py: methods x temperatures with CIs, alpha vs each baseline, the figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXTRA=${EXTRA:-}
TAG=${EXTRA:+_$(echo "$EXTRA" | sed 's/[^A-Za-z0-9._-]/_/g')}   # own folders per EXTRA
SWEEP=multirun/study_temperature_robustness$TAG
OUT=experiments/temperature_robustness/results$TAG
mkdir -p "$SWEEP" "$OUT"
python run.py experiment=temperature_robustness sampler=greedy $EXTRA \
    hydra.run.dir=$SWEEP/greedy > "$SWEEP/greedy.log" 2>&1
python run.py -m experiment=temperature_robustness $EXTRA hydra.sweep.dir=$SWEEP/baselines \
    > "$SWEEP/baselines.log" 2>&1 &
python run.py -m experiment=temperature_robustness_alpha $EXTRA hydra.sweep.dir=$SWEEP/alpha \
    > "$SWEEP/alpha.log" 2>&1 &
wait
python scripts/make_tables.py "$SWEEP/greedy" "$SWEEP/baselines" "$SWEEP/alpha" \
    --reference greedy --metrics gsm8k_strict,gsm8k_flexible,accuracy,mean_length,eos_rate,tokens_per_s \
    --out "$OUT/table"
# the min-p paper's shape: methods x temperatures, CIs over problems, alpha vs each baseline, figure
python experiments/temperature_robustness/summarise.py "$SWEEP" --out "$OUT/summary"
