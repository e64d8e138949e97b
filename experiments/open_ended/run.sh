#!/usr/bin/env bash
# Study 1 (issue 15): open-ended continuation of OpenWebText, 14 samplers tuned with the same
# random-search budget on dev (MAUVE vs the human continuations), winners on test with 3 seeds.
# One command, resumable (finished dev sweeps and test runs are reused; an interrupted run skips
# its finished prompts):
#   bash experiments/open_ended/run.sh
# Another dataset or model: its own folders, e.g. (README)
#   python scripts/tune.py conf/tune/open_ended.yaml 'extra_overrides=[dataset=xsum_news]' \
#       out_dir=multirun/tune/open_ended_xsum/runs results_dir=experiments/open_ended/results_xsum
# Two streams (one torch thread each on a 2-core machine; 6 tunable methods each, ~3 h each with
# the evaluation of 47f03ed), then the table, the differences
# against top_p with paired CIs and the budget curves, then each winner's cost against top_p.
set -euo pipefail
cd "$(dirname "$0")/../.."
# this checkout's alpha (and ROOT, where run folders land), even where an editable install
# points at another checkout (a study run from a separate worktree)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
CFG=conf/tune/open_ended.yaml
RUNS=multirun/tune/open_ended/runs
RES=experiments/open_ended/results
mkdir -p multirun/tune/open_ended
python scripts/tune.py $CFG 'methods=[alpha,greedy,temperature,top_p,typical,eta,edt,entropix]' \
    results_dir=multirun/tune/open_ended/stream_a > multirun/tune/open_ended/stream_a.log 2>&1 &
python scripts/tune.py $CFG 'methods=[alpha_seed,pure,top_k,min_p,epsilon,dynatemp,alpha_lexical]' \
    results_dir=multirun/tune/open_ended/stream_b > multirun/tune/open_ended/stream_b.log 2>&1 &
wait
python scripts/tune.py $CFG results_dir=$RES     # every method finished: assembles
python scripts/make_tables.py $RUNS/test --by sampler.name --reference top_p \
    --metrics mauve,coherence,oracle_perplexity,perplexity,diversity,rep_4,self_bleu,mean_length,tokens_per_s \
    --diff-metrics coherence,oracle_perplexity,perplexity,rep_4,diversity \
    --trials $RES/trials.csv --out $RES/paired   # MAUVE has no per-prompt values: no paired CI
# cost under one load: every winner against tuned top_p, alternately in one process (the runs'
# own tokens/s saw whatever else the box was running)
python scripts/bench/bench_study_costs.py --winners $RES/winners.yaml --out $RES/costs
