#!/usr/bin/env bash
# Study 2 (issue 15): reasoning accuracy vs temperature. One command, resumable (every run's folder
# is fixed; a re-run skips finished prompts and finished runs):
#   bash experiments/temperature_robustness/run.sh
#   EXTRA="model=gemma3-270m" bash experiments/temperature_robustness/run.sh   # another model (own folders)
# Two streams, one torch thread each (a 2-core machine), balanced by work: temperature-only and
# top_p (30 runs, the hot ones run to the token limit) on one; greedy, min_p and the adaptive
# sampler (1 + 15 + 15 + 15 runs: its ceiling at T, then base_temp at T too) on the other. Then
# the tables (paired CIs against greedy) and summarise.py: methods x temperatures with CIs, the
# adaptive rows vs each baseline, the temperatures actually sampled, the figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
# this checkout's alpha (and ROOT, where run folders land), even where an editable install
# points at another checkout (a study run from a separate worktree)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
EXTRA=${EXTRA:-}
TAG=${EXTRA:+_$(echo "$EXTRA" | sed 's/[^A-Za-z0-9._-]/_/g')}   # own folders per EXTRA
SWEEP=multirun/study_temperature_robustness$TAG
OUT=experiments/temperature_robustness/results$TAG
mkdir -p "$SWEEP" "$OUT"
python run.py -m experiment=temperature_robustness $EXTRA hydra.sweep.dir=$SWEEP/baselines \
    'hydra.sweeper.params.sampler="temperature,top_p"' > "$SWEEP/baselines.log" 2>&1 &
A=$!
(
    python run.py experiment=temperature_robustness sampler=greedy $EXTRA \
        hydra.run.dir=$SWEEP/greedy > "$SWEEP/greedy.log" 2>&1
    python run.py -m experiment=temperature_robustness $EXTRA hydra.sweep.dir=$SWEEP/min_p \
        hydra.sweeper.params.sampler=min_p > "$SWEEP/min_p.log" 2>&1
    python run.py -m experiment=temperature_robustness_alpha $EXTRA hydra.sweep.dir=$SWEEP/alpha \
        > "$SWEEP/alpha.log" 2>&1
    # the stricter mapping: base_temp at T too (the ceiling alone left it sampling at ~0.85)
    python run.py -m experiment=temperature_robustness_alpha_base_at_T $EXTRA \
        hydra.sweep.dir=$SWEEP/alpha_base_at_T > "$SWEEP/alpha_base_at_T.log" 2>&1
) &
B=$!
wait $A; wait $B   # either stream failing stops here (set -e), before the tables
python scripts/make_tables.py "$SWEEP/greedy" "$SWEEP/baselines" "$SWEEP/min_p" "$SWEEP/alpha" \
    "$SWEEP/alpha_base_at_T" \
    --reference greedy --metrics gsm8k_strict,gsm8k_flexible,accuracy,mean_length,eos_rate,tokens_per_s \
    --out "$OUT/table"
# the min-p paper's shape: methods x temperatures, CIs over problems, alpha vs each baseline, figure
python experiments/temperature_robustness/summarise.py "$SWEEP" --out "$OUT/summary"
# cost under one load: each method's tokens/s against top_p 0.9 (all at T = 1), alternately in one
# process on open prompts (the runs' own tokens/s saw whatever else the box was running)
python scripts/bench/bench_study_costs.py --model qwen2.5-coder-0.5b --repeats 2 --out "$OUT/costs" \
    temperature min_p alpha:temp_max=1.0 greedy   # conf/sampler defaults, as the study runs them
