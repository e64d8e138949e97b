#!/usr/bin/env bash
# The committed study (experiments/baselines/tiny/): equal-budget tuning of every sampler on the
# embedded tiny model. Same result as `python scripts/tune.py conf/tune/tiny.yaml
# out_dir=multirun/tune/tiny results_dir=experiments/baselines/tiny` (which runs the methods one
# after another); this runs them in two streams, one per core, then assembles the table
# (finished sweeps are reused, not repeated). It names its folders: the config's defaults go to
# outputs/tune/tiny/, and only this script rewrites the committed experiments/baselines/tiny/.
#   bash experiments/baselines/run.sh                      # models/tiny-shakespeare as checked out
#   MODEL_REV=a77b5b6 bash experiments/baselines/run.sh    # the checkpoint of that commit
#                                                          # (extracted to multirun/)
# Each run.py gets one torch thread (two streams on two cores; 2 threads each run ~10x slower).
set -euo pipefail
cd "$(dirname "$0")/../.."
# this checkout's alpha (and ROOT, where run folders land), even where an editable install
# points at another checkout (a study run from a separate worktree)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p multirun/tune
EXTRA=("extra_overrides=[cpu_threads=1]")
if [[ -n "${MODEL_REV:-}" ]]; then
    SNAP=multirun/tune/model-$MODEL_REV
    mkdir -p "$SNAP"
    git archive "$MODEL_REV" models/tiny-shakespeare | tar -x -C "$SNAP"
    EXTRA=("extra_overrides=[cpu_threads=1,model.path=$SNAP/models/tiny-shakespeare]")
fi
CFG=conf/tune/tiny.yaml
OUT=out_dir=multirun/tune/tiny
python scripts/tune.py $CFG 'methods=[alpha,greedy,temperature,top_p,typical,eta,edt]' $OUT \
    results_dir=multirun/tune/tiny/stream_a "${EXTRA[@]}" > multirun/tune/tiny_stream_a.log 2>&1 &
python scripts/tune.py $CFG 'methods=[alpha_seed,pure,top_k,min_p,epsilon,dynatemp,entropix]' $OUT \
    results_dir=multirun/tune/tiny/stream_b "${EXTRA[@]}" > multirun/tune/tiny_stream_b.log 2>&1 &
wait
python scripts/tune.py $CFG $OUT results_dir=experiments/baselines/tiny "${EXTRA[@]}"
