#!/usr/bin/env bash
# Study 4 (issue 27): at equal compute, can uncertainty-aware sampling beat greedy? One command,
# resumable (every run's folder is fixed; a re-run skips finished samples and finished runs):
#   bash experiments/compute_equal/run.sh
# Qwen2.5-Coder-0.5B, MultiArith's seeded 300-problem test split (conf/experiment/study4.yaml),
# k = 8 samples of each problem, traces with every token's uncertainty (record_signals).
# Two streams, one torch thread each (a 2-core machine), in order of what the reading needs
# first: greedy and the self-consistency baselines on one; the gated sampler (its threshold
# chosen on 48 dev problems before its test run, written to results/gated_threshold.json) and
# the adaptive sampler on the other. Each finished run's raw generations (xz), metrics and config
# are copied to experiments/compute_equal/runs/NAME/ (committed); then the tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
# this checkout's alpha (and ROOT, where run folders land), even where an editable install
# points at another checkout (a study run from a separate worktree)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
SWEEP=${SWEEP:-multirun/study_compute_equal}
OUT=experiments/compute_equal
mkdir -p "$SWEEP" "$OUT/runs" "$OUT/results"

run() {  # run NAME OVERRIDES...: one run in its fixed folder, then its raw files to runs/NAME
    local name=$1; shift
    mkdir -p "$(dirname "$SWEEP/$name")"
    python run.py experiment=study4 "$@" hydra.run.dir="$SWEEP/$name" > "$SWEEP/$name.log" 2>&1
    python "$OUT/study.py" collect "$SWEEP/$name" "$OUT/runs/$name"
}

(
    run greedy sampler=greedy num_samples=1
    run top_p_T0.7 sampler=top_p sampler.temperature=0.7
    run min_p_T0.7 sampler=min_p sampler.temperature=0.7
    run top_n_sigma_T0.7 sampler=top_n_sigma sampler.temperature=0.7
    run top_p_T1.0 sampler=top_p sampler.temperature=1.0
) &
A=$!
(
    # the gated sampler's threshold (token entropy, bits) on dev: maj@8, ties to fewer tokens
    for th in 0.5 1.0 2.0; do
        run "dev/gated_th$th" sampler=gated sampler.threshold=$th \
            'sampler.inner_params={top_p: 0.9, temperature: 0.7}' dataset.split=dev num_prompts=48
    done
    TH=$(python "$OUT/study.py" choose "$OUT/runs/dev" --out "$OUT/results/gated_threshold.json")
    run gated_T0.7 sampler=gated sampler.threshold="$TH" \
        'sampler.inner_params={top_p: 0.9, temperature: 0.7}'
    run alpha_T0.7 sampler=alpha sampler.temp_max=0.7 sampler.clamp_base=true
    run alpha_T1.0 sampler=alpha sampler.temp_max=1.0 sampler.clamp_base=true
) &
B=$!
wait $A; wait $B   # either stream failing stops here (set -e), before the tables
python "$OUT/study.py" tables "$OUT/runs" --out "$OUT/results"
