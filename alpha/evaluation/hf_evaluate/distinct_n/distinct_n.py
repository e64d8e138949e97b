"""distinct-1..4 as an `evaluate` module (corpus variant: distinct n-grams of the whole set /
total n-grams, whitespace tokens; Li et al. 2016).

    >>> evaluate.load("alpha/evaluation/hf_evaluate/distinct_n").compute(predictions=["a b a b", "a c"])["distinct_1"]
    0.5

A thin wrapper over `alpha.evaluation.evaluate_records`; definitions in docs/metrics.md.
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = "distinct-n = |distinct n-grams over all texts| / |n-grams over all texts|."
_KWARGS = """Args:
    predictions (list of str): generated texts.
Returns:
    dict with distinct_1 .. distinct_4 (None when there is no n-gram).
"""
_CITATION = """@inproceedings{li2016diversity, title={A Diversity-Promoting Objective Function for
Neural Conversation Models}, author={Li, Jiwei and others}, booktitle={NAACL}, year={2016}}"""
NAMES = ["distinct_1", "distinct_2", "distinct_3", "distinct_4"]


class DistinctN(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string")}))

    def _compute(self, predictions):
        report = evaluate_records([{"prompt": "", "text": t} for t in predictions], metrics=NAMES,
                                  options={"bootstrap_samples": 0})
        return {name: report.aggregates[name]["mean"] for name in NAMES}
