#!/usr/bin/env bash
# Study 3 (issue 15): the six ablations re-run on SmolLM2-135M with OpenWebText continuations,
# paired CIs against each ablation's default row. One command, resumable (fixed sweep folders;
# a re-run skips finished prompts):
#   bash experiments/ablations_real/run.sh                 # all six, two streams
#   bash experiments/ablations_real/run.sh window_size     # one
#   EXTRA="num_prompts=64" bash experiments/ablations_real/run.sh   # extra overrides: own folders
#   SEEDS=0,1 bash experiments/ablations_real/run.sh       # a second seed: only its runs are new
# Sizes: experiments/ablations_real/README.md (25 grid points x 128 prompts x 96 tokens a seed;
# the committed tables are seed 0; the tables read exactly the SEEDS given).
# Run folders are named by their overrides (no job number), so changing SEEDS or splitting a
# grid over two commands finds the finished runs again.
set -euo pipefail
cd "$(dirname "$0")/../.."
# this checkout's alpha (and ROOT, where run folders land), even where an editable install
# points at another checkout (a study run from a separate worktree)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# perplexity_source=rescore: the definition its first runs used (the text re-scored); the key is
# in neither the folder names (conf/hydra exclude_keys) nor the fingerprint, so finished runs resume
COMMON=(model=smollm2-135m dataset=owt dataset.split=test num_prompts=128 max_new_tokens=96
        batch_size=64 cpu_threads=1 device=cpu logger=none progress=false
        evaluation.options.bootstrap_samples=0 evaluation.options.perplexity_source=rescore
        seed=${SEEDS:=0} 'hydra.sweep.subdir=${hydra.job.override_dirname}')
EXTRA=${EXTRA:-}
TAG=${EXTRA:+_$(echo "$EXTRA" | sed 's/[^A-Za-z0-9._-]/_/g')}   # own folders per EXTRA
SWEEPS=multirun/study_ablations_real$TAG
OUT=experiments/ablations_real${TAG:+/extra$TAG}
METRICS=diversity,rep_4,self_bleu,perplexity,coherence,mean_length,tokens_per_s
declare -A REFERENCE=(  # each ablation's default row (make_tables.py --reference)
    [window_size]="sampler.alpha_window_size=5"
    [bounds]="ablation.bounds=default"
    [alpha_weights]="ablation.weights=original"
    [solver]="sampler.param_smoothing_factor=0.8, sampler.solver=bisection"
    [target_scale]="sampler.target_scale=0.5"
    [attention_source]="capture=last, sampler.attention_mode=mean_heads")
NAMES=("$@")
[[ ${#NAMES[@]} -gt 0 ]] || NAMES=(window_size bounds alpha_weights solver target_scale attention_source)
run_one() {
    local name=$1 sweep=$SWEEPS/$1
    mkdir -p "$sweep"
    python run.py -m experiment="$name" "${COMMON[@]}" $EXTRA hydra.sweep.dir="$sweep" > "$sweep.log" 2>&1
}
# two streams: alternate the ablations between them
A=() B=()
for i in "${!NAMES[@]}"; do if (( i % 2 == 0 )); then A+=("${NAMES[$i]}"); else B+=("${NAMES[$i]}"); fi; done
( for n in "${A[@]}"; do run_one "$n"; done ) &
( for n in "${B[@]:-}"; do [[ -n $n ]] && run_one "$n"; done ) &
wait
IFS=, read -ra SEED_LIST <<< "$SEEDS"
for name in "${NAMES[@]}"; do
    runs=(); for s in "${SEED_LIST[@]}"; do runs+=("$SWEEPS/$name"/*,seed="$s"); done
    python scripts/make_tables.py "${runs[@]}" --metrics $METRICS \
        --reference "${REFERENCE[$name]}" --out "$OUT/$name"
done
