"""Truncation samplers that claim to beat min-p: top-nσ, p-less, Top-H, XTC, quadratic.

Each rule is a logits processor in transformers' style (`__call__(input_ids, scores) -> scores`,
arguments checked once in `__init__`, scores never changed in place, removed tokens at -inf) and
runs inside `alpha.baselines.ProcessorSampler` (multinomial draw, per-row generators, traces of
the kept-set size and the final entropy), so every row's kept set depends on that row alone.

    top-nσ      keep logit_i >= max - n·σ, σ the population std of the row's finite logits
                (Tang et al., arXiv 2411.07641; llama.cpp's `top_n_sigma`, n = 0: off); the
                kept set does not depend on the temperature (both sides scale by 1/T)
    p-less      keep p_i >= Σ_j p_j² (the distribution's collision probability; arXiv 2509.23234),
                p after the temperature
    Top-H       transformers' `TopHLogitsWarper` (arXiv 2509.02510), after the temperature
    XTC         "exclude top choices" (llama.cpp's `xtc`): with probability `probability` per step
                and row (a coin from the row's own generator), when two or more tokens have
                p >= threshold, all of them but the least probable are removed (at least
                `min_keep` stay; threshold > 0.5 switches it off)
    quadratic   text-generation-webui's smoothing: finite logits become
                max - k·f·d² + s·f·d³ with d = logit - max, k = (3 - c) / 2, s = (c - 1) / 2
                (f = smoothing_factor, c = smoothing_curve; c = 1 is the plain quadratic), row by
                row (the webui takes the max over the whole batch, the same for one row)

docs/baselines.md has each formula with its reference and how it is tested.
"""

from __future__ import annotations

import torch
from transformers import TemperatureLogitsWarper, TopHLogitsWarper

from alpha import validation as V
from alpha.baselines import ProcessorSampler, _register, _temp, _trace, draw_multinomial
from alpha.filtering import uniforms
from alpha.protocol import SamplerStep

NEG_INF = float("-inf")


class TopNSigmaLogitsWarper:
    """Keep the tokens whose logit is at least `max - n * std` of the row's finite logits.

    Args:
        n: how many standard deviations below the maximum to keep, >= 0; n = 0 switches the
            filter off, as llama.cpp's `top_n_sigma` does for n <= 0.

    >>> TopNSigmaLogitsWarper(1.0)(None, torch.tensor([[3.0, 2.0, 0.0, -1.0]])).isfinite().tolist()
    [[True, True, False, False]]
    """

    def __init__(self, n: float):
        self.n = float(V.number("sampler.n", n, low=0.0))

    def __call__(self, input_ids, scores: torch.Tensor) -> torch.Tensor:
        if self.n == 0.0:
            return scores
        finite = torch.isfinite(scores)  # (B, V)
        count = finite.sum(-1, keepdim=True).clamp_min(1)  # (B, 1)
        x = torch.where(finite, scores, 0.0)
        mean = x.sum(-1, keepdim=True) / count
        var = (torch.where(finite, scores - mean, 0.0) ** 2).sum(-1, keepdim=True) / count
        top = scores.amax(-1, keepdim=True)
        return scores.masked_fill(scores < top - self.n * var.sqrt(), NEG_INF)


class PLessLogitsWarper:
    """Keep the tokens whose probability is at least the collision probability Σ_j p_j².

    The most probable token always passes (p_max >= Σ p² since Σ p² <= p_max Σ p); a peaked
    row keeps few tokens, a flat one many, with no parameter.

    >>> PLessLogitsWarper()(None, torch.tensor([[1.0, 1.0, -3.0]])).isfinite().tolist()
    [[True, True, False]]
    """

    def __call__(self, input_ids, scores: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(scores.float(), dim=-1)  # (B, V)
        threshold = (p * p).sum(-1, keepdim=True)
        return scores.masked_fill(p < threshold, NEG_INF)


class QuadraticLogitsWarper:
    """text-generation-webui's quadratic ("smoothing") sampling, per row.

    Args:
        smoothing_factor: f > 0; larger is closer to greedy.
        smoothing_curve: c >= 1; 1 = the plain quadratic, larger bends the curve (cubic term).

    >>> QuadraticLogitsWarper(1.0)(None, torch.tensor([[2.0, 1.0]])).tolist()
    [[2.0, 1.0]]
    """

    def __init__(self, smoothing_factor: float, smoothing_curve: float = 1.0):
        self.f = float(V.number("sampler.smoothing_factor", smoothing_factor, low=0.0,
                                low_open=True))
        self.c = float(V.number("sampler.smoothing_curve", smoothing_curve, low=1.0))

    def __call__(self, input_ids, scores: torch.Tensor) -> torch.Tensor:
        top = scores.amax(-1, keepdim=True)  # (B, 1)
        d = scores - top
        k, s = (3.0 - self.c) / 2.0, (self.c - 1.0) / 2.0
        out = top - k * self.f * d * d + s * self.f * d * d * d
        return torch.where(torch.isfinite(scores), out, scores)


def xtc_keep(p: torch.Tensor, threshold: float, min_keep: int, apply: torch.Tensor) -> torch.Tensor:
    """`(B, V)` bool: XTC's kept set where `apply` `(B,)` is True (else every token).

    Tokens with p >= threshold, but the least probable of them, go when there are two or more
    of them and at least `min_keep` of the row's V entries would stay (llama.cpp: `pos_last > 0`
    and `size - pos_last >= min_keep`). Tokens tied exactly with that least probable one all
    stay, where llama.cpp keeps one of them (its sort order decides); continuous logits do not tie.
    """
    above = p >= threshold  # (B, V)
    n_above = above.sum(-1)  # (B,)
    p_last = torch.where(above, p, torch.inf).amin(-1)  # the least probable token above
    drop = above & (p > p_last[:, None])
    n_left = p.shape[-1] - drop.sum(-1)
    ok = apply & (n_above >= 2) & (n_left >= min_keep)
    return ~(drop & ok[:, None])


class XTCSampler:
    """XTC after the temperature (module docstring).

    Args:
        probability: chance per step and row that XTC acts, in [0, 1] (llama.cpp: 0.0 = off).
        threshold: tokens at or above it are the "top choices", in (0, 0.5] (> 0.5: off).
        min_keep: XTC never leaves fewer tokens, >= 1.
        temperature: > 0.
    """

    needs_attention = False

    def __init__(self, probability: float = 0.5, threshold: float = 0.1, min_keep: int = 1,
                 temperature: float = 1.0):
        self.probability = float(V.number("sampler.probability", probability, low=0.0, high=1.0))
        self.threshold = float(V.number("sampler.threshold", threshold, low=0.0, high=0.5,
                                        low_open=True))
        self.min_keep = V.whole("sampler.min_keep", min_keep, low=1)
        self.temperature = _temp(temperature)

    def reset(self, batch_size: int) -> None:
        pass

    def select_rows(self, index: torch.Tensor) -> None:
        pass

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        x = logits.float() / self.temperature
        p = torch.softmax(x, dim=-1)
        coin = uniforms(x.shape[0], generators, x.device)  # (B,) one per row, from its generator
        keep = xtc_keep(p, self.threshold, self.min_keep, coin < self.probability)
        scores = x.masked_fill(~keep, NEG_INF)
        tokens = draw_multinomial(scores, generators)
        applied = keep.sum(-1) < torch.isfinite(x).sum(-1)  # (B,) XTC removed something
        return SamplerStep(tokens=tokens, trace=_trace(scores, temperature=self.temperature,
                                                       xtc_applied=applied))


# ---------------------------------------------------------------- builders (registry)


@_register("top_n_sigma")
def build_top_n_sigma(n: float = 1.0, temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    return ProcessorSampler([TopNSigmaLogitsWarper(n), TemperatureLogitsWarper(t)],
                            {"temperature": t})


@_register("p_less")
def build_p_less(temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    return ProcessorSampler([TemperatureLogitsWarper(t), PLessLogitsWarper()], {"temperature": t})


@_register("top_h")
def build_top_h(top_h: float = 0.4, temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    h = V.number("sampler.top_h", top_h, low=0.0, high=1.0, low_open=True)
    return ProcessorSampler([TemperatureLogitsWarper(t), TopHLogitsWarper(float(h))],
                            {"temperature": t})


@_register("quadratic")
def build_quadratic(smoothing_factor: float = 0.3, smoothing_curve: float = 1.0,
                    temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    return ProcessorSampler([QuadraticLogitsWarper(smoothing_factor, smoothing_curve),
                             TemperatureLogitsWarper(t)], {"temperature": t})


@_register("xtc")
def build_xtc(probability: float = 0.5, threshold: float = 0.1, min_keep: int = 1,
              temperature: float = 1.0):
    return XTCSampler(probability=probability, threshold=threshold, min_keep=min_keep,
                      temperature=temperature)
