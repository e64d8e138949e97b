"""Every alpha/evaluation/hf_evaluate/<name> folder loads offline with evaluate.load(<local path>) and computes.

Values are checked against hand-computed numbers or the library's reference functions; the
model-based modules run on a tiny saved model / the bundled MiniLM.
Bad inputs tried: prompts misaligned with predictions (clear ValueError).
"""

import math
import os

import evaluate
import pytest
import torch
from conftest import ROOT, make_tiny_model

from alpha.evaluation.hf_evaluate import module_path

MODULES = ["repetition", "distinct_n", "self_bleu", "zipf", "perplexity", "coherence",
           "mauve_score", "answer_accuracy"]


def load(name):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    return evaluate.load(module_path(name))


def test_text_modules_offline():
    rep = load("repetition").compute(predictions=["a b a b a", "c d e f"])
    assert rep["rep_2"] == pytest.approx(100 * (1 - 5 / 7))  # (2 + 3) unique of (4 + 3)
    assert load("distinct_n").compute(predictions=["a b a b", "a c"])["distinct_1"] == 0.5
    sb = load("self_bleu").compute(predictions=["a b c d e", "a b c d e"])
    assert sb["self_bleu"] == pytest.approx(1.0) and sb["n"] == 2
    assert load("self_bleu").compute(predictions=["alone"])["self_bleu"] is None
    counts = {f"w{r}": round(1000 / r) for r in range(1, 30)}
    text = " ".join(w for w, c in counts.items() for _ in range(c))
    assert load("zipf").compute(predictions=[text])["zipf"] == pytest.approx(1.0, abs=0.01)
    acc = load("answer_accuracy").compute(predictions=["so 72", "no idea"],
                                          references=["#### 72", "#### 5"])
    assert acc["accuracy"] == 0.5 and "1 generations had no extractable answer" in acc["note"]


def test_perplexity_module_matches_transformers_loss(tmp_path, tiny_tokenizer):
    model = make_tiny_model("qwen2")
    model.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    out = load("perplexity").compute(predictions=[" sat on the mat"], prompts=["The cat"],
                                     model_path=str(tmp_path))
    ctx = tiny_tokenizer("The cat")["input_ids"]
    ids = torch.tensor([ctx + tiny_tokenizer(" sat on the mat", add_special_tokens=False)
                        ["input_ids"]])
    labels = ids.clone()
    labels[0, :len(ctx)] = -100
    with torch.no_grad():
        want = math.exp(model(input_ids=ids, labels=labels).loss.item())
    assert out["perplexities"][0] == pytest.approx(want, rel=1e-4)
    with pytest.raises(ValueError, match="prompts has 2 entries"):
        load("perplexity").compute(predictions=["a"], prompts=["x", "y"],
                                   model_path=str(tmp_path))


def test_embedding_modules_offline():
    coh = load("coherence").compute(predictions=[" is sunny.", ""],
                                    prompts=["The weather today", "Empty"])
    assert -1 <= coh["coherences"][0] <= 1 and coh["coherences"][1] is None
    out = load("mauve_score").compute(predictions=["one text"], references=["a reference"])
    assert out["mauve"] is None and "needs >= 2" in out["note"]


def test_every_module_folder_is_tested_and_loads():
    folder = ROOT / "alpha" / "evaluation" / "hf_evaluate"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()
                  and not p.name.startswith((".", "_"))) == sorted(MODULES)
    for name in MODULES:
        assert isinstance(load(name), evaluate.Metric)
