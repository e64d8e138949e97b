"""Baseline token samplers, each registered by name for `alpha.build_sampler`.

Every baseline is a `TokenSampler` (alpha/protocol.py) driven by the same engine as the
adaptive sampler, so batching, KV cache, seeds and traces are identical and costs compare.

- Fixed-parameter samplers (pure, temperature, top_k, top_p, min_p, typical, eta, epsilon) run
  transformers' own logits warpers, in the order `model.generate` applies them (temperature
  first, then the truncation), and draw with `torch.multinomial` like `generate` does.
- Dynamic-temperature samplers compute one temperature per row per step:
  EDT (Zhang et al. 2024, arXiv 2403.14541): `T = T0 * N ** (theta / H)`, H the Shannon
  entropy in nats of the unscaled distribution softmax(logits), N = 0.8 as in the paper;
  llama.cpp's dynatemp: `T = Tmin + (Tmax - Tmin) * (H / ln n) ** exponent`, H in nats,
  n = the number of candidates (tokens with a finite logit; the whole vocabulary unless an
  earlier processor masked some), Tmin = max(0, temperature - range), Tmax = temperature + range.
- An entropix-style rule sampler picks an action per row from the entropy/varentropy quadrant.

A temperature of 0 (EDT at H = 0, dynatemp at Tmin = 0) means argmax for that row.
This module knows nothing about models, caches or configs files.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable

import torch
from transformers.generation.logits_process import (
    EpsilonLogitsWarper,
    EtaLogitsWarper,
    LogitsProcessorList,
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from alpha import validation as V
from alpha.protocol import Generators, SamplerStep
from alpha.rep_penalty import NEUTRAL, PenalisedSampler, split_penalty
from alpha.uncertainty import entropy_varentropy

# ---------------------------------------------------------------- validation


def _check(ok: bool, field: str, value, need: str) -> None:
    """A relation between parameters (one line naming the field, the value and the rule)."""
    if not ok:
        raise ValueError(f"sampler.{field}={value!r} is invalid: {need}")


def _number(field: str, value, **span):
    """`alpha.validation.number` on `sampler.<field>`; the value as a float."""
    return float(V.number(f"sampler.{field}", value, **span))


def _integer(field: str, value, *, low: int) -> int:
    return V.whole(f"sampler.{field}", value, low=low)


def _register(name: str):
    """A clear error for a parameter the builder does not take, and the `rep_penalty` /
    `rep_window` keys every baseline takes (alpha/rep_penalty.py). The builder is listed under
    `name` in alpha.registry.SAMPLER_MAPPING."""

    def wrap(fn):
        known = sorted([*inspect.signature(fn).parameters, *NEUTRAL])

        @functools.wraps(fn)
        def build(**params):
            V.known_keys(f"sampler {name!r}", params, known, prefix="sampler.")
            params, penalty, window = split_penalty(params)
            built = fn(**params)
            return built if penalty == 1.0 else PenalisedSampler(built, penalty, window)

        return build

    return wrap


# ---------------------------------------------------------------- pure tensor functions


def entropy_varentropy_nats(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Entropy (nats) and varentropy (nats^2) of softmax(logits `(B, V)`), each `(B,)`;
    `-inf` logits count as probability 0 (`alpha.uncertainty.entropy_varentropy`)."""
    return entropy_varentropy(torch.log_softmax(logits.float(), dim=-1), unit="nats")


def candidate_count(scores: torch.Tensor) -> torch.Tensor:
    """Number of tokens left with a finite score. `(B, V)` -> `(B,)` float32."""
    return torch.isfinite(scores).sum(-1).float()


def normalised_entropy(scores: torch.Tensor) -> torch.Tensor:
    """Entropy in bits / log2 V of softmax(scores) (the trace's `final_entropy`). `(B,)`."""
    return entropy_varentropy_nats(scores)[0] / math.log(scores.shape[-1])


def scale_rows(logits: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """Divide each row by its temperature; a row with temperature 0 keeps only its argmax.

    Args:
        logits: `(B, V)` float32 (not modified).
        temperature: `(B,)` >= 0.
    Returns:
        `(B, V)` scaled logits; zero-temperature rows are 0 at the argmax and -inf elsewhere,
        and so are rows whose temperature is so small (an underflowing EDT `N ** (theta / H)`,
        ~1e-40) that logits / T overflows to +inf: their T -> 0 limit is the argmax, where
        softmax would give NaN. Other rows are exactly logits / T.
    """
    t = temperature.float().unsqueeze(-1)  # (B, 1)
    scaled = logits / t.clamp_min(torch.finfo(torch.float32).tiny)
    onehot = torch.full_like(logits, -math.inf)
    onehot.scatter_(-1, logits.argmax(-1, keepdim=True), 0.0)
    finite = torch.isfinite(scaled.amax(-1, keepdim=True))  # (B, 1): False on overflow
    return torch.where((t > 0) & finite, scaled, onehot)


def draw_multinomial(scores: torch.Tensor, generators: Generators) -> torch.Tensor:
    """Sample one token per row from softmax(scores) with `torch.multinomial`, as `generate` does
    (the adaptive sampler's inverse-CDF draw is `alpha.filtering.draw`).

    With a list of generators row i draws from `generators[i]` only; with one generator (or
    None: the global one) the batch draws in one call, the same stream `generate` uses.
    `(B, V)` -> `(B,)` int64.
    """
    probs = torch.softmax(scores, dim=-1)  # (B, V)
    if isinstance(generators, (list, tuple)):
        if len(generators) != probs.shape[0]:
            raise ValueError(f"generators has {len(generators)} entries for a batch of "
                             f"{probs.shape[0]} rows; pass one generator per row")
        rows = [torch.multinomial(probs[i : i + 1], 1, generator=g) for i, g in
                enumerate(generators)]
        return torch.cat(rows).view(-1)
    return torch.multinomial(probs, 1, generator=generators).view(-1)


def edt_temperature(logits: torch.Tensor, *, temperature: float, theta: float,
                    n: float) -> torch.Tensor:
    """EDT's per-row temperature `T0 * N ** (theta / H)`, H in nats (H = 0 gives T = 0).

    `(B, V)` -> `(B,)`.
    """
    h = entropy_varentropy_nats(logits)[0]  # (B,)
    power = torch.where(h > 0, theta / h.clamp_min(1e-30), torch.full_like(h, math.inf))
    return temperature * torch.pow(torch.tensor(n), power)


def dynatemp_temperature(logits: torch.Tensor, *, temperature: float, dynatemp_range: float,
                         exponent: float) -> torch.Tensor:
    """llama.cpp's dynamic temperature, `Tmin + (Tmax - Tmin) * (H / ln n) ** exponent`.

    n counts the tokens with a finite logit; with n <= 1 the normalised entropy is 0.
    `(B, V)` -> `(B,)`.
    """
    t_min, t_max = max(0.0, temperature - dynatemp_range), temperature + dynatemp_range
    n = candidate_count(logits)  # (B,)
    h_max = torch.log(n.clamp_min(2.0))
    h_norm = torch.where(n > 1, entropy_varentropy_nats(logits)[0] / h_max, torch.zeros_like(n))
    return t_min + (t_max - t_min) * h_norm.clamp(0.0, 1.0) ** exponent


# ---------------------------------------------------------------- samplers


class _Stateless:
    """Shared no-op state handling: these baselines keep no per-row state."""

    needs_attention = False

    def reset(self, batch_size: int) -> None:
        pass

    def select_rows(self, index: torch.Tensor) -> None:
        pass


def _trace(scores: torch.Tensor, **fixed: float | torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-row trace: the given parameters broadcast to `(B,)`, candidate size, final entropy."""
    b = scores.shape[0]
    out = {k: (v.float() if torch.is_tensor(v) else torch.full((b,), float(v)))
           for k, v in fixed.items()}
    out["candidate_size"] = candidate_count(scores)
    out["final_entropy"] = normalised_entropy(scores)
    return out


class GreedySampler(_Stateless):
    """Argmax decoding (`generate(do_sample=False)`)."""

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        logits = logits.float()
        b = logits.shape[0]
        trace = {"temperature": torch.zeros(b), "candidate_size": torch.ones(b),
                 "final_entropy": torch.zeros(b)}
        return SamplerStep(tokens=logits.argmax(-1), trace=trace)


class ProcessorSampler(_Stateless):
    """Fixed transformers warpers, then a multinomial draw.

    Args:
        processors: the warpers, applied in order to float32 logits.
        trace_values: fixed parameters recorded every step (e.g. `{"temperature": 0.7}`).
    """

    def __init__(self, processors: list, trace_values: dict[str, float]):
        self.processors = LogitsProcessorList(processors)
        self.trace_values = dict(trace_values)

    def filtered(self, logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """`(B, V)` logits -> `(B, V)` warped scores (-inf where filtered out)."""
        return self.processors(input_ids, logits.float().clone())

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        scores = self.filtered(logits, input_ids)
        return SamplerStep(tokens=draw_multinomial(scores, generators), trace=_trace(scores,
                                                                          **self.trace_values))


class DynamicTemperatureSampler(_Stateless):
    """A per-row temperature from a rule on the logits (EDT, dynatemp), then a draw.

    Args:
        rule: `(B, V)` float32 logits -> `(B,)` temperatures >= 0.
    """

    def __init__(self, rule: Callable[[torch.Tensor], torch.Tensor]):
        self.rule = rule

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        logits = logits.float()
        temperature = self.rule(logits)  # (B,)
        scores = scale_rows(logits, temperature)
        return SamplerStep(tokens=draw_multinomial(scores, generators),
                           trace=_trace(scores, temperature=temperature))


class EntropixRuleSampler(_Stateless):
    """Entropix-style rules: the entropy/varentropy quadrant of each row picks an action.

    H and VH are the entropy (bits) and varentropy (bits^2) of softmax(logits), as in entropix.
    Actions, checked in this order:
      argmax    H < low_entropy and VH < low_varentropy (confident);
      resample  H > high_entropy and VH > high_varentropy: hot, narrowed draw
                (resample_temperature, top_k, resample_top_p);
      explore   VH > high_varentropy (forks in the path): explore_temperature, explore_top_k, top_p;
      clarify   H > clarify_entropy and VH < low_varentropy (uncertain everywhere): entropix
                inserts a tokenizer-specific "clarifying" token here; we draw at
                clarify_temperature instead (no hard-coded token ids);
      base      otherwise: temperature, top_k, top_p.
    Each draw uses transformers' Temperature/TopK/TopP warpers with that action's parameters.
    """

    ACTIONS = ("base", "argmax", "clarify", "explore", "resample")

    def __init__(self, **p: float):
        self.p = p

    def actions(self, h_bits: torch.Tensor, vh_bits: torch.Tensor) -> torch.Tensor:
        """`(B,)` entropy and varentropy in bits -> `(B,)` int index into `ACTIONS`."""
        p = self.p
        act = torch.zeros_like(h_bits, dtype=torch.long)
        low_vh = vh_bits < p["low_varentropy"]
        high_vh = vh_bits > p["high_varentropy"]
        act[(h_bits > p["clarify_entropy"]) & low_vh] = 2
        act[high_vh] = 3
        act[(h_bits > p["high_entropy"]) & high_vh] = 4
        act[(h_bits < p["low_entropy"]) & low_vh] = 1
        return act

    def params(self, action: str) -> tuple[float, int, float]:
        """(temperature, top_k, top_p) of a sampling action."""
        p = self.p
        return {
            "base": (p["temperature"], p["top_k"], p["top_p"]),
            "clarify": (p["clarify_temperature"], p["top_k"], p["top_p"]),
            "explore": (p["explore_temperature"], p["explore_top_k"], p["top_p"]),
            "resample": (p["resample_temperature"], p["top_k"], p["resample_top_p"]),
        }[action]

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        logits = logits.float()
        b, v = logits.shape
        h, vh = entropy_varentropy_nats(logits)  # (B,) nats, nats^2
        h_bits, vh_bits = h / math.log(2), vh / math.log(2) ** 2
        act = self.actions(h_bits, vh_bits)
        scores = scale_rows(logits, torch.zeros(b))  # argmax rows; others overwritten below
        temp, top_k, top_p = torch.zeros(b), torch.ones(b), torch.ones(b)
        for i, name in enumerate(self.ACTIONS):
            rows = (act == i).nonzero().view(-1)
            if name == "argmax" or rows.numel() == 0:
                continue
            t, k, tp = self.params(name)
            warp = LogitsProcessorList([TemperatureLogitsWarper(t), TopKLogitsWarper(k),
                                        TopPLogitsWarper(tp)])
            scores[rows] = warp(input_ids[rows], logits[rows].clone())
            temp[rows], top_k[rows], top_p[rows] = t, float(min(k, v)), tp
        trace = _trace(scores, temperature=temp, top_k=top_k, top_p=top_p,
                       h_tok=h_bits / math.log2(v), vh_tok=vh_bits / math.log2(v) ** 2)
        return SamplerStep(tokens=draw_multinomial(scores, generators), trace=trace)


# ---------------------------------------------------------------- registered builders


def _temp(temperature) -> float:
    return _number("temperature", temperature, low=0.0, high=100.0, low_open=True)


@_register("greedy")
def build_greedy() -> GreedySampler:
    """Argmax every step; no parameters."""
    return GreedySampler()


@_register("pure")
def build_pure() -> ProcessorSampler:
    """Ancestral sampling from the model's distribution (temperature 1, no truncation)."""
    return ProcessorSampler([], {"temperature": 1.0})


@_register("temperature")
def build_temperature(temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    return ProcessorSampler([TemperatureLogitsWarper(t)], {"temperature": t})


@_register("top_k")
def build_top_k(top_k: int = 50, temperature: float = 1.0) -> ProcessorSampler:
    t, k = _temp(temperature), _integer("top_k", top_k, low=1)
    return ProcessorSampler([TemperatureLogitsWarper(t), TopKLogitsWarper(k)],
                            {"temperature": t, "top_k": k})


@_register("top_p")
def build_top_p(top_p: float = 0.9, temperature: float = 1.0) -> ProcessorSampler:
    t, p = _temp(temperature), _number("top_p", top_p, low=0.0, high=1.0, low_open=True)
    return ProcessorSampler([TemperatureLogitsWarper(t), TopPLogitsWarper(p)],
                            {"temperature": t, "top_p": p})


@_register("min_p")
def build_min_p(min_p: float = 0.1, temperature: float = 1.0) -> ProcessorSampler:
    t, m = _temp(temperature), _number("min_p", min_p, low=0.0, high=1.0)
    return ProcessorSampler([TemperatureLogitsWarper(t), MinPLogitsWarper(m)], {"temperature": t})


@_register("typical")
def build_typical(typical_p: float = 0.9, temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    m = _number("typical_p", typical_p, low=0.0, high=1.0, low_open=True, high_open=True)
    return ProcessorSampler([TemperatureLogitsWarper(t), TypicalLogitsWarper(m)],
                            {"temperature": t})


@_register("epsilon")
def build_epsilon(epsilon: float = 3e-4, temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    e = _number("epsilon", epsilon, low=0.0, high=1.0, low_open=True, high_open=True)
    return ProcessorSampler([TemperatureLogitsWarper(t), EpsilonLogitsWarper(e)],
                            {"temperature": t})


@_register("eta")
def build_eta(eta: float = 3e-4, temperature: float = 1.0) -> ProcessorSampler:
    t = _temp(temperature)
    e = _number("eta", eta, low=0.0, high=1.0, low_open=True, high_open=True)
    return ProcessorSampler([TemperatureLogitsWarper(t), EtaLogitsWarper(e)], {"temperature": t})


@_register("edt")
def build_edt(temperature: float = 1.0, theta: float = 1.0, n: float = 0.8):
    """EDT: T = temperature * n ** (theta / H), H in nats; the paper fixes n = 0.8."""
    t = _temp(temperature)
    th = _number("theta", theta, low=0.0, high=100.0, low_open=True)
    nn = _number("n", n, low=0.0, high=1.0, low_open=True, high_open=True)
    return DynamicTemperatureSampler(functools.partial(edt_temperature, temperature=t,
                                                       theta=th, n=nn))


@_register("dynatemp")
def build_dynatemp(temperature: float = 1.0, dynatemp_range: float = 0.5,
                   dynatemp_exponent: float = 1.0):
    """llama.cpp dynatemp: T in [max(0, temperature - range), temperature + range]."""
    t = _temp(temperature)
    r = _number("dynatemp_range", dynatemp_range, low=0.0, high=100.0)
    e = _number("dynatemp_exponent", dynatemp_exponent, low=0.0, high=100.0, low_open=True)
    return DynamicTemperatureSampler(functools.partial(dynatemp_temperature, temperature=t,
                                                       dynatemp_range=r, exponent=e))


@_register("entropix")
def build_entropix(
    temperature: float = 0.666, top_k: int = 27, top_p: float = 0.9,
    low_entropy: float = 0.1, low_varentropy: float = 0.1, clarify_entropy: float = 3.0,
    high_entropy: float = 5.0, high_varentropy: float = 5.0,
    clarify_temperature: float = 1.3, explore_temperature: float = 1.2,
    explore_top_k: int = 40, resample_temperature: float = 2.0, resample_top_p: float = 0.5,
) -> EntropixRuleSampler:
    """Defaults follow entropix (thresholds in bits and bits^2)."""
    p = dict(temperature=_temp(temperature), top_k=_integer("top_k", top_k, low=1),
             explore_top_k=_integer("explore_top_k", explore_top_k, low=1))
    for name, val in [("clarify_temperature", clarify_temperature),
                      ("explore_temperature", explore_temperature),
                      ("resample_temperature", resample_temperature)]:
        p[name] = _number(name, val, low=0.0, high=100.0, low_open=True)
    for name, val in [("top_p", top_p), ("resample_top_p", resample_top_p)]:
        p[name] = _number(name, val, low=0.0, high=1.0, low_open=True)
    for name, val in [("low_entropy", low_entropy), ("low_varentropy", low_varentropy),
                      ("clarify_entropy", clarify_entropy), ("high_entropy", high_entropy),
                      ("high_varentropy", high_varentropy)]:
        p[name] = _number(name, val, low=0.0, high=1e6)
    _check(p["low_entropy"] <= p["clarify_entropy"] <= p["high_entropy"], "clarify_entropy",
           clarify_entropy, "need low_entropy <= clarify_entropy <= high_entropy")
    _check(p["low_varentropy"] <= p["high_varentropy"], "high_varentropy", high_varentropy,
           "need low_varentropy <= high_varentropy")
    return EntropixRuleSampler(**p)
