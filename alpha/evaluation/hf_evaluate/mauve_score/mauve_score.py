"""MAUVE as an `evaluate` module that works offline (the Hub's `mauve` module downloads code and
featurises with gpt2-large): features from the bundled all-MiniLM-L6-v2 (or a
sentence-transformers folder), then `mauve.compute_mauve(p_features=..., q_features=...)`.

    >>> evaluate.load("alpha/evaluation/hf_evaluate/mauve_score").compute(predictions=gens, references=refs)
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = "MAUVE between generations (p) and human references (q), mauve-text package."
_KWARGS = """Args:
    predictions (list of str): generations.
    references (list of str): reference continuations (aligned; None/empty ones are skipped).
    feature_model (str): "minilm" or a sentence-transformers folder.
    num_buckets ("auto" or int), scaling_factor (float, 5), seed (int).
Returns:
    dict with mauve (None when undefined) and note (samples used, or why undefined).
"""
_CITATION = """@inproceedings{pillutla2021mauve, title={MAUVE: Measuring the Gap Between Neural
Text and Human Text}, author={Pillutla, Krishna and others}, booktitle={NeurIPS}, year={2021}}"""


class MauveScore(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}))

    def _compute(self, predictions, references, feature_model="minilm", num_buckets="auto",
                 scaling_factor=5.0, seed=25):
        records = [{"prompt": "", "text": t, "reference": r}
                   for t, r in zip(predictions, references, strict=True)]
        report = evaluate_records(records, metrics=["mauve"], seed=seed, options={
            "mauve_feature_model": feature_model, "mauve_num_buckets": num_buckets,
            "mauve_scaling_factor": scaling_factor})
        agg = report.aggregates["mauve"]
        return {"mauve": agg["mean"], "note": agg["note"]}
