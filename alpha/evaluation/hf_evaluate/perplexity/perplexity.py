"""Continuation perplexity given a prompt, as an `evaluate` module that loads a LOCAL model.

exp(mean NLL of the continuation tokens given the prompt), equal to exp of transformers' own
loss with labels=-100 on the prompt; batched with right padding. (The Hub's `perplexity`
module downloads its code and scores whole texts without a prompt.)

    >>> ppl = evaluate.load("alpha/evaluation/hf_evaluate/perplexity")
    >>> ppl.compute(predictions=[" sat on the mat"], prompts=["The cat"],
    ...             model_path="models/tiny-shakespeare")
"""

import datasets
import evaluate

from alpha.evaluation import evaluate_records

_DESCRIPTION = "Perplexity of each continuation given its prompt under a causal LM."
_KWARGS = """Args:
    predictions (list of str): continuations.
    prompts (list of str): their prompts (default: empty prompts; BOS is used when available).
    model_path (str): a local save_pretrained folder (model + tokenizer).
    batch_size (int): rows per forward pass (16).
    device (str): "cpu" (default) or "cuda".
Returns:
    dict with perplexities (per text, None when nothing to score) and mean_perplexity.
"""
_CITATION = ""


class Perplexity(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation=_CITATION, inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string")}))

    def _compute(self, predictions, model_path, prompts=None, batch_size=16, device="cpu"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(model_path).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(model_path)
        prompts = prompts if prompts is not None else [""] * len(predictions)
        if len(prompts) != len(predictions):
            raise ValueError(f"prompts has {len(prompts)} entries, predictions "
                             f"{len(predictions)}: give one prompt per prediction")
        records = [{"prompt": p, "text": t} for p, t in zip(prompts, predictions, strict=True)]
        report = evaluate_records(records, metrics=["perplexity"], model=model,
                                  tokenizer=tokenizer,
                                  options={"batch_size": batch_size, "bootstrap_samples": 0})
        return {"perplexities": [r["perplexity"] for r in report.per_prompt],
                "mean_perplexity": report.aggregates["perplexity"]["mean"]}
