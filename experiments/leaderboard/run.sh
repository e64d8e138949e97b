#!/usr/bin/env bash
# The leaderboard (issue 25): every sampler tuned with the same budget on dev, all winners on 128
# test passages, the confirmatory methods (chosen from dev before any test run) on 512, and their
# tuning repeated under two more tuning seeds, and every dev trial once on test (frontiers drawn
# on test, not on the data that chose them). One command, resumable (finished dev sweeps and
# test runs are reused; an interrupted run skips its finished prompts):
#   bash experiments/leaderboard/run.sh
# Two single-thread streams per stage (a 2-core machine).
# STAGES=dev,choose,test,confirm,seeds,trials,human,collect,tables runs a subset. Order of what
# to drop if it runs long (issue 25): the tuning seeds first.
set -euo pipefail
cd "$(dirname "$0")/../.."
# this checkout's alpha (and ROOT, where run folders land), even where an editable install
# points at another checkout (a study run from a separate worktree)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
CFG=conf/tune/leaderboard.yaml
OUT=multirun/tune/leaderboard
RES=experiments/leaderboard/results
STAGES=${STAGES:-dev,choose,test,confirm,seeds,trials,human,collect,tables}
mkdir -p $OUT $RES
A='methods=[alpha,greedy,temperature,top_p,typical,eta,edt,entropix,top_n_sigma,top_h,xtc,adaptive_p,top_p_rep]'
B='methods=[alpha_seed,pure,top_k,min_p,epsilon,dynatemp,alpha_lexical,p_less,quadratic,mirostat_v2,dry,min_p_rep,contrastive]'
has() { [[ ",$STAGES," == *",$1,"* ]]; }
# a fresh clone (or a session that starts without the run folders) resumes from the committed
# runs: each is unpacked into its run folder and reused (the tuner counts it as finished); only
# for the stages that read the run folders (the tables stage reads the committed runs themselves)
if has dev || has test || has confirm || has seeds || has trials || has human || has collect; then
    python scripts/collect_runs.py $OUT/runs experiments/leaderboard/runs --restore
    for s in 1 2; do
        python scripts/collect_runs.py multirun/tune/leaderboard_seed$s/runs \
            experiments/leaderboard/runs_seed$s --restore
    done
fi
streams() {  # streams EXTRA...: both halves of the methods, in parallel, then wait
    python scripts/tune.py $CFG "$A" "$@" results_dir=$OUT/stream_a > $OUT/stream_a.log 2>&1 &
    local pa=$!
    python scripts/tune.py $CFG "$B" "$@" results_dir=$OUT/stream_b > $OUT/stream_b.log 2>&1 &
    local pb=$!
    wait $pa; wait $pb
}
if has dev; then   # 1. dev trials, tuning seed 0, every method; then winners.yaml for all
    streams test=false
    python scripts/tune.py $CFG test=false results_dir=$RES
fi
if has choose; then   # 2. the confirmatory methods, from dev alone (written down)
    python experiments/leaderboard/choose.py $RES/winners.yaml --out $RES/confirmatory.yaml
fi
CONF_METHODS=$(python -c "import yaml; print('[' + ','.join(yaml.safe_load(open('$RES/confirmatory.yaml'))['confirmatory']) + ']')" 2>/dev/null || echo "")
if has test; then   # 3. every winner on 128 test passages x 3 seeds (exploratory)
    streams
    python scripts/tune.py $CFG results_dir=$RES
fi
if has confirm && [[ -n "$CONF_METHODS" ]]; then   # 4. the confirmatory methods on 512
    # two streams (alternate methods), then one call that reuses their runs for the table
    read -r CA CB < <(python -c "import yaml; m = yaml.safe_load(open('$RES/confirmatory.yaml'))['confirmatory']; print('[' + ','.join(m[0::2]) + ']', '[' + ','.join(m[1::2]) + ']')")
    C512=(test_dir=test512 'extra_overrides=[num_prompts=512]')
    python scripts/tune.py $CFG "methods=$CA" "${C512[@]}" results_dir=$OUT/confirm_a \
        > $OUT/confirm_a.log 2>&1 &
    pa=$!
    python scripts/tune.py $CFG "methods=$CB" "${C512[@]}" results_dir=$OUT/confirm_b \
        > $OUT/confirm_b.log 2>&1 &
    pb=$!
    wait $pa; wait $pb
    python scripts/tune.py $CFG "methods=$CONF_METHODS" "${C512[@]}" \
        results_dir=$RES/confirmatory > $OUT/confirm.log 2>&1
fi
if has seeds && [[ -n "$CONF_METHODS" ]]; then   # 5. tuning repeated under tuning seeds 1, 2
    for s in 1 2; do
        python scripts/tune.py $CFG "methods=$CONF_METHODS" sampler_seed=$s test=false \
            out_dir=multirun/tune/leaderboard_seed$s/runs results_dir=$RES/tuning_seed$s \
            > $OUT/seed$s.log 2>&1 &
    done
    wait
fi
if has trials; then   # 6. every dev trial once on 48 test passages: frontiers on test
    streams test=false trials_on_test=true test_dir=test_trials
fi
if has human; then   # 7. human text scored as a generation, once per test split (same passages)
    for split in test test512 test_trials; do   # a split already scored (in any of its runs) is skipped
        [[ -n "$(find $OUT/runs/$split -name human_metrics.json 2>/dev/null | head -1)" ]] && continue
        first=$(find $OUT/runs/$split -name metrics.json 2>/dev/null | sort | head -1)
        if [[ -n "$first" ]]; then python scripts/score_human.py "$(dirname "$first")"; fi
    done
fi
if has collect; then   # 8. every finished run's raw generations into the repository
    python scripts/collect_runs.py $OUT/runs experiments/leaderboard/runs
    for s in 1 2; do
        [[ -d multirun/tune/leaderboard_seed$s/runs ]] && python scripts/collect_runs.py \
            multirun/tune/leaderboard_seed$s/runs experiments/leaderboard/runs_seed$s
    done
fi
if has tables; then   # 9. every table, figure and the study-wide Holm from the collected runs
    bash experiments/leaderboard/tables.sh experiments/leaderboard/runs $RES
fi
