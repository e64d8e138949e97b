"""Self-BLEU as an `evaluate` module, offline (the Hub's `bleu` module needs the network).

BLEU of each generation against all the others (sacrebleu statistics, whitespace tokens, floor
smoothing 0.1 = nltk method1, effective order), averaged; 0-1 scale; None below 2 texts.

    >>> evaluate.load("alpha/evaluation/hf_evaluate/self_bleu").compute(predictions=["a b c d", "a b c d"])
    {'self_bleu': 1.0, 'n': 2, 'note': '...'}
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = "Self-BLEU (Zhu et al. 2018): mean BLEU-4 of each text against the other texts."
_KWARGS = """Args:
    predictions (list of str): generated texts.
    max_samples (int): seeded random subset size above which texts are subsampled (1000).
    max_order (int): BLEU n-gram order (4).
    seed (int): subsampling seed.
Returns:
    dict with self_bleu (0-1 or None), n (texts used) and note.
"""
_CITATION = """@inproceedings{zhu2018texygen, title={Texygen: A Benchmarking Platform for Text
Generation Models}, author={Zhu, Yaoming and others}, booktitle={SIGIR}, year={2018}}"""


class SelfBleu(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string")}))

    def _compute(self, predictions, max_samples=1000, max_order=4, seed=0):
        report = evaluate_records(
            [{"prompt": "", "text": t} for t in predictions], metrics=["self_bleu"], seed=seed,
            options={"self_bleu_max_samples": max_samples, "self_bleu_order": max_order,
                     "bootstrap_samples": 0})
        agg = report.aggregates["self_bleu"]
        return {"self_bleu": agg["mean"], "n": agg["n"], "note": agg["note"]}
