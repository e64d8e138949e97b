"""`SamplerConfig`: every knob of the adaptive sampler, validated on construction.

Field names are flat (`temp_min`, not `bounds.temperature[0]`) so a Hydra command line can
override any of them (`sampler.temp_min=0.2`). The dataclass is mutable like the original's
(`cfg.base_temp = 0.3` works, and is checked as it is made: a SamplerConfig is never invalid, so
the sampler trusts it). Every check goes through `alpha.validation`.
This module knows nothing about tensors or models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from alpha import validation as V
from alpha.protocol import PARAM_NAMES

SOLVERS = ("bisection", "seed_adam")
ATTENTION_MODES = ("mean_heads", "per_head")
REP_PENALTY_SCOPES = ("all", "lexical")

_BOUND_FIELDS = (  # (min field, max field, absolute allowed interval, integer?)
    ("temp_min", "temp_max", (0.0, float("inf")), False),
    ("top_k_min", "top_k_max", (1, float("inf")), True),
    ("top_p_min", "top_p_max", (0.0, 1.0), False),
    ("rep_penalty_min", "rep_penalty_max", (0.0, float("inf")), False),
    ("candidate_size_min", "candidate_size_max", (1, float("inf")), True),
)
# (param name, min field, max field, allowed interval, integer?) in PARAM_NAMES order
BOUNDS = tuple((name, *f) for name, f in zip(PARAM_NAMES, _BOUND_FIELDS, strict=True))


# The original AlphaSampler's base values: a cold operating point for the bisection solver (the
# default run was repetitive with them: docs/sampler.md), the Adam start values of `seed_adam`.
ORIGINAL_BASE = {"base_temp": 0.2, "base_top_p": 0.80, "base_top_k": 10, "base_rep_penalty": 1.0,
                 "base_candidate_size": 20}


@dataclass
class SamplerConfig:
    """Configuration of `AdaptiveEntropixSampler`.

    The defaults are the runner's operating point (conf/sampler/alpha.yaml holds the same
    values; a test keeps them equal): base temperature 0.8, top-p 0.95, top-k 40, pool 50, the
    original's bounds, weights and window. `SamplerConfig.original()` has the original's cold
    base values (`ORIGINAL_BASE`: 0.2 / 0.8 / 10 / 1.0 / 20), which `sampler=alpha_seed` uses.

    Attributes:
        base_temp, base_top_p, base_top_k, base_rep_penalty, base_candidate_size: the
            parameters at average uncertainty. The bisection solver uses them (clamped into
            the bounds) when alpha's moving average equals the row's average alpha, and
            targets their entropy at this step moved by target_scale * (alpha_mean -
            average alpha) otherwise (docs/sampler.md). `seed_adam` feeds them through a
            sigmoid as logits, as the original did.
        opt_max_iters, opt_tolerance, opt_learning_rate: `seed_adam`'s Adam settings.
        param_smoothing_factor: f in [0, 1): each step uses f * previous + (1 - f) * solved.
        alpha_window_size: steps in alpha's moving average.
        temp_min..candidate_size_max: bounds of the five parameters (inclusive).
        weight_token_entropy, weight_token_varentropy, weight_attn_entropy,
            weight_attn_varentropy: alpha = sum of weight * normalised term.
        rep_window: the repetition penalty looks at the last `rep_window` tokens.
        rep_penalty_scope: "all" (every seen token is penalised: the original) or "lexical"
            (tokens whose text has no letter or digit, i.e. punctuation, whitespace, newlines
            and symbols, are never penalised; the sampler needs the tokenizer's mask:
            `alpha.penalty_scope`, bound by `alpha.generate`).
        target_scale: bisection: target = H_base + target_scale * (alpha_mean - average
            alpha); seed_adam (the original): target = target_scale * alpha_mean.
        solver: "bisection" (correct; moves all five parameters) or "seed_adam" (the original).
        solver_iters: bisection steps on temperature (resolution (temp_max - temp_min) / 2**n).
        attention_mode: "mean_heads" (average heads, then entropy: the original) or
            "per_head" (entropy of each head, then average).
        clamp_base: bisection only. False (default): a `base_*` value outside its bounds is
            refused (`base_temp=5` with `temp_max=1.0` would silently run at 1.0);
            `base_rep_penalty=1.0` (no penalty) is allowed below `rep_penalty_min` and raised
            to it. True: every base value is clamped into its bounds on purpose (e.g. a sweep of
            `temp_max` below a fixed `base_temp`: the operating point becomes the ceiling).

    >>> cfg = SamplerConfig()
    >>> cfg.base_temp = 0.3
    >>> SamplerConfig.original().base_temp
    0.2
    >>> SamplerConfig(temp_min=2.0)
    Traceback (most recent call last):
    ...
    ValueError: temp_min=2.0 must be <= temp_max=1.0 (allowed: 0.0 < temp_min <= temp_max); lower temp_min or raise temp_max
    """

    base_temp: float = 0.8
    base_top_p: float = 0.95
    base_top_k: int = 40
    base_rep_penalty: float = 1.0
    base_candidate_size: int = 50
    opt_max_iters: int = 10
    opt_tolerance: float = 0.01
    opt_learning_rate: float = 0.1
    param_smoothing_factor: float = 0.8
    alpha_window_size: int = 5
    temp_min: float = 0.1
    temp_max: float = 1.0
    top_k_min: int = 5
    top_k_max: int = 200
    top_p_min: float = 0.1
    top_p_max: float = 1.0
    rep_penalty_min: float = 1.1
    rep_penalty_max: float = 1.5
    candidate_size_min: int = 1
    candidate_size_max: int = 100
    weight_token_entropy: float = 0.4
    weight_token_varentropy: float = 0.2
    weight_attn_entropy: float = 0.3
    weight_attn_varentropy: float = 0.1
    rep_window: int = 128
    rep_penalty_scope: str = "all"
    target_scale: float = 0.5
    solver: str = "bisection"
    solver_iters: int = 20
    attention_mode: str = "mean_heads"
    clamp_base: bool = False

    def __post_init__(self) -> None:
        self.validate()
        object.__setattr__(self, "_built", True)

    def __setattr__(self, name: str, value) -> None:
        """`cfg.base_temp = 0.3` (the original's style) is checked when it is made: the changed
        config is validated as a whole before the field changes, so a config is never invalid."""
        if getattr(self, "_built", False):
            V.known_keys("SamplerConfig", [name], self.field_names())
            type(self)(**{**self.to_dict(), name: value})  # raises, leaving self unchanged
        object.__setattr__(self, name, value)

    @classmethod
    def original(cls, **overrides) -> SamplerConfig:
        """The original's base values (`ORIGINAL_BASE`), with `overrides` on top."""
        return cls(**{**ORIGINAL_BASE, **overrides})

    def validate(self) -> None:
        """Raise `ValueError` naming the field, its value and the allowed range (alpha.validation)."""
        for _, lo_name, hi_name, (a, b), integer in BOUNDS:
            lo, hi = getattr(self, lo_name), getattr(self, hi_name)
            for name, v in ((lo_name, lo), (hi_name, hi)):
                V.number(name, v, low=a, high=b, low_open=not integer, whole=integer)
            if lo > hi:
                op = "<=" if integer else "<"
                raise ValueError(
                    f"{lo_name}={lo} must be <= {hi_name}={hi} (allowed: {a} {op} {lo_name} <= "
                    f"{hi_name}); lower {lo_name} or raise {hi_name}"
                )
        for name in ("alpha_window_size", "rep_window", "opt_max_iters", "solver_iters",
                     "base_top_k", "base_candidate_size"):
            V.number(name, getattr(self, name), low=1, whole=True)
        for name in _WEIGHT_FIELDS:
            V.number(name, getattr(self, name), low=0.0)
        if sum(self.weights()) <= 0:
            raise ValueError(f"all four alpha weights are 0 ({', '.join(_WEIGHT_FIELDS)}); "
                             "set at least one > 0")
        V.number("param_smoothing_factor", self.param_smoothing_factor, low=0.0, high=1.0,
                 high_open=True)
        V.number("target_scale", self.target_scale, low=0.0, low_open=True)
        V.number("opt_learning_rate", self.opt_learning_rate, low=0.0, low_open=True)
        V.number("opt_tolerance", self.opt_tolerance, low=0.0)
        for name in ("base_temp", "base_top_p", "base_rep_penalty"):  # seed_adam: any logit
            V.number(name, getattr(self, name))
        V.flag("clamp_base", self.clamp_base)
        V.choice("solver", self.solver, SOLVERS)
        V.choice("rep_penalty_scope", self.rep_penalty_scope, REP_PENALTY_SCOPES)
        V.choice("attention_mode", self.attention_mode, ATTENTION_MODES)
        if self.solver == "bisection" and not self.clamp_base:
            self._check_bases_in_bounds()

    def _check_bases_in_bounds(self) -> None:
        """The bisection solver clamps each base value into its bounds: refuse what it would
        move (base_rep_penalty 1.0, "no penalty", may sit below rep_penalty_min)."""
        for param, lo_name, hi_name, _, _ in BOUNDS:
            name = "base_temp" if param == "temperature" else f"base_{param}"
            v, lo, hi = getattr(self, name), getattr(self, lo_name), getattr(self, hi_name)
            if param == "rep_penalty":
                lo = min(lo, 1.0)
            if not lo <= v <= hi:
                raise ValueError(
                    f"{name}={v} is outside [{lo_name}, {hi_name}] = [{lo}, {hi}], where the "
                    f"bisection solver would run it at {min(max(v, lo), hi)}; set {name} within "
                    f"the bounds, move the bounds, or set clamp_base=true to clamp on purpose")

    def weights(self) -> tuple[float, float, float, float]:
        """The four alpha weights, in the order token H, token VH, attention H, attention VH."""
        return tuple(getattr(self, n) for n in _WEIGHT_FIELDS)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


_WEIGHT_FIELDS = ("weight_token_entropy", "weight_token_varentropy", "weight_attn_entropy",
                  "weight_attn_varentropy")
