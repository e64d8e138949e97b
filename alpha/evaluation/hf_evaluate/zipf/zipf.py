"""Zipf coefficient as an `evaluate` module: minus the least-squares slope of log count on
log rank over the top_n most frequent whitespace tokens (Holtzman et al. 2020).

    >>> evaluate.load("alpha/evaluation/hf_evaluate/zipf").compute(predictions=["the cat the dog the end"])
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = "Zipf coefficient s of the pooled word frequency distribution (human text ~1)."
_KWARGS = """Args:
    predictions (list of str): generated texts.
    top_n (int): fit over this many most frequent words (5000).
Returns:
    dict with zipf (None with fewer than 2 distinct words).
"""
_CITATION = """@inproceedings{holtzman2020curious, title={The Curious Case of Neural Text
Degeneration}, author={Holtzman, Ari and others}, booktitle={ICLR}, year={2020}}"""


class Zipf(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string")}))

    def _compute(self, predictions, top_n=5000):
        report = evaluate_records([{"prompt": "", "text": t} for t in predictions],
                                  metrics=["zipf"], options={"zipf_top_n": top_n})
        return {"zipf": report.aggregates["zipf"]["mean"]}
