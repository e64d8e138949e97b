"""The original README's Quick Start, run literally against a tiny saved model.

Bad inputs tried: max_tokens 0 and -5, a blank prompt, max_tokens larger than the context
(lowered with a warning).
"""

from __future__ import annotations

import pytest
import torch
from conftest import ASSETS, make_tiny_model

import alpha
from alpha.config import SamplerConfig


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A saved tiny Qwen2 with a 20-token context, so the default max_tokens=2000 is cut to a
    few tokens (with a warning) and the test stays fast."""
    from transformers import AutoTokenizer

    path = tmp_path_factory.mktemp("tiny-quickstart")
    make_tiny_model("qwen2", max_position_embeddings=20).save_pretrained(path)
    AutoTokenizer.from_pretrained(ASSETS / "tokenizer").save_pretrained(path)
    return str(path)


@pytest.mark.filterwarnings("ignore:max_tokens=2000 does not fit")
def test_quick_start_snippet_runs_unchanged(model_dir, capsys):
    # --- the seed README's Quick Start, with model_name pointing at the tiny model ---
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from alpha import generate_response

    # Initialize model and tokenizer
    model_name = model_dir  # "Qwen/Qwen2.5-0.5B-Instruct" in the README
    model = AutoModelForCausalLM.from_pretrained(model_name, output_attentions=True)
    tokenizer = AutoTokenizer.from_pretrained(model_name)

    # Generate text
    prompt = "Your prompt here"
    response = generate_response(model, tokenizer, prompt)
    print(response)
    # --- end of the snippet ---
    assert isinstance(response, str) and capsys.readouterr().out == response + "\n"
    n_prompt = len(tokenizer(prompt)["input_ids"])
    ref = alpha.generate(model, tokenizer, [prompt], max_new_tokens=20 - n_prompt, seed=0)
    assert response == ref.texts[0]
    assert len(ref.token_ids[0]) >= 1
    assert model.config._attn_implementation == "eager" and model.config.output_attentions


def test_eager_model_streams_the_same_text_it_returns(model_dir, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager")
    tok = AutoTokenizer.from_pretrained(model_dir)
    cfg = SamplerConfig(base_temp=0.5)
    text = alpha.generate_response(model, tok, "hello", max_tokens=6, config=cfg, stream=True,
                                   seed=3)
    assert capsys.readouterr().out == text + "\n"
    ref = alpha.generate(model, tok, ["hello"], sampler_config=cfg, max_new_tokens=6, seed=3)
    assert text == ref.texts[0]


def test_max_tokens_beyond_context_is_lowered_with_a_warning(model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tok = AutoTokenizer.from_pretrained(model_dir)
    with pytest.warns(UserWarning, match="generating at most 18"):
        alpha.generate_response(model, tok, "hi", max_tokens=50)


@pytest.mark.parametrize("kw,match", [({"max_tokens": 0}, "max_tokens="),
                                      ({"max_tokens": -5}, "max_tokens="),
                                      ({"prompt": "   "}, r"prompts\[0\]")])
def test_bad_inputs(kw, match, model_dir):
    model = make_tiny_model("qwen2")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    args = {"prompt": "hi", **kw}
    with pytest.raises(ValueError, match=match):
        alpha.generate_response(model, tok, **args)


def test_seed_makes_it_reproducible(model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(model_dir)
    a = alpha.generate_response(model, tok, "hello", max_tokens=5, seed=1)
    assert a == alpha.generate_response(model, tok, "hello", max_tokens=5, seed=1)
