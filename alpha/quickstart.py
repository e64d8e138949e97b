"""The original AlphaSampler's API, kept working: the Quick Start and the sampler's methods.

    from alpha import generate_response
    response = generate_response(model, tokenizer, "Your prompt here")

`generate_response` is `alpha.generate` for one prompt with the adaptive sampler: KV cache,
attention row captured under SDPA (a model loaded with `output_attentions=True` or
`attn_implementation="eager"` works too; its attention setting is restored afterwards).

The original's step-by-step methods (`calculate_alpha`, `update_alpha_window`,
`find_optimal_parameters`) are the sampler's own (alpha/original_methods.py, a mixin of
`AdaptiveEntropixSampler`). This module sits on top of the engine: nothing in the sampler core
imports it.
"""

from __future__ import annotations

import warnings

from alpha.generation import context_length, encode_prompts, generate


def _fit_max_tokens(model, tokenizer, prompt: str, max_tokens: int, chat_template: bool) -> int:
    """`max_tokens`, lowered (with a warning) so prompt + new tokens fit the model's context."""
    ctx = context_length(model)
    if ctx is None:
        return max_tokens
    n_prompt = len(encode_prompts(tokenizer, [prompt], chat_template=chat_template)[0])
    room = max(ctx - n_prompt, 1)
    if max_tokens > room:
        warnings.warn(f"max_tokens={max_tokens} does not fit the model's context of {ctx} tokens "
                      f"after a {n_prompt}-token prompt; generating at most {room}", stacklevel=3)
        return room
    return max_tokens


def generate_response(
    model,
    tokenizer,
    prompt: str,
    max_tokens: int = 2000,
    config=None,
    stream: bool = False,
    *,
    seed: int = 0,
    chat_template: bool = False,
) -> str:
    """Generate a response to one prompt with the adaptive sampler (the original's API).

    Args:
        model: a Hugging Face causal LM.
        tokenizer: its tokenizer.
        prompt: the prompt text (not blank).
        max_tokens: most new tokens (default 2000 as in the original; lowered with a warning
            when prompt + max_tokens exceeds the model's context).
        config: a `SamplerConfig` (default `SamplerConfig()`).
        stream: print the text to stdout as it is generated.
        seed: seed of the row's generator (same seed, same text).
        chat_template: wrap the prompt as a user turn with the tokenizer's chat template.

    Returns:
        The generated text (special tokens skipped).

    >>> print(generate_response(model, tokenizer, "Your prompt here"))  # doctest: +SKIP
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
        raise ValueError(f"max_tokens={max_tokens!r} must be a positive int (default 2000)")
    from transformers import TextStreamer

    n = _fit_max_tokens(model, tokenizer, prompt, max_tokens, chat_template)
    streamer = TextStreamer(tokenizer, skip_special_tokens=True) if stream else None
    res = generate(model, tokenizer, [prompt], sampler_config=config, max_new_tokens=n, seed=seed,
                   chat_template=chat_template, streamer=streamer)
    return res.texts[0]
