"""Evaluation: metrics registered by name, computed over generation records.

`evaluate_records(records, metrics=[...], ...)` is the entry point the runner calls; `METRICS`
maps each name to its MetricSpec (higher_is_better, aggregation, needs, fn). Definitions of
every metric: docs/metrics.md. No Hydra/W&B here: options arrive as a plain dict.
"""

from alpha.evaluation.evaluator import (
    EvalReport,
    check_metric_names,
    check_records,
    evaluate_records,
    needs_oracle,
)
from alpha.evaluation.options import EvalOptions
from alpha.evaluation.registry import (
    METRICS,
    MetricResult,
    MetricSpec,
    available_metrics,
    register_metric,
)

__all__ = [
    "METRICS",
    "EvalOptions",
    "EvalReport",
    "MetricResult",
    "MetricSpec",
    "available_metrics",
    "check_metric_names",
    "check_records",
    "evaluate_records",
    "needs_oracle",
    "register_metric",
]
