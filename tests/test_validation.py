"""alpha.validation: the one way settings are checked. Messages by hand; bad inputs tried: a
bool for a number, NaN, infinity, a string, a float for an integer, a value outside each kind of
range end, a typo'd choice and key."""

from __future__ import annotations

import inspect

import pytest

import alpha.sampler
from alpha import validation as V


@pytest.mark.parametrize("call, message", [
    (lambda: V.number("sampler.top_p", 1.5, low=0.0, high=1.0, low_open=True),
     "sampler.top_p=1.5 is invalid: use a number in (0, 1]"),
    (lambda: V.number("x", True), "x=True is invalid: use a number in (-inf, inf)"),
    (lambda: V.number("x", float("nan")), "x=nan is invalid: use a number in (-inf, inf)"),
    (lambda: V.number("x", float("inf"), low=0.0), "x=inf is invalid: use a number in [0, inf)"),
    (lambda: V.number("x", "2"), "x='2' is invalid: use a number in (-inf, inf)"),
    (lambda: V.number("f", 1.0, low=0.0, high=1.0, high_open=True), "f=1.0 is invalid: use a number in [0, 1)"),
    (lambda: V.number("k", 5.5, low=1, whole=True), "k=5.5 is invalid: use a whole number in [1, inf)"),
    (lambda: V.whole("n", 2.0, low=1), "n=2.0 is invalid: use an integer in [1, inf)"),
    (lambda: V.whole("n", 0, low=1), "n=0 is invalid: use an integer in [1, inf)"),
    (lambda: V.choice("solver", "bisectoin", ["bisection", "seed_adam"]),
     "solver='bisectoin' is unknown; did you mean 'bisection'? choose one of ['bisection', 'seed_adam']"),
    (lambda: V.flag("force", "yes"), "force='yes' is invalid: use true or false"),
    (lambda: V.known_keys("evaluation.options", {"batchsize": 1}, ["batch_size", "seed"],
                          prefix="evaluation.options."),
     "evaluation.options has unknown key(s) ['evaluation.options.batchsize']; did you mean "
     "'evaluation.options.batch_size'? known: ['batch_size', 'seed']"),
])
def test_each_check_is_one_line_with_the_field_the_value_and_the_fix(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message


def test_valid_values_pass_through_unchanged():
    assert V.number("x", 3, low=0) == 3 and V.number("k", 4.0, whole=True) == 4.0
    assert V.whole("n", 7, low=1) == 7 and V.choice("c", None, [None, "a"]) is None
    assert V.flag("f", False) is False
    V.known_keys("w", {"a": 1}, ["a", "b"])


def test_the_sampler_trusts_its_config():
    """base_temp and every other field are checked in SamplerConfig alone (when built and when
    a field is set); the sampler never re-validates."""
    assert ".validate(" not in inspect.getsource(alpha.sampler)
