#!/usr/bin/env bash
# Every leaderboard table and figure from collected runs alone (issue 25), so each CI in the
# repository is recomputed by one command:
#   bash experiments/leaderboard/tables.sh                      # runs/ -> results/
#   bash experiments/leaderboard/tables.sh RUNS RESULTS         # any collected tuning study
# RUNS holds dev/<method>/<trial>, test/<method>/seed<k> and, after the confirmatory stage,
# test512/<method>/seed<k> (scripts/collect_runs.py); RESULTS holds the tuner's trials.csv.
# Writes, per test split (test -> RESULTS/test_*, test512 -> RESULTS/confirmatory_*): the table
# (mean ± std over seeds), paired per-prompt differences against top_p, the separability table
# (every pair, Holm over all its tests), the distance to human text where the split's human
# continuations were scored (scripts/score_human.py; run.sh's human stage) with every pair's
# paired test of which sits nearer human text (OUT_human_pairs; in the Holm family), and the
# quality-diversity frontier of the winners' seeds; from dev: every trial as a point of the
# frontier (RESULTS/dev_frontier.*) and the budget curves (RESULTS/test_budget.*); every dev
# trial re-run on test, where run.sh's trials stage made them (RESULTS/test_trials_frontier.*),
# and each trial's dev point against its test point (frontier_shift.py: RESULTS/frontier_shift.*).
# Last, one Holm correction over every pair test of every split together (RESULTS/holm.csv): the family
# the README's claims are read from, drawn per split (RESULTS/*_separability.png); and the
# winner's curse (winners_curse.py: dev vs test rank correlation, the spread of each method's
# dev best over tuning seeds).
# METRICS (table columns), PER_PROMPT (paired, separability, human) and TRIAL_METRICS (the
# test_trials table) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's alpha
RUNS=${1:-experiments/leaderboard/runs}
RES=${2:-experiments/leaderboard/results}
METRICS=${METRICS:-mauve,coherence,oracle_perplexity,perplexity,diversity,rep_4,self_bleu,mean_length,tokens_per_s}
PER_PROMPT=${PER_PROMPT:-coherence,oracle_perplexity,perplexity,rep_4,diversity}
FRONTIER=${FRONTIER:-diversity,coherence}
TRIAL_METRICS=${TRIAL_METRICS:-coherence,diversity,rep_4,perplexity,mean_length}  # test_trials' table
mkdir -p "$RES"
tables() {  # tables SPLIT_DIR OUT EXTRA...: one split's tables and figures
    local split=$1 out=$2; shift 2
    local human=()
    if [[ -n "$(find "$split" -name human_metrics.json -print -quit)" ]]; then
        human=(--human "$PER_PROMPT")
    fi
    python scripts/make_tables.py "$split" --by sampler.name --metrics "$METRICS" \
        --reference top_p --diff-metrics "$PER_PROMPT" --separability "$PER_PROMPT" \
        "${human[@]}" --frontier "$FRONTIER" --out "$out" "$@"
}
tables "$RUNS/test" "$RES/test" --trials "$RES/trials.csv"
family=("$RES/test_separability.csv")
if [[ -d "$RUNS/test512" ]]; then
    tables "$RUNS/test512" "$RES/confirmatory"
    family+=("$RES/confirmatory_separability.csv")
fi
# which of each pair sits nearer human text (written where the scoring kept per-prompt values)
for f in "$RES/test_human_pairs.csv" "$RES/confirmatory_human_pairs.csv"; do
    if [[ -f "$f" ]]; then family+=("$f"); fi
done
python scripts/holm_correct.py "${family[@]}" --out "$RES/holm.csv"
# the separability figures, each split with the study-wide Holm p
python scripts/plot_separability.py "$RES/holm.csv" --select test_separability \
    --out "$RES/test_separability.png" --title "Exploratory test (128 passages x 3 seeds)"
if [[ -d "$RUNS/test512" ]]; then
    python scripts/plot_separability.py "$RES/holm.csv" --select confirmatory_separability \
        --out "$RES/confirmatory_separability.png" \
        --title "Confirmatory test (512 passages x 3 seeds)"
fi
python experiments/leaderboard/winners_curse.py "$RES"   # dev vs test, tuning-seed spread
# every dev trial once on test (run.sh's trials stage): the quality-diversity frontier drawn on
# test from every tuned setting (the table: each method's mean ± std over its trials)
if [[ -d "$RUNS/test_trials" ]]; then
    python scripts/make_tables.py "$RUNS/test_trials" --by sampler.name \
        --metrics "$TRIAL_METRICS" --frontier "$FRONTIER" \
        --out "$RES/test_trials"
fi
python scripts/make_tables.py "$RUNS/dev" --by sampler.name --metrics "$METRICS" \
    --frontier "$FRONTIER" --out "$RES/dev"
if [[ -d "$RUNS/test_trials" ]]; then   # does the dev frontier hold on test? (same trials)
    python experiments/leaderboard/frontier_shift.py "$RES"
fi
