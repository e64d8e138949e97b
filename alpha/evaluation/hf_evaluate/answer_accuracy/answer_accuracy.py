"""Task accuracy as an `evaluate` module: the answer extracted from each generation (the number
after GSM8K's '####', else the last number) matched exactly against the normalised reference.

    >>> evaluate.load("alpha/evaluation/hf_evaluate/answer_accuracy").compute(
    ...     predictions=["so it is 72"], references=["... #### 72"])
    {'accuracy': 1.0, 'n': 1, 'note': ''}
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = "Exact match of extracted numeric answers (GSM8K '#### N', last-number fallback)."
_KWARGS = """Args:
    predictions (list of str): generations.
    references (list of str): gold answers (a GSM8K solution or a bare answer).
Returns:
    dict with accuracy, n and note (how many generations had no extractable answer).
"""
_CITATION = """@article{cobbe2021gsm8k, title={Training Verifiers to Solve Math Word Problems},
author={Cobbe, Karl and others}, journal={arXiv:2110.14168}, year={2021}}"""


class AnswerAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        records = [{"prompt": "", "text": t, "answer": a}
                   for t, a in zip(predictions, references, strict=True)]
        report = evaluate_records(records, metrics=["accuracy"],
                                  options={"bootstrap_samples": 0})
        agg = report.aggregates["accuracy"]
        return {"accuracy": agg["mean"], "n": agg["n"], "note": agg["note"]}
