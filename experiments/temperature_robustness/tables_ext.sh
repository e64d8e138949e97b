#!/usr/bin/env bash
# Study 2 extended's tables from its committed runs alone (seconds; no model, no generation):
#   bash experiments/temperature_robustness/tables_ext.sh                 # runs/ -> results_ext/
#   bash experiments/temperature_robustness/tables_ext.sh RUNS OUT        # another pair of folders
# paired CIs against greedy (make_tables.py: table*), the min-p paper's shape with the adaptive
# sampler against each method at each T and the realised temperatures (summarise.py: summary*),
# and Holm over every one of those tests together (holm_correct.py: diff_holm.csv), drawn as
# separability.png (plot_holm.py), and which of Study 2's own cells the re-run reproduces
# (same_cells.py: same_as_study2.txt). The last step
# of run_extended.sh; the cost table (costs.*) is its own measurement (README).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # this checkout's alpha (see run.sh)
RUNS=${1:-experiments/temperature_robustness/runs}
OUT=${2:-experiments/temperature_robustness/results_ext}
if [[ ! -d "$RUNS/greedy" ]]; then
    echo "tables_ext: $RUNS has no greedy/ run (the reference of every paired test); collect the study's runs first (README)" >&2
    exit 2
fi
mkdir -p "$OUT"
python scripts/make_tables.py "$RUNS"/* --reference greedy \
    --metrics gsm8k_strict,gsm8k_flexible,accuracy,mean_length,eos_rate,tokens_per_s \
    --out "$OUT/table"
rm -f "$OUT/summary_diff.csv"   # a stale one (an earlier run's) must not enter the Holm family
python experiments/temperature_robustness/summarise.py "$RUNS" --out "$OUT/summary"
# one Holm family over every paired test above (vs greedy, and alpha vs each method at each T;
# summary_diff.csv exists once the adaptive sampler's runs do)
family=("$OUT/table_diff.csv")
if [[ -f "$OUT/summary_diff.csv" ]]; then family=("$OUT/summary_diff.csv" "${family[@]}"); fi
python scripts/holm_correct.py "${family[@]}" --out "$OUT/diff_holm.csv"
# which of those differences survive, per method and T (accuracy, strict)
python experiments/temperature_robustness/plot_holm.py "$OUT/diff_holm.csv" --out "$OUT/separability.png"
# does the re-run reproduce Study 2's own cells (same seeds, same problems)?
python experiments/temperature_robustness/same_cells.py \
    experiments/temperature_robustness/results/summary.csv "$OUT/summary.csv" > "$OUT/same_as_study2.txt"
