"""Repetition metrics as an `evaluate` module: SimCTG rep-2/3/4 and diversity, Welleck seq-rep-n.

    >>> import evaluate
    >>> rep = evaluate.load("alpha/evaluation/hf_evaluate/repetition")   # a local path: works offline
    >>> rep.compute(predictions=["a b a b a", "c d e f"])["rep_2"]
    28.57...

Definitions: docs/metrics.md. A thin wrapper over `alpha.evaluation.evaluate_records`.
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = """rep-n = 100 * (1 - sum of per-text unique n-grams / sum of total n-grams) over
whitespace tokens (Su et al. 2022); diversity = prod_n (1 - rep-n/100); seq-rep-n = per-text
1 - unique/total n-grams, averaged (Welleck et al. 2019). simctg_compat=True reproduces the
SimCTG code (drops each text's last n-gram, rounds rep-n to 2 decimals)."""
_KWARGS = """Args:
    predictions (list of str): generated continuations.
    simctg_compat (bool): SimCTG reference-code behaviour (default False).
Returns:
    dict with rep_2, rep_3, rep_4, diversity, seq_rep_2, seq_rep_3, seq_rep_4 (None if undefined).
"""
_CITATION = """@inproceedings{su2022contrastive, title={A Contrastive Framework for Neural Text
Generation}, author={Su, Yixuan and others}, booktitle={NeurIPS}, year={2022}}"""
NAMES = ["rep_2", "rep_3", "rep_4", "diversity", "seq_rep_2", "seq_rep_3", "seq_rep_4"]


class Repetition(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string")}))

    def _compute(self, predictions, simctg_compat=False):
        report = evaluate_records([{"prompt": "", "text": t} for t in predictions],
                                  metrics=NAMES, options={"simctg_compat": simctg_compat,
                                                          "bootstrap_samples": 0})
        return {name: report.aggregates[name]["mean"] for name in NAMES}
