"""Perplexity from the log-probs kept while generating equals transformers' own loss.

Independent reference: `model(input_ids=prompt + generated, labels=...)` with `labels=-100` on
the prompt, one unpadded row at a time, prompt ids tokenised in the test. Ours: the engine's
`token_logprobs` (left-padded batch, KV cache, rows pruned as they finish) turned into
`perplexity` by `evaluate_records(..., perplexity_source="generation")`.
Cases: greedy and two sampled runs (the adaptive sampler with attention, top-p), prompts of
different lengths in one batch (left padding), a row that stops at EOS while the others go on;
the old re-scoring path on text that re-tokenises exactly; records without token_logprobs.
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import make_tiny_model

from alpha import build_sampler
from alpha.evaluation import evaluate_records
from alpha.generation import generate
from alpha.protocol import SamplerStep

PROMPTS = ["Once upon a time there was", "The", "A longer prompt with several more words in it"]
EOS = 0  # make_tiny_model's eos_token_id (the tiny tokenizer's <|endoftext|>)


def hf_perplexity(model, prompt_ids: list[int], scored: list[int]) -> float:
    """exp(transformers' mean loss over `scored` given `prompt_ids`)."""
    ids = torch.tensor([prompt_ids + scored])
    labels = ids.clone()
    labels[0, :len(prompt_ids)] = -100
    with torch.no_grad():
        return math.exp(model(input_ids=ids, labels=labels).loss.item())


def _records(prompts, res) -> list[dict]:
    return [{"prompt": p, "text": t, "token_ids": ids, "token_logprobs": lp, "finish_reason": r}
            for p, t, ids, lp, r in zip(prompts, res.texts, res.token_ids, res.token_logprobs,
                                        res.finish_reasons, strict=True)]


def _generation_ppl(records) -> list[float | None]:
    report = evaluate_records(records, metrics=["perplexity"],
                              options={"perplexity_source": "generation", "bootstrap_samples": 0})
    return [r["perplexity"] for r in report.per_prompt]


class ScriptedSampler:
    """Emits a fixed token script per row (a row's script may end with EOS): the sampler does
    not matter for the raw-logit log-probs, and a script makes EOS and the text certain."""

    needs_attention = False

    def __init__(self, scripts: list[list[int]]):
        self.scripts = scripts

    def reset(self, batch_size: int) -> None:
        self.rows, self.step_no = list(range(batch_size)), 0

    def select_rows(self, index: torch.Tensor) -> None:
        self.rows = [self.rows[i] for i in index.tolist()]

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        tokens = torch.tensor([self.scripts[r][self.step_no] for r in self.rows])
        self.step_no += 1
        return SamplerStep(tokens=tokens)


@pytest.mark.parametrize("name", ["greedy", "alpha", "top_p"])
def test_generation_perplexity_equals_transformers_loss(name, tiny_tokenizer):
    model = make_tiny_model("qwen2")
    res = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler(name),
                   max_new_tokens=8, seed=1)
    lengths = {len(tiny_tokenizer(p)["input_ids"]) for p in PROMPTS}
    assert len(lengths) == len(PROMPTS)  # different prompt lengths: the batch is left-padded
    got = _generation_ppl(_records(PROMPTS, res))
    for i, p in enumerate(PROMPTS):
        ids = res.token_ids[i]
        assert len(res.token_logprobs[i]) == len(ids) > 0
        scored = ids[:-1] if res.finish_reasons[i] == "eos" else ids
        want = hf_perplexity(model, tiny_tokenizer(p)["input_ids"], scored)
        assert got[i] == pytest.approx(want, rel=1e-4)


def test_a_row_that_stops_at_eos_scores_its_tokens_before_eos(tiny_tokenizer):
    model = make_tiny_model("llama", seed=2)
    scripts = [[5, 9, 33, 7, 8, 21], [5, 9, EOS], [40, 41, 42, 43, 44, 45]]
    res = generate(model, tiny_tokenizer, PROMPTS, sampler=ScriptedSampler(scripts),
                   max_new_tokens=6)
    assert res.finish_reasons == ["length", "eos", "length"]
    assert res.token_ids == [scripts[0], scripts[1], scripts[2]]  # EOS kept in the ids
    assert [len(lp) for lp in res.token_logprobs] == [6, 3, 6]
    got = _generation_ppl(_records(PROMPTS, res))
    for i, p in enumerate(PROMPTS):
        scored = [t for t in scripts[i] if t != EOS]
        assert got[i] == pytest.approx(hf_perplexity(model, tiny_tokenizer(p)["input_ids"],
                                                     scored), rel=1e-4)
    # the EOS token's own log-prob is recorded too (aligned with token_ids), only not scored
    ids = torch.tensor([tiny_tokenizer(PROMPTS[1])["input_ids"] + scripts[1]])
    with torch.no_grad():
        logp = model(input_ids=ids).logits[0, -2].log_softmax(-1)[EOS].item()
    assert res.token_logprobs[1][-1] == pytest.approx(logp, abs=1e-4)


def test_rescore_and_generation_agree_when_text_retokenises_exactly(tiny_tokenizer):
    model = make_tiny_model("gpt2", seed=4)
    texts = [" the cat sat on the mat", " and then the king", " of the night"]
    scripts = [tiny_tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    scripts[1:] = [s + [EOS] for s in scripts[1:]]  # rescore never sees EOS (not in the text)
    assert all(len(s) < len(scripts[0]) for s in scripts[1:])  # they stop before row 0 ends
    res = generate(model, tiny_tokenizer, PROMPTS, sampler=ScriptedSampler(scripts),
                   max_new_tokens=len(scripts[0]))
    records = _records(PROMPTS, res)
    for i, rec in enumerate(records):  # the precondition: decode -> encode gives the same ids
        again = tiny_tokenizer(rec["prompt"])["input_ids"] + tiny_tokenizer(
            rec["text"], add_special_tokens=False)["input_ids"]
        real = [t for t in rec["token_ids"] if t != EOS]
        assert again == tiny_tokenizer(PROMPTS[i])["input_ids"] + real
    rescore = evaluate_records(records, metrics=["perplexity"], model=model,
                               tokenizer=tiny_tokenizer, options={"bootstrap_samples": 0})
    got = _generation_ppl(records)
    assert res.finish_reasons == ["length", "eos", "eos"] and res.texts == texts
    assert got == pytest.approx([r["perplexity"] for r in rescore.per_prompt], rel=1e-4)
    assert "source=rescore" in rescore.aggregates["perplexity"]["note"]


def test_records_without_token_logprobs_name_the_fix_in_one_line():
    old = [{"prompt": "a", "text": " b", "token_ids": [3], "finish_reason": "length"},
           {"prompt": "c", "text": " d", "token_ids": [4], "finish_reason": "length"}]
    with pytest.raises(ValueError) as err:
        evaluate_records(old, metrics=["rep_2", "perplexity"],
                         options={"perplexity_source": "generation"})
    msg = str(err.value)
    assert "\n" not in msg and "evaluation.options.perplexity_source=rescore" in msg
    assert msg.startswith("records[0] (and 1 more of 2) have no token_logprobs")
    bad = [{"prompt": "a", "text": " b", "token_ids": [3, 4], "token_logprobs": [-1.0]}]
    with pytest.raises(ValueError, match=r"token_logprobs has 1 values for 2 token_ids"):
        evaluate_records(bad, metrics=["perplexity"], options={"perplexity_source": "generation"})
    with pytest.raises(ValueError, match=r"perplexity_source='model'.*'rescore', 'generation'"):
        evaluate_records(old, metrics=["perplexity"], options={"perplexity_source": "model"})
    with pytest.raises(ValueError, match="needs the generating model"):  # rescore runs the model
        evaluate_records(old, metrics=["perplexity"])


def test_recording_can_be_turned_off_and_does_not_change_the_tokens(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    on = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("top_p"),
                  max_new_tokens=6, seed=3)
    off = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("top_p"),
                   max_new_tokens=6, seed=3, record_logprobs=False)
    assert off.token_logprobs is None and off.token_ids == on.token_ids


def test_bench_perplexity_script_runs_offline_on_the_tiny_model():
    """Smoke run of scripts/bench/bench_perplexity.py (its figures live in docs/performance.md)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("bench_ppl", ROOT / "scripts" / "bench" / "bench_perplexity.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--model", "tiny", "--data", "heldout", "--prompts", "4", "--tokens", "4",
                      "--batch", "4", "--repeats", "1"])
    assert out["generation_ratio"] > 0 and out["eval_ratio"] > 0
    assert any(out["exact"])  # rows whose text re-tokenises to the ids: both sources agree
    assert max(r for r, k in zip(out["rel_diff"], out["exact"], strict=True) if k) < 1e-4
