"""Registries: one way to build every configured object (samplers, metrics, loggers, models,
dataset sources) from a config's name.

A `Registry` maps a name to a builder (or, for metrics, a spec). Configs name the entry
(`sampler.name`, `evaluation.metrics`, `logger.type`, ...) and give flat keyword parameters;
`build(name, **params)` calls the builder, and an unknown name is one `ValueError` line that
suggests the closest known name and lists them all. Modules register their entries with
`@REGISTRY.register("name")` on import.

Samplers are listed, as lm-evaluation-harness lists its models: `SAMPLER_MAPPING` maps each
name to `"module:builder"`, imported the first time that name is built. Installed packages add
samplers through the `alpha.samplers` entry-point group (`name = "module:builder"`), read the
same lazy way; `register_sampler(name)` registers a builder in-process (tests, notebooks). What a
builder returns is checked against the `TokenSampler` protocol.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the registries load without torch (alpha.data's)
    from alpha.protocol import TokenSampler


class Registry(dict):
    """name -> builder (a dict), with a decorator to register and `build` to construct.

    Args:
        key: the config key that names an entry, used in messages (e.g. "sampler.name").
    """

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

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
        return list(self)

    def get_entry(self, name: str) -> Any:
        """The entry of `name`; ValueError naming the key, the closest known name and all of them
        otherwise."""
        if name not in self:
            known = self.names()
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"{self.key}={name!r} is unknown; {hint}choose one of {sorted(known)}")
        return self[name]

    def build(self, name: str, /, *args: Any, **params: Any) -> Any:
        """Call the builder registered as `name` (positional-only: params may hold a `name` key)."""
        return self.get_entry(name)(*args, **params)


# name -> "module:builder". Adding a sampler to the package: its module, this line, its
# conf/sampler/NAME.yaml (docs/design.md, "Where things live").
SAMPLER_MAPPING: dict[str, str] = {
    "alpha": "alpha.sampler:build_alpha",
    "alpha_lexical": "alpha.sampler:build_alpha_lexical",
    "alpha_seed": "alpha.sampler:build_alpha_seed",
    "greedy": "alpha.baselines:build_greedy",
    "pure": "alpha.baselines:build_pure",
    "temperature": "alpha.baselines:build_temperature",
    "top_k": "alpha.baselines:build_top_k",
    "top_p": "alpha.baselines:build_top_p",
    "min_p": "alpha.baselines:build_min_p",
    "top_p_rep": "alpha.baselines:build_top_p",  # top_p / min_p with a penalty: own names in tables
    "min_p_rep": "alpha.baselines:build_min_p",
    "typical": "alpha.baselines:build_typical",
    "epsilon": "alpha.baselines:build_epsilon",
    "eta": "alpha.baselines:build_eta",
    "edt": "alpha.baselines:build_edt",
    "dynatemp": "alpha.baselines:build_dynatemp",
    "entropix": "alpha.baselines:build_entropix",
    "top_n_sigma": "alpha.truncation:build_top_n_sigma",
    "p_less": "alpha.truncation:build_p_less",
    "top_h": "alpha.truncation:build_top_h",
    "quadratic": "alpha.truncation:build_quadratic",
    "mirostat_v2": "alpha.mirostat:build_mirostat_v2",
    "adaptive_p": "alpha.adaptive_p:build_adaptive_p",
    "xtc": "alpha.truncation:build_xtc",
    "contrastive": "alpha.contrastive:build_contrastive",  # a decoder (needs the model)
    "dry": "alpha.dry:build_dry",
    "gated": "alpha.gated:build_gated",
}
ENTRY_POINT_GROUP = "alpha.samplers"


def load_target(target: str) -> Callable:
    """Import `"module:attribute"` and return the attribute."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class LazyRegistry(Registry):
    """A Registry whose entries can also be `"module:builder"` targets, imported on first use
    (`targets`), and whose built objects are checked by `check` (e.g. a protocol)."""

    def __init__(self, key: str, targets: Callable[[], dict[str, str]], *,
                 check: Callable[[str, Any], None] | None = None) -> None:
        super().__init__(key)
        self._targets_fn, self._targets = targets, None
        self._check = check

    def targets(self) -> dict[str, str]:
        if self._targets is None:
            self._targets = self._targets_fn()
        return self._targets

    def names(self) -> list[str]:
        return list(dict.fromkeys([*self.targets(), *self]))

    def get_entry(self, name: str) -> Any:
        if name not in self and name in self.targets():
            self[name] = load_target(self.targets()[name])
        return super().get_entry(name)

    def build(self, name: str, /, *args: Any, **params: Any) -> Any:
        built = self.get_entry(name)(*args, **params)
        if self._check is not None:
            self._check(name, built)
        return built


def _sampler_targets() -> dict[str, str]:
    """The package's samplers, then installed plugins' (`alpha.samplers` entry points)."""
    targets = dict(SAMPLER_MAPPING)
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(entry.name, entry.value)
    return targets


def _check_sampler(name: str, built: Any) -> None:
    from alpha.protocol import TokenSampler

    if not isinstance(built, TokenSampler):
        raise ValueError(f"sampler {name!r}: its builder returned {type(built).__name__}, which is "
                         "not a TokenSampler (it needs reset(batch_size, ...) and step(logits, "
                         "input_ids, ...); see alpha/protocol.py)")


SAMPLERS: LazyRegistry = LazyRegistry("sampler.name", _sampler_targets, check=_check_sampler)


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
