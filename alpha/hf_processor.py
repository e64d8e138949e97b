"""`AlphaLogitsProcessor`: the adaptive sampler inside Hugging Face's own `model.generate` loop.

The processor captures the attention row (the model switches to the `alpha_sdpa` attention
function while the processor is open), lets the `TokenSampler` choose each row's token with the
same per-row generators as `alpha.generate` (`row_seed(seed, prompt_index)`), and returns
scores that are -inf everywhere except the chosen token. `generate`'s own multinomial draw then
has exactly one choice, so its tokens are the sampler's.

How it composes with `generate`'s own processing (transformers 5.x order: built-in processors
-> custom processors (this one) -> warpers):
- built-in processors run *before* this one and change the logits it sees: pass
  `repetition_penalty=1.0` and no `min_new_tokens`/bad-words/bias options (a model's
  `generation_config` may set a repetition penalty: override it);
- the warpers run after it on a one-hot distribution and cannot change the choice, but
  neutralise them anyway for clarity: `do_sample=True, temperature=1.0, top_k=0, top_p=1.0`.
Rows that already finished keep being stepped by `generate` (their outputs are padding); their
traces past EOS are meaningless.

    >>> with AlphaLogitsProcessor(model, seed=0, attention_mask=enc["attention_mask"]) as proc:
    ...     out = model.generate(**enc, do_sample=True, logits_processor=[proc],
    ...                          temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0)
    ...                                                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor

from alpha.attention_capture import AttentionCapture, Capture
from alpha.generation import resolve_sampler, row_generators
from alpha.protocol import TokenSampler


class AlphaLogitsProcessor(LogitsProcessor):
    """Adaptive sampling as a transformers `LogitsProcessor`.

    Args:
        model: the model `generate` will run (its attention implementation is switched to
            `alpha_sdpa` until `close()` / the end of the `with` block).
        sampler: a `TokenSampler`; default `AdaptiveEntropixSampler(sampler_config)`.
        sampler_config: `SamplerConfig` for the default sampler.
        seed: base seed; row i draws from `row_seed(seed, prompt_indices[i])` as in
            `alpha.generate`.
        prompt_indices: one int per batch row (default 0..B-1).
        attention_mask: `(B, T0)` prompt attention mask given to `generate`; default:
            prompt positions equal to `pad_token_id` are padding (all real if None).
        pad_token_id: used only when `attention_mask` is None.
        capture: "last", a layer index or ("mean_last", N), as in `alpha.generate`.

    Attributes:
        traces: after generation, per row: trace name -> one float per step.
    """

    def __init__(self, model, *, sampler: TokenSampler | None = None, sampler_config=None,
                 seed: int = 0, prompt_indices: Sequence[int] | None = None,
                 attention_mask: torch.Tensor | None = None, pad_token_id: int | None = None,
                 capture: Capture = "last"):
        self.sampler = resolve_sampler(sampler, sampler_config)
        self.seed, self.prompt_indices = seed, prompt_indices
        self.prompt_mask, self.pad_token_id = attention_mask, pad_token_id
        self.cap = AttentionCapture(model, capture) if self.sampler.needs_attention else None
        if self.cap is not None:
            self.cap.install()
            if self.cap.mode != "sdpa":
                self.cap.remove()
                raise ValueError(f"{type(model).__name__}: AlphaLogitsProcessor needs attention "
                                 f"capture through AttentionInterface, which this model does not "
                                 f"support; use alpha.generate (it falls back to eager attention)")
        self._t0: int | None = None
        self._last_ids: torch.Tensor | None = None  # (B, T) ids of the previous call
        self.traces: list[dict[str, list[float]]] = []

    def __enter__(self) -> AlphaLogitsProcessor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Restore the model's attention implementation."""
        if self.cap is not None:
            self.cap.remove()

    def _start(self, input_ids: torch.Tensor) -> None:
        b, t = input_ids.shape
        idx = list(range(b)) if self.prompt_indices is None else list(self.prompt_indices)
        if len(idx) != b:
            raise ValueError(f"prompt_indices has {len(idx)} entries for a batch of {b}; "
                             f"give one index per row")
        if self.prompt_mask is not None:
            mask = self.prompt_mask.to(input_ids.device).bool()
            if mask.shape != (b, t):
                raise ValueError(f"attention_mask has shape {tuple(mask.shape)}, expected the "
                                 f"prompt's {(b, t)}; pass the mask given to generate")
        elif self.pad_token_id is not None:
            mask = input_ids != self.pad_token_id
        else:
            mask = torch.ones_like(input_ids, dtype=torch.bool)
        self._mask0, self._t0 = mask, t  # (B, T0)
        self._gens = row_generators(self.seed, idx, input_ids.device)
        self.sampler.reset(b)
        self.traces = [{} for _ in range(b)]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """`(B, T)` ids so far, `(B, V)` scores -> `(B, V)`: 0 at the chosen token, -inf
        elsewhere."""
        prev = self._last_ids
        if prev is None or prev.shape != input_ids[:, :-1].shape or not torch.equal(
                prev, input_ids[:, :-1]):  # not a continuation of the last call: new generate()
            self._start(input_ids)
        self._last_ids = input_ids
        gen_mask = torch.ones_like(input_ids[:, self._t0:], dtype=torch.bool)
        key_mask = torch.cat([self._mask0, gen_mask], 1)  # (B, T)
        attention = self.cap.read() if self.cap is not None else None  # (B, H, T)
        with torch.enable_grad():  # generate runs under no_grad; a solver may need autograd
            step = self.sampler.step(scores.float(), input_ids, attention=attention,
                                     key_mask=key_mask, generators=self._gens)
        if self.cap is not None:
            self.cap.clear()
        for name, v in step.trace.items():
            for i, x in enumerate(v.float().tolist()):
                self.traces[i].setdefault(name, []).append(x)
        tokens = step.tokens.to(scores.device, torch.long).reshape(-1, 1)  # (B, 1)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter(1, tokens, 0.0)
