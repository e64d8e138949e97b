"""One way to check a setting: a number in a range, a whole number, a choice, a flag, known keys.

Every check raises one `ValueError` line naming the field as the user writes it (`base_temp`,
`sampler.top_p`, `evaluation.options.batch_size`), the value, and what to use instead:

    sampler.top_p=1.5 is invalid: use a number in (0, 1]
    top_k_min=5.5 is invalid: use a whole number in [1, inf)
    solver='bisectoin' is unknown; did you mean 'bisection'? choose one of ['bisection', 'seed_adam']
    clamp_base='yes' is invalid: use true or false
    evaluation.options has unknown key(s) ['evaluation.options.batchsize']; did you mean
        'evaluation.options.batch_size'? known: [...]

Objects check their settings once, when built (`SamplerConfig`, the baselines' builders,
`EvalOptions`, the runner's `RunSettings`, the tuner's `TuneConfig`); later layers trust them.
This module knows nothing else.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

INF = math.inf


def _span(low: float, high: float, low_open: bool, high_open: bool) -> str:
    show = lambda x: "inf" if x == INF else "-inf" if x == -INF else f"{x:g}"  # noqa: E731
    return f"{'(' if low_open or low == -INF else '['}{show(low)}, {show(high)}" \
           f"{')' if high_open or high == INF else ']'}"


def is_number(value: Any) -> bool:
    """A real number (bool excluded), not NaN."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def number(field: str, value: Any, *, low: float = -INF, high: float = INF,
           low_open: bool = False, high_open: bool = False, whole: bool = False) -> Any:
    """`value` when it is a number in the range (a whole number with `whole`); else one line.

    Numbers are finite (infinite ends are open). Returns the value unchanged.
    """
    ok = is_number(value) and math.isfinite(value) \
        and (value > low if low_open else value >= low) \
        and (value < high if high_open else value <= high) and (not whole or float(value).is_integer())
    if not ok:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{field}={value!r} is invalid: use {kind} in "
                         f"{_span(low, high, low_open, high_open)}")
    return value


def whole(field: str, value: Any, *, low: float = -INF, high: float = INF) -> int:
    """`value` when it is an int (not a bool, not a float) in [low, high]; else one line."""
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise ValueError(f"{field}={value!r} is invalid: use an integer in "
                         f"{_span(low, high, False, False)}")
    return value


def choice(field: str, value: Any, options: Iterable) -> Any:
    """`value` when it is one of `options`; else one line with the closest option."""
    options = list(options)
    if value not in options:
        close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"{field}={value!r} is unknown; {hint}choose one of {options}")
    return value


def flag(field: str, value: Any) -> bool:
    """`value` when it is a bool; else one line."""
    if not isinstance(value, bool):
        raise ValueError(f"{field}={value!r} is invalid: use true or false")
    return value


def known_keys(where: str, given: Iterable[str], known: Iterable[str], *, prefix: str = "") -> None:
    """One line naming the keys of `given` that are not in `known` (as the user writes them:
    `prefix` + key, e.g. `sampler.min_p`), with the closest known key."""
    known = sorted(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {prefix + close[0]!r}? " if close else ""
        raise ValueError(f"{where} has unknown key(s) {[prefix + k for k in unknown]}; {hint}"
                         f"known: {known}")
