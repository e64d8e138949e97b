"""Sampler registry: config name -> builder of a `TokenSampler`.

Configs (Hydra's `conf/sampler/*.yaml` or plain dicts) name a sampler with `name:` and give its
flat keyword parameters; `build_sampler` turns that into an object the engine can drive.
Modules register their samplers with `@register_sampler("name")` on import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from alpha.protocol import TokenSampler

_BUILDERS: dict[str, Callable[..., TokenSampler]] = {}
_MODULES = ("alpha.sampler", "alpha.baselines")  # modules whose import registers samplers


def register_sampler(name: str) -> Callable:
    """Decorator: register `fn(**params) -> TokenSampler` under `name`."""

    def wrap(fn: Callable[..., TokenSampler]) -> Callable[..., TokenSampler]:
        if name in _BUILDERS and _BUILDERS[name] is not fn:
            raise ValueError(f"sampler name {name!r} is registered twice")
        _BUILDERS[name] = fn
        return fn

    return wrap


def _load_all() -> None:
    for mod in _MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:  # a module not written yet registers nothing
            if err.name != mod:
                raise


def available_samplers() -> list[str]:
    _load_all()
    return sorted(_BUILDERS)


def build_sampler(name: str, **params: Any) -> TokenSampler:
    """Build the sampler registered as `name` with keyword `params`.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    _load_all()
    if name not in _BUILDERS:
        raise ValueError(f"sampler.name={name!r} is unknown; choose one of {sorted(_BUILDERS)}")
    return _BUILDERS[name](**params)
