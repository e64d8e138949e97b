"""The uncertainty-gated sampler: greedy while the step is certain, another sampler above a bar.

    python run.py sampler=gated sampler.signal=entropy sampler.threshold=1.5 sampler.inner=top_p

Per row and step, a signal of the model's uncertainty is compared with `threshold`:

    entropy        H of softmax(logits), bits
    varentropy     VH of softmax(logits), bits²
    attn_entropy   normalised entropy of the last layer's attention row (the original
                   AlphaSampler's signal; the engine captures it for this option only)

At or under the threshold the row takes the argmax; above it the row is handed to the inner
sampler (any registered stateless sampler, with its own parameters as `inner_params`), which
draws from the row's own generator. Greedy rows draw nothing, so a row's tokens do not depend on
its batch, and a step where every row is certain costs the signal and an argmax only.
Issue 27's compute-equal study tunes `threshold` on a dev split like every other tunable.
"""

from __future__ import annotations

import torch

from alpha import validation as V
from alpha.baselines import _register
from alpha.protocol import SamplerStep
from alpha.uncertainty import attention_entropy_varentropy, token_entropy_varentropy

SIGNALS = ("entropy", "varentropy", "attn_entropy")


def _stateful(sampler) -> bool:
    """True for the samplers that carry per-row state across steps."""
    from alpha.adaptive_p import AdaptivePSampler
    from alpha.mirostat import MirostatV2Sampler
    from alpha.rep_penalty import PenalisedSampler
    from alpha.sampler import AdaptiveEntropixSampler

    if isinstance(sampler, PenalisedSampler):
        return _stateful(sampler.inner)
    return isinstance(sampler, (AdaptivePSampler, MirostatV2Sampler, AdaptiveEntropixSampler))


class GatedSampler:
    """Greedy under `threshold`, `inner` above it (module docstring)."""

    def __init__(self, inner, *, signal: str = "entropy", threshold: float = 1.0):
        self.signal = V.choice("sampler.signal", signal, SIGNALS)
        self.threshold = float(V.number("sampler.threshold", threshold, low=0.0))
        if _stateful(inner):
            raise ValueError(f"sampler.inner={type(inner).__name__} keeps per-row state, which "
                             "would see only some of its row's steps; use a stateless sampler "
                             "(e.g. top_p, min_p, temperature)")
        self.inner = inner
        self.needs_attention = signal == "attn_entropy"

    def reset(self, batch_size: int) -> None:
        self.inner.reset(batch_size)

    def select_rows(self, index: torch.Tensor) -> None:
        self.inner.select_rows(index)

    def uncertainty(self, logits, attention, key_mask) -> torch.Tensor:
        """`(B,)` the signal of each row."""
        if self.signal == "attn_entropy":
            if attention is None:
                raise ValueError("sampler.signal=attn_entropy needs the attention row; run it "
                                 "through alpha.generate (capture on) or use signal=entropy")
            return attention_entropy_varentropy(attention, key_mask)[0].to(logits.device)
        h, vh = token_entropy_varentropy(logits)
        return h if self.signal == "entropy" else vh

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        x = logits.float()
        signal = self.uncertainty(x, attention, key_mask)  # (B,)
        sample = signal > self.threshold  # (B,) bool
        tokens = x.argmax(-1)
        b = x.shape[0]
        temperature, kept = torch.zeros(b), torch.ones(b)
        rows = sample.nonzero().flatten()
        if len(rows):
            gens = ([generators[i] for i in rows.tolist()]
                    if isinstance(generators, (list, tuple)) else generators)
            res = self.inner.step(x[rows], input_ids[rows], key_mask=None if key_mask is None
                                  else key_mask[rows], generators=gens)
            tokens[rows] = res.tokens.to(tokens.device)
            temperature[rows.cpu()] = res.trace.get("temperature", torch.ones(len(rows))).cpu()
            kept[rows.cpu()] = res.trace.get("candidate_size", torch.zeros(len(rows))).cpu()
        trace = {"gate": sample.float().cpu(), "signal": signal.float().cpu(),
                 "temperature": temperature, "candidate_size": kept}
        return SamplerStep(tokens=tokens, trace=trace)


@_register("gated")
def build_gated(signal: str = "entropy", threshold: float = 1.0, inner: str = "top_p",
                inner_params: dict | None = None) -> GatedSampler:
    from alpha.registry import build_sampler

    if inner == "gated":
        raise ValueError("sampler.inner='gated' is invalid: use a stateless sampler such as top_p")
    return GatedSampler(build_sampler(inner, **dict(inner_params or {})), signal=signal,
                        threshold=threshold)
