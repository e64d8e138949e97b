"""Metric registry: name -> MetricSpec(higher_is_better, aggregation, needs, fn).

Like lm-evaluation-harness, each metric is registered by name with its direction and how its
per-prompt values become one number. `fn(ctx) -> MetricResult` receives the shared
`EvalContext` (records, models, options, cached intermediate results).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alpha.registry import Registry

AGGREGATIONS = {
    "mean": "mean of the defined per-prompt values",
    "pooled": "ratio of sums over prompts (per-prompt values are the same ratio on one prompt)",
    "corpus": "computed once over the whole set of generations",
    "sum": "sum over prompts",
    "run": "one value for the run (cost)",
}
NEEDS = (None, "model", "oracle", "embedder", "references")


@dataclass(frozen=True)
class MetricResult:
    """What a metric function returns; `per_prompt` is None for corpus-only metrics."""

    value: float | None
    n: int
    ci95: list[float] | None = None
    note: str = ""
    per_prompt: list[float | None] | None = None


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    Attributes:
        name: the key in metrics.json and per-prompt dicts.
        higher_is_better: True/False, or None when there is no direction (compare to the human
            reference value instead, e.g. Zipf, perplexity).
        aggregation: a key of AGGREGATIONS.
        needs: None (text only), "model" (the generating model), "oracle", "embedder" (a
            sentence-embedding or feature model) or "references".
        fn: `fn(ctx: EvalContext) -> MetricResult`.
        description: one line for docs and tables.
    """

    name: str
    higher_is_better: bool | None
    aggregation: str
    needs: str | None
    fn: Callable[[Any], MetricResult]
    description: str

    @property
    def needs_model(self) -> bool:
        """True when the metric runs a neural model (excluded from `fast`)."""
        return self.needs is not None and self.needs != "references"


METRICS: Registry = Registry("evaluation.metrics")  # name -> MetricSpec


def register_metric(name: str, *, higher_is_better: bool | None, aggregation: str,
                    needs: str | None = None, description: str = "") -> Callable:
    """Decorator: register `fn(ctx) -> MetricResult` as metric `name`."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation={aggregation!r} for metric {name!r}: "
                         f"choose one of {sorted(AGGREGATIONS)}")
    if needs not in NEEDS:
        raise ValueError(f"needs={needs!r} for metric {name!r}: choose one of {NEEDS}")

    def wrap(fn: Callable[[Any], MetricResult]) -> Callable[[Any], MetricResult]:
        METRICS.add(name, MetricSpec(name, higher_is_better, aggregation, needs, fn, description),
                    same=lambda old, new: old.fn is new.fn)
        return fn

    return wrap


def available_metrics() -> list[str]:
    """Registered metric names, in registration order."""
    from alpha.evaluation import metrics  # noqa: F401  (registers the built-in metrics)

    return list(METRICS)
