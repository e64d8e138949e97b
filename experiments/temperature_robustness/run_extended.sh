#!/usr/bin/env bash
# Study 2 extended (issue 25): Study 2 re-run with every run's raw generations committed (the
# first runs' were not kept, so their CIs could not be recomputed from the repository), T = 5
# added to the grid, and the samplers that claim robustness to heat (top-nσ, p-less, Top-H,
# mirostat v2 at their authors' settings: conf/experiment/temperature_robustness_heat.yaml) on the
# same model, problems, sizes and seeds. One command, resumable (fixed run folders; a re-run skips
# finished prompts and finished runs; finished runs are collected again only if they changed):
#   bash experiments/temperature_robustness/run_extended.sh
#   TEMPS=1.0 SEEDS=0 EXTRA="num_prompts=2 max_new_tokens=8" bash experiments/temperature_robustness/run_extended.sh  # a slice
# Two workers, one torch thread each (a 2-core machine), share one queue of units: greedy, then
# each seed of each sweep (SWEEPS below, the heat samplers first), each taken by whichever worker
# is free (a lock per unit; a unit done is marked in $SWEEP/.done/). Fixed streams left one core
# idle for hours at the end (one had 66 runs, the other 85 and the slower adaptive ones). After
# each unit its finished runs' raw files go to experiments/temperature_robustness/runs$TAG/
# (generations as xz, committed; one collect at a time); at the end the tables are made from that
# folder alone: paired CIs against greedy (make_tables.py), the min-p paper's shape with the
# adaptive sampler against each method (summarise.py), Holm over every one of those tests together
# (holm_correct.py), and same-process costs (COSTS=0 skips them: ~40 min).
# Size at the full grid: 1 + 3 seeds x (5 methods x 6 temperatures (the heat samplers, alpha) +
# 4 x 5 (Study 2's other methods)) = 151 runs of 100 problems, at most 160 tokens each (Study 2's
# 76 runs took ~15 thread-hours; the hot ones hit the limit).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # this checkout's alpha (see run.sh)
TEMPS=${TEMPS:-0.7,1.0,1.5,2.0,3.0,5.0}   # Study 2's grid plus T = 5 for the heat samplers (issue 25)
# Study 2's methods that it puts near 0 at T = 3 (temperature-only, top-p, min-p, alpha_base_at_T)
# stay on Study 2's grid: at T = 5 each of their problems would run to the token limit, and T = 5
# is what issue 25 drops first; the adaptive sampler's ceiling mapping (45% at T = 3) gets T = 5
BASE_TEMPS=${BASE_TEMPS:-${TEMPS/%,5.0/}}
SEEDS=${SEEDS:-0,1,2}
EXTRA=${EXTRA:-}
TAG=${EXTRA:+_$(echo "$EXTRA" | sed 's/[^A-Za-z0-9._-]/_/g')}
[[ "$TEMPS,$SEEDS" == "0.7,1.0,1.5,2.0,3.0,5.0,0,1,2" ]] || TAG="${TAG}_T${TEMPS//,/_}_s${SEEDS//,/_}"
SWEEP=${SWEEP:-multirun/study_temperature_robustness_ext$TAG}   # run folders (git ignores)
RUNS=${RUNS:-experiments/temperature_robustness/runs$TAG}       # raw files, committed
OUT=${OUT:-experiments/temperature_robustness/results_ext$TAG}  # tables
mkdir -p "$SWEEP" "$RUNS" "$OUT"
# a fresh clone (or a session that starts without the run folders) resumes from the committed
# runs: each is unpacked into its sweep folder, and the sweep reuses it instead of generating it
python scripts/collect_runs.py "$SWEEP" "$RUNS" --restore

# NAME EXPERIMENT GRID_KEY SAMPLERS (- : the experiment's own) GRID, in the order they are taken:
# the samplers new to the study first, so that a run cut short by the budget still answers the
# extension's question; Study 2's own methods after them (on BASE_TEMPS: no T = 5, README), the
# adaptive ones (slowest a run) before min-p, so that the two workers end close together
SWEEPS=(
    "heat_a temperature_robustness_heat sampler.temperature top_n_sigma,p_less $TEMPS"
    "heat_b temperature_robustness_heat sampler.temperature top_h,mirostat_v2 $TEMPS"
    "baselines temperature_robustness sampler.temperature temperature,top_p $BASE_TEMPS"
    "alpha temperature_robustness_alpha sampler.temp_max - $TEMPS"
    "alpha_base_at_T temperature_robustness_alpha_base_at_T sampler.temp_max - $BASE_TEMPS"
    "min_p temperature_robustness sampler.temperature min_p $BASE_TEMPS"
)
mkdir -p "$SWEEP/.done" "$SWEEP/.locks"

collect() {  # collect NAME: the sweep's finished runs into $RUNS (one collect at a time)
    flock "$SWEEP/.locks/collect" python scripts/collect_runs.py "$SWEEP/$1" "$RUNS/$1" > /dev/null
}

sweep() {  # sweep NAME EXPERIMENT GRID_KEY SAMPLERS GRID SEED: one seed of one sweep, a multirun
    # in the sweep's fixed folder (sweeps on the command line replace the experiment's
    # hydra.sweeper.params for their keys; choice(...) keeps a one-value slice a sweep)
    local name=$1 exp=$2 key=$3 samplers=${4#-} grid=$5 seed=$6
    python run.py -m experiment="$exp" $EXTRA hydra.sweep.dir="$SWEEP/$name" \
        ${samplers:+"sampler=choice($samplers)"} "$key=choice($grid)" "seed=choice($seed)" \
        > "$SWEEP/$name.s$seed.log" 2>&1
    collect "$name"
}

greedy() {  # the reference of every paired test: one run
    python run.py experiment=temperature_robustness sampler=greedy $EXTRA \
        hydra.run.dir="$SWEEP/greedy/greedy" > "$SWEEP/greedy.log" 2>&1
    collect greedy
}

take() {  # take ID COMMAND...: run it unless it is done or the other worker holds it
    local id=$1 fd; shift
    [[ -e "$SWEEP/.done/$id" ]] && return 0
    exec {fd}>"$SWEEP/.locks/$id"
    if flock -n "$fd"; then
        if [[ ! -e "$SWEEP/.done/$id" ]]; then "$@"; touch "$SWEEP/.done/$id"; fi
    fi
    exec {fd}>&-
}

worker() {  # every unit in order; a unit the other worker holds is its to finish
    take greedy greedy
    local def seed
    for def in "${SWEEPS[@]}"; do
        for seed in ${SEEDS//,/ }; do
            take "${def%% *}.s$seed" sweep $def "$seed"
        done
    done
}

( worker ) &
A=$!
( worker ) &
B=$!
wait $A; wait $B   # either worker failing stops here (set -e), before the tables
# every table from the committed runs alone (make_tables and summarise read the .xz; one Holm
# family over every paired test): tables_ext.sh, which also remakes them from a clone in seconds
bash experiments/temperature_robustness/tables_ext.sh "$RUNS" "$OUT"
# cost under one load (as run.sh): each method's tokens/s against top_p 0.9, all at T = 1,
# alternately in one process on open prompts, the heat samplers at their authors' settings
# (~40 min). COSTS=1 measures, COSTS=0 skips, unset: measures unless $OUT/costs.md is there (a
# resumed study does not redo a committed measurement)
COSTS=${COSTS:-auto}
if [[ $COSTS == 1 || ( $COSTS != 0 && ! -e "$OUT/costs.md" ) ]]; then
    python scripts/bench/bench_study_costs.py --model qwen2.5-coder-0.5b --repeats 2 --out "$OUT/costs" \
        temperature min_p alpha:temp_max=1.0 greedy top_n_sigma p_less top_h mirostat_v2
else
    echo "costs: not measured (COSTS=$COSTS; a committed $OUT/costs.md stays; COSTS=1 measures)"
fi
