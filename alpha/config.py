"""`SamplerConfig`: every knob of the adaptive sampler, validated on construction.

Field names are flat (`temp_min`, not `bounds.temperature[0]`) so a Hydra command line can
override any of them (`sampler.temp_min=0.2`). The dataclass is mutable like the original's
(`cfg.base_temp = 0.3` works); `validate()` re-checks it and the sampler calls it when built.
This module knows nothing about tensors or models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

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

    @classmethod
    def original(cls, **overrides) -> SamplerConfig:
        """The original's base values (`ORIGINAL_BASE`), with `overrides` on top."""
        return cls(**{**ORIGINAL_BASE, **overrides})

    def validate(self) -> None:
        """Raise `ValueError` naming the field, its value and the allowed range."""
        for _, lo_name, hi_name, (a, b), integer in BOUNDS:
            lo, hi = getattr(self, lo_name), getattr(self, hi_name)
            for name, v in ((lo_name, lo), (hi_name, hi)):
                _check_number(name, v, integer)
                if not (a < v <= b if not integer else a <= v <= b):
                    op = "<=" if integer else "<"
                    raise ValueError(f"{name}={v} is outside the allowed range {a} {op} {name} <= {b}")
            if lo > hi:
                op = "<=" if integer else "<"
                raise ValueError(
                    f"{lo_name}={lo} must be <= {hi_name}={hi} (allowed: {a} {op} {lo_name} <= "
                    f"{hi_name}); lower {lo_name} or raise {hi_name}"
                )
        for name in ("alpha_window_size", "rep_window", "opt_max_iters", "solver_iters",
                     "base_top_k", "base_candidate_size"):
            _check_number(name, getattr(self, name), True)
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be an integer >= 1")
        weights = self.weights()
        for name, w in zip(_WEIGHT_FIELDS, weights, strict=True):
            _check_number(name, w, False)
            if w < 0:
                raise ValueError(f"{name}={w} must be >= 0 (alpha weights are non-negative)")
        if sum(weights) <= 0:
            raise ValueError(f"all four alpha weights are 0 ({', '.join(_WEIGHT_FIELDS)}); "
                             "set at least one > 0")
        _check_range("param_smoothing_factor", self.param_smoothing_factor, 0.0, 1.0, "0 <= f < 1")
        _check_range("target_scale", self.target_scale, 0.0, float("inf"), "target_scale > 0",
                     lo_open=True)
        _check_range("opt_learning_rate", self.opt_learning_rate, 0.0, float("inf"),
                     "opt_learning_rate > 0", lo_open=True)
        _check_range("opt_tolerance", self.opt_tolerance, 0.0, float("inf"), "opt_tolerance >= 0")
        for name in ("base_temp", "base_top_p", "base_rep_penalty"):
            _check_number(name, getattr(self, name), False)
        if not isinstance(self.clamp_base, bool):
            raise ValueError(f"clamp_base={self.clamp_base!r} must be true or false")
        if self.solver == "bisection" and not self.clamp_base:
            self._check_bases_in_bounds()
        if self.solver not in SOLVERS:
            raise ValueError(f"solver={self.solver!r} is unknown; choose one of {list(SOLVERS)}")
        if self.rep_penalty_scope not in REP_PENALTY_SCOPES:
            raise ValueError(f"rep_penalty_scope={self.rep_penalty_scope!r} is unknown; "
                             f"choose one of {list(REP_PENALTY_SCOPES)}")
        if self.attention_mode not in ATTENTION_MODES:
            raise ValueError(f"attention_mode={self.attention_mode!r} is unknown; "
                             f"choose one of {list(ATTENTION_MODES)}")

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


def _check_number(name: str, v, integer: bool) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{name}={v!r} must be a number")
    if integer and not float(v).is_integer():
        raise ValueError(f"{name}={v} must be a whole number")
    if v != v:
        raise ValueError(f"{name}=nan must be a number")


def _check_range(name: str, v, lo: float, hi: float, rule: str, lo_open: bool = False) -> None:
    _check_number(name, v, False)
    ok = (lo < v if lo_open else lo <= v) and v < hi
    if not ok:
        raise ValueError(f"{name}={v} is outside the allowed range ({rule})")
