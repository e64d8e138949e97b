"""The decode loop vs independent references: eager no-cache forwards of each row alone
(logits, attention row and ids the sampler sees), HF `generate` for greedy decoding, and
batch-of-1 vs batch-of-8 equality of texts.

Bad inputs tried: [] and a bare string as prompts, "" and "  \n" prompts, max_new_tokens 0,
-1, 1.5 and >= context, batch_size 0, a prompt longer than the context (left truncation with a
warning), a tokenizer without pad token (EOS + warning), a tokenizer larger than the model's
embedding, prompt_indices of the wrong length, sampler and sampler_config together, a
streamer with two prompts, chat_template=True on a tokenizer without a template.
"""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import make_tiny_model
from transformers import TopKLogitsWarper

from alpha.generation import generate, row_seed
from alpha.protocol import TRACE_KEYS, SamplerStep
from alpha.registry import build_sampler

PROMPTS = ["hello world", "a", "the quick brown fox jumps", "To be, or not to be",
           "once", "upon a time there", "x y z", "Shakespeare wrote"]


class TopKSampler:
    """A protocol sampler built on HF's TopKLogitsWarper that records what it was given."""

    needs_attention = True

    def __init__(self, k: int = 20):
        self.warper = TopKLogitsWarper(k)

    def reset(self, batch_size):
        self.rows = list(range(batch_size))
        self.log = {i: [] for i in range(batch_size)}
        self.sizes = []

    def select_rows(self, index):
        self.rows = [self.rows[i] for i in index.tolist()]

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        assert logits.dtype == torch.float32
        self.sizes.append(len(logits))
        probs = torch.softmax(self.warper(input_ids, logits), -1)
        tokens = torch.cat([torch.multinomial(probs[i], 1, generator=g)
                            for i, g in enumerate(generators)])
        for j, r in enumerate(self.rows):
            keep = key_mask[j]
            self.log[r].append((logits[j], attention[j][:, keep], input_ids[j][keep]))
        return SamplerStep(tokens, {"top_k": torch.full((len(tokens),), 20.0),
                                    "row": torch.tensor(self.rows, dtype=torch.float32)})


class ScriptSampler:
    """Emits a fixed token script per row (ignores the logits)."""

    needs_attention = False

    def __init__(self, scripts):
        self.scripts = scripts

    def reset(self, batch_size):
        self.rows, self.t, self.sizes = list(range(batch_size)), 0, []

    def select_rows(self, index):
        self.rows = [self.rows[i] for i in index.tolist()]

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        self.sizes.append(len(self.rows))
        tokens = torch.tensor([self.scripts[r][self.t] for r in self.rows])
        self.t += 1
        return SamplerStep(tokens, {})


class GreedySampler(ScriptSampler):
    def __init__(self):
        super().__init__(None)

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        return SamplerStep(logits.argmax(-1), {})


@pytest.mark.parametrize("arch", ["qwen2", "llama", "gpt2"])
def test_sampler_sees_what_eager_no_cache_forwards_give(arch, tiny_tokenizer):
    """Left padding + cache + position ids right: every step's logits and attention row equal
    an eager, unpadded, uncached forward of that row's prompt + generated tokens."""
    model, sampler = make_tiny_model(arch), TopKSampler()
    res = generate(model, tiny_tokenizer, PROMPTS[:3], sampler=sampler, max_new_tokens=6, seed=3)
    eager = make_tiny_model(arch, attn_implementation="eager")
    for row, steps in sampler.log.items():
        prompt = tiny_tokenizer(PROMPTS[row])["input_ids"]
        for t, (logits, att, ids) in enumerate(steps):
            assert ids.tolist() == prompt + res.token_ids[row][:t]
            with torch.no_grad():
                ref = eager(ids[None], output_attentions=True)
            torch.testing.assert_close(logits, ref.logits[0, -1], atol=1e-5, rtol=0)
            torch.testing.assert_close(att, ref.attentions[-1][0, :, -1], atol=1e-6, rtol=0)
    assert res.prompt_lengths == [len(tiny_tokenizer(p)["input_ids"]) for p in PROMPTS[:3]]


@pytest.mark.parametrize("arch", ["qwen2", "gpt2"])
def test_greedy_equals_hf_generate_with_left_padding(arch, tiny_tokenizer):
    model = make_tiny_model(arch)
    res = generate(model, tiny_tokenizer, PROMPTS[:4], sampler=GreedySampler(), max_new_tokens=8)
    enc = tiny_tokenizer(PROMPTS[:4], return_tensors="pt", padding=True)
    hf = model.generate(**enc, do_sample=False, max_new_tokens=8, min_new_tokens=8,
                        eos_token_id=None, pad_token_id=1)
    assert [r[-8:] for r in hf[:, enc["input_ids"].shape[1]:].tolist()] == res.token_ids


def test_batch_of_one_equals_batch_of_eight(tiny_tokenizer):
    """float32: a prompt's text does not depend on its batch (rows draw from their own
    generators seeded from (seed, prompt_index)); no tolerance was needed here."""
    model = make_tiny_model("qwen2")
    full = generate(model, tiny_tokenizer, PROMPTS, sampler=TopKSampler(), max_new_tokens=16,
                    seed=7)
    for i in (0, 3, 7):
        one = generate(model, tiny_tokenizer, [PROMPTS[i]], sampler=TopKSampler(),
                       max_new_tokens=16, seed=7, prompt_indices=[i])
        assert one.token_ids[0] == full.token_ids[i] and one.texts[0] == full.texts[i]
    again = generate(model, tiny_tokenizer, PROMPTS, sampler=TopKSampler(), max_new_tokens=16,
                     seed=7, batch_size=3)
    assert again.token_ids == full.token_ids
    other = generate(model, tiny_tokenizer, PROMPTS, sampler=TopKSampler(), max_new_tokens=16,
                     seed=8)
    assert other.token_ids != full.token_ids


def test_row_seed_is_a_pure_function_of_seed_and_index():
    assert row_seed(0, 1) == row_seed(0, 1)
    assert len({row_seed(s, i) for s in range(3) for i in range(50)}) == 150
    assert all(0 <= row_seed(s, i) < 2**63 for s in (0, -1, 10**12) for i in (0, 7))


def test_per_row_eos_from_a_list_prunes_finished_rows(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    model.generation_config.eos_token_id = [0, 3]
    scripts = [[50, 0, 9, 9, 9, 9], [60, 61, 62, 3, 9, 9], [70, 71, 72, 73, 74, 75]]
    sampler = ScriptSampler(scripts)
    res = generate(model, tiny_tokenizer, PROMPTS[:3], sampler=sampler, max_new_tokens=6)
    assert res.finish_reasons == ["eos", "eos", "length"]
    assert res.token_ids == [[50, 0], [60, 61, 62, 3], scripts[2]]
    assert sampler.sizes == [3, 3, 2, 2, 1, 1]  # finished rows stop contributing
    assert res.timing["generated_tokens"] == 12 and res.timing["tokens_per_s"] > 0
    res = generate(model, tiny_tokenizer, PROMPTS[:3], sampler=ScriptSampler(scripts),
                   max_new_tokens=6, ignore_eos=True)
    assert res.finish_reasons == ["length"] * 3 and res.token_ids == scripts


def test_stop_string_ends_a_row_and_cuts_the_text(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    stop_ids = tiny_tokenizer(" STOP here")["input_ids"]
    scripts = [tiny_tokenizer("ok")["input_ids"] + stop_ids + [9] * 20, [9] * 30]
    res = generate(model, tiny_tokenizer, ["STOP in prompt", "b"], sampler=ScriptSampler(scripts),
                   max_new_tokens=12, stop_strings=["STOP"])
    assert res.finish_reasons == ["stop", "length"]  # the prompt's own "STOP" does not count
    assert res.texts[0] == "ok "


def test_traces_have_one_value_per_generated_token(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    model.generation_config.eos_token_id = [0, 3]
    res = generate(model, tiny_tokenizer, PROMPTS[:4], sampler=TopKSampler(), max_new_tokens=10)
    for i, tr in enumerate(res.traces):
        assert sorted(tr) == ["row", "top_k"]
        assert len(tr["top_k"]) == len(res.token_ids[i]) and set(tr["row"]) == {float(i)}


def test_chat_template_is_applied(tiny_tokenizer):
    model = make_tiny_model("qwen2")
    res = generate(model, tiny_tokenizer, ["hi"], sampler=GreedySampler(), max_new_tokens=2,
                   chat_template=True)
    text = tiny_tokenizer.apply_chat_template([{"role": "user", "content": "hi"}],
                                              add_generation_prompt=True, tokenize=False)
    assert res.prompt_lengths == [len(tiny_tokenizer(text, add_special_tokens=False)["input_ids"])]
    bare = copy.deepcopy(tiny_tokenizer)
    bare.chat_template = None
    with pytest.warns(UserWarning, match="no chat template"):
        generate(model, bare, ["hi"], sampler=GreedySampler(), max_new_tokens=2,
                 chat_template=True)


def test_bf16_model_runs_and_sampler_gets_float32(tiny_tokenizer):
    model = make_tiny_model("llama").to(torch.bfloat16)
    res = generate(model, tiny_tokenizer, PROMPTS[:2], sampler=TopKSampler(), max_new_tokens=4)
    assert [len(t) for t in res.token_ids] == [4, 4]


@pytest.mark.parametrize("prompts,match", [([], "non-empty list"), ("hello", "non-empty list"),
                                           (["ok", ""], r"prompts\[1\]"),
                                           (["  \n"], r"prompts\[0\]")])
def test_bad_prompts(prompts, match, tiny_tokenizer):
    with pytest.raises(ValueError, match=match):
        generate(make_tiny_model(), tiny_tokenizer, prompts, sampler=GreedySampler())


@pytest.mark.parametrize("n", [0, -1, 1.5, True, 512])
def test_bad_max_new_tokens(n, tiny_tokenizer):
    with pytest.raises(ValueError, match="max_new_tokens="):
        generate(make_tiny_model(), tiny_tokenizer, ["hi"], sampler=GreedySampler(),
                 max_new_tokens=n)


def test_other_bad_arguments(tiny_tokenizer):
    model = make_tiny_model()
    with pytest.raises(ValueError, match="batch_size="):
        generate(model, tiny_tokenizer, ["hi"], sampler=GreedySampler(), batch_size=0)
    with pytest.raises(ValueError, match="prompt_indices"):
        generate(model, tiny_tokenizer, ["hi", "ho"], sampler=GreedySampler(), prompt_indices=[1])
    with pytest.raises(ValueError, match="not both"):
        generate(model, tiny_tokenizer, ["hi"], sampler=GreedySampler(), sampler_config=object())
    with pytest.raises(ValueError, match="streamer"):
        generate(model, tiny_tokenizer, ["hi", "ho"], sampler=GreedySampler(), streamer=object())


def test_too_long_prompt_is_cut_from_the_left_with_a_warning(tiny_tokenizer):
    model = make_tiny_model("qwen2", max_position_embeddings=64)
    long = " ".join(["word"] * 100)
    with pytest.warns(UserWarning, match="keeping its last 54"):
        res = generate(model, tiny_tokenizer, [long], sampler=GreedySampler(), max_new_tokens=10)
    assert res.prompt_lengths == [54] and len(res.token_ids[0]) == 10


def test_tokenizer_without_pad_token_pads_with_eos(tiny_tokenizer):
    tok = copy.deepcopy(tiny_tokenizer)
    tok.pad_token = None
    model = make_tiny_model("qwen2")
    with pytest.warns(UserWarning, match="no pad token; padding with its EOS"):
        res = generate(model, tok, PROMPTS[:2], sampler=GreedySampler(), max_new_tokens=3)
    ref = generate(model, tiny_tokenizer, PROMPTS[:2], sampler=GreedySampler(), max_new_tokens=3)
    assert res.token_ids == ref.token_ids


def test_tokenizer_larger_than_model_vocab_is_refused(tiny_tokenizer):
    model = make_tiny_model("qwen2", vocab_size=300)
    with pytest.raises(ValueError, match="tokenizer has 455 tokens but the model embeds only 300"):
        generate(model, tiny_tokenizer, ["hi"], sampler=GreedySampler())


@pytest.mark.parametrize("name", ["alpha", "alpha_seed"])
def test_adaptive_sampler_batch_of_one_equals_batch_of_eight(name, tiny_tokenizer):
    """The real AdaptiveEntropixSampler through the engine: same text per prompt whatever
    the batch, and every TRACE_KEYS entry recorded per token."""
    model = make_tiny_model("qwen2")
    full = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler(name),
                    max_new_tokens=5, seed=5)
    for i in (2, 6):
        one = generate(model, tiny_tokenizer, [PROMPTS[i]], sampler=build_sampler(name),
                       max_new_tokens=5, seed=5, prompt_indices=[i])
        assert one.token_ids[0] == full.token_ids[i]
    assert set(full.traces[0]) == set(TRACE_KEYS)
    assert all(len(v) == len(full.token_ids[0]) for v in full.traces[0].values())


@pytest.mark.slow
def test_benchmark_script_runs_all_sections_on_a_small_config():
    """Smoke run of scripts/bench/benchmark.py at toy sizes (its figures live in docs/performance.md)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("benchmark", ROOT / "scripts" / "bench" / "benchmark.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.main(["--config", str(ROOT / "scripts/configs/bench-cpu-small.json"),
                      "--batch", "2", "--new-tokens", "3", "--batch1-tokens", "3",
                      "--prefill-tokens", "64"])
    assert res["throughput"]["tokens_per_s"]["engine_adaptive"] > 0
    assert res["batch1"]["adaptive"]["speedup"] > 0
    assert set(res["memory"]) >= {"plain_sdpa_mib", "capture_mib", "eager_output_attentions_mib"}


def test_model_without_attention_needs_a_sampler_that_does_not_use_it(tiny_tokenizer):
    """No capture possible and no attention returned: a clear error when the sampler needs
    attention; a sampler that does not need it still runs."""
    from test_attention_capture import _no_interface_model

    model = _no_interface_model("sdpa")
    with pytest.warns(UserWarning, match="falling back"), \
            pytest.raises(ValueError, match="returned no attention weights"):
        generate(model, tiny_tokenizer, ["hi"], sampler=TopKSampler(), max_new_tokens=2)
    res = generate(model, tiny_tokenizer, ["hi"], sampler=GreedySampler(), max_new_tokens=2)
    assert len(res.token_ids[0]) == 2 and model.config._attn_implementation == "sdpa"
