"""Registries: one way to build every configured object (samplers, metrics, loggers, models,
dataset sources) from a config's name.

A `Registry` maps a name to a builder (or, for metrics, a spec). Configs name the entry
(`sampler.name`, `evaluation.metrics`, `logger.type`, ...) and give flat keyword parameters;
`build(name, **params)` calls the builder, and an unknown name is one `ValueError` line that
lists the known ones. Modules register their entries with `@REGISTRY.register("name")` on import.

Samplers are discovered, not listed: every module of the `alpha` package whose source registers
a sampler (calls `register_sampler(`) is imported the first time the sampler registry is read, and
installed packages can add samplers through the `alpha.samplers` entry-point group.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from alpha.protocol import TokenSampler


class Registry(dict):
    """name -> builder (a dict), with a decorator to register and `build` to construct.

    Args:
        key: the config key that names an entry, used in messages (e.g. "sampler.name").
        discover: called once before the first lookup, to import the modules that register.
    """

    def __init__(self, key: str, *, discover: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.key = key
        self._discover = discover

    def _load(self) -> None:
        if self._discover is not None:
            discover, self._discover = self._discover, None
            discover()

    def add(self, name: str, entry: Any, *, same: Callable[[Any, Any], bool] | None = None) -> None:
        """Register `entry` under `name`; a second, different entry under one name is an error."""
        same = same or (lambda a, b: a is b)
        if name in self and not same(self[name], entry):
            raise ValueError(f"{self.key} {name!r} is registered twice")
        self[name] = entry

    def register(self, name: str) -> Callable:
        """Decorator: register the decorated builder under `name`."""

        def wrap(fn: Callable) -> Callable:
            self.add(name, fn)
            return fn

        return wrap

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        self._load()
        return list(self)

    def get_entry(self, name: str) -> Any:
        """The entry of `name`; ValueError naming the key and the known names otherwise."""
        self._load()
        if name not in self:
            raise ValueError(f"{self.key}={name!r} is unknown; choose one of {sorted(self)}")
        return self[name]

    def build(self, name: str, /, *args: Any, **params: Any) -> Any:
        """Call the builder registered as `name` (positional-only: params may hold a `name` key)."""
        return self.get_entry(name)(*args, **params)


def _modules_registering(package_path: Iterable[str], prefix: str, marker: str) -> list[str]:
    """Modules of a package whose source contains `marker` (read as text, not imported)."""
    found = []
    for info in pkgutil.iter_modules(package_path, prefix):
        path = Path(info.module_finder.path) / (info.name.rsplit(".", 1)[-1] + ".py")
        if not info.ispkg and path.is_file() and marker in path.read_text(encoding="utf-8"):
            found.append(info.name)
    return found


def _discover_samplers() -> None:
    import alpha

    for name in _modules_registering(alpha.__path__, "alpha.", "register_sampler("):
        importlib.import_module(name)
    for entry in metadata.entry_points(group="alpha.samplers"):  # plugins: a module to import
        entry.load()


SAMPLERS: Registry = Registry("sampler.name", discover=_discover_samplers)


def register_sampler(name: str) -> Callable:
    """Decorator: register `fn(**params) -> TokenSampler` under `name`."""
    return SAMPLERS.register(name)


def available_samplers() -> list[str]:
    return sorted(SAMPLERS.names())


def build_sampler(name: str, **params: Any) -> TokenSampler:
    """Build the sampler registered as `name` with keyword `params`.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    return SAMPLERS.build(name, **params)
