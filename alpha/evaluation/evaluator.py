"""evaluate_records: run the requested metrics over generation records -> EvalReport.

The runner calls this once per run; the report's `aggregates` is the `metrics` mapping of
metrics.json and `per_prompt[i]` goes into row i of generations.jsonl.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alpha.evaluation import metrics as _builtin  # noqa: F401  (registers the metrics)
from alpha.evaluation import sampled as _sampled  # noqa: F401  (registers maj@k, pass@k, ...)
from alpha.evaluation.context import EvalContext
from alpha.evaluation.options import EvalOptions
from alpha.evaluation.perplexity import generation_scores
from alpha.evaluation.registry import METRICS, MetricSpec

COST_FIELDS = {"generated_tokens": "num_tokens", "tokens_per_s": "num_tokens",
               "mean_length": "num_tokens", "eos_rate": "finish_reason"}
FINISH_REASONS = ("eos", "length", "stop")


@dataclass(frozen=True)
class EvalReport:
    """Per-prompt values (aligned with the records) and one aggregate entry per metric.

    `aggregates[name]` = {"mean", "ci95": [lo, hi] | None, "n", "higher_is_better", "note"}
    ("mean" holds the aggregate value: a pooled ratio, a sum or a run figure for those
    aggregations). `per_prompt[i]` maps metric name -> value | None for metrics that have one.
    """

    per_prompt: list[dict[str, float | None]]
    aggregates: dict[str, dict[str, Any]]


def check_metric_names(metrics: Sequence[str]) -> None:
    """Every name is a registered metric (the runner calls this before loading anything)."""
    if isinstance(metrics, str):
        raise ValueError(f"metrics={metrics!r}: expected a list of names, e.g. [{metrics!r}]")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"evaluation.metrics has unknown metric(s) {unknown} (unknown names: "
                         f"check the spelling); choose from {list(METRICS)}")


def _reads_oracle(spec: MetricSpec, options: EvalOptions) -> bool:
    return spec.needs == "oracle" or (spec.name == "mauve"
                                      and options.mauve_feature_model == "oracle")


def needs_oracle(metrics: Sequence[str], options: EvalOptions | dict | None = None) -> bool:
    """Whether any of `metrics` reads the oracle model (oracle perplexity, coherence_ll, MAUVE
    on oracle features): the runner loads `evaluation.oracle` only then."""
    if not isinstance(options, EvalOptions):
        options = EvalOptions.from_dict(options)
    check_metric_names(metrics)
    return any(_reads_oracle(METRICS[m], options) for m in metrics)


def _check_metrics(metrics: Sequence[str], ctx: EvalContext) -> list[MetricSpec]:
    check_metric_names(metrics)
    specs = [METRICS[m] for m in dict.fromkeys(metrics)]
    feature = ctx.options.mauve_feature_model
    from_generation = ctx.options.perplexity_source == "generation"  # scores in the records
    for spec in specs:
        needs_model = ((spec.needs == "model" and not (spec.name == "perplexity" and from_generation))
                       or (spec.name == "mauve" and feature == "generator"))
        needs_oracle = _reads_oracle(spec, ctx.options)
        if needs_model and (ctx.model is None or ctx.tokenizer is None):
            raise ValueError(f"metric {spec.name!r} needs the generating model and tokenizer: "
                             "pass model= and tokenizer=, or drop it from evaluation.metrics")
        if needs_oracle and (ctx.oracle is None or ctx.oracle_tokenizer is None):
            raise ValueError(f"metric {spec.name!r} needs an oracle model: set evaluation.oracle "
                             "to a model config (pass oracle= and oracle_tokenizer=), or drop it")
    return specs


def _check_records(records: Sequence[dict], specs: Sequence[MetricSpec]) -> None:
    if not records:
        raise ValueError("records is empty: evaluate_records needs at least one generation")
    needed = {COST_FIELDS[s.name] for s in specs if s.name in COST_FIELDS}
    for i, rec in enumerate(records):
        if not isinstance(rec.get("text"), str):
            raise ValueError(f"records[{i}].text={rec.get('text')!r}: expected a string "
                             "(use '' for an empty generation)")
        if rec.get("prompt") is not None and not isinstance(rec["prompt"], str):
            raise ValueError(f"records[{i}].prompt={rec['prompt']!r}: expected a string")
        if "num_tokens" in needed and not isinstance(rec.get("num_tokens"), int):
            raise ValueError(f"records[{i}].num_tokens={rec.get('num_tokens')!r}: expected an "
                             "int (cost metrics need it)")
        if "finish_reason" in needed and rec.get("finish_reason") not in FINISH_REASONS:
            raise ValueError(f"records[{i}].finish_reason={rec.get('finish_reason')!r}: "
                             f"expected one of {FINISH_REASONS}")


def check_records(records: Sequence[dict], metrics: Sequence[str],
                  options: dict | EvalOptions | None = None) -> None:
    """The records carry every field `metrics` need under `options` (no model is run): text,
    cost fields, and token_logprobs for perplexity_source="generation". One-line ValueError.
    The runner calls it on a resumed run's finished rows before generating the rest."""
    opts = options if isinstance(options, EvalOptions) else EvalOptions.from_dict(options)
    check_metric_names(metrics)
    _check_records(records, [METRICS[m] for m in dict.fromkeys(metrics)])
    if opts.perplexity_source == "generation" and "perplexity" in metrics:
        generation_scores(records)  # raises on missing or misaligned token_logprobs


def evaluate_records(records: list[dict], *, metrics: Sequence[str], model=None, tokenizer=None,
                     oracle=None, oracle_tokenizer=None, options: dict | None = None,
                     seed: int = 0, wall_time_s: float | None = None,
                     progress: bool = False) -> EvalReport:
    """Compute `metrics` over generation records.

    Args:
        records: dicts with "prompt", "text" and, as the metrics need them, "reference",
            "answer" (str or None), "num_tokens" (int) and "finish_reason" (eos|length|stop).
        metrics: registered names (see `available_metrics()`), e.g. ["rep_2", "diversity"].
        model, tokenizer: the generating model (perplexity; MAUVE features="generator").
        oracle, oracle_tokenizer: a scoring model (oracle_perplexity, coherence_ll); its
            tokenizer may differ from the generator's (texts are re-tokenised).
        options: `EvalOptions` fields as a plain dict (unknown keys raise).
        seed: seeds bootstrap resampling, Self-BLEU subsampling and MAUVE's k-means.
        wall_time_s: generation wall time, for tokens_per_s and wall_time_s.
        progress: show a progress bar over the metrics (stderr; the metric running is named).

    Returns:
        EvalReport with per-prompt values and metrics.json-style aggregates.

    Raises:
        ValueError: unknown metric or option, a model-based metric without its model, or a
            malformed record (the message names the field).

    >>> rep = evaluate_records([{"prompt": "Hi", "text": "a b a b a"},
    ...                         {"prompt": "Yo", "text": "c d e f"}], metrics=["rep_2"])
    >>> round(rep.aggregates["rep_2"]["mean"], 2)
    28.57
    """
    ctx = EvalContext(list(records), EvalOptions.from_dict(options), seed, model, tokenizer,
                      oracle, oracle_tokenizer, wall_time_s)
    specs = _check_metrics(metrics, ctx)
    check_records(ctx.records, [s.name for s in specs], ctx.options)  # before any metric runs
    per_prompt: list[dict[str, float | None]] = [{} for _ in ctx.records]
    aggregates: dict[str, dict[str, Any]] = {}
    from tqdm.auto import tqdm

    bar = tqdm(specs, desc="evaluating", unit="metric", disable=not progress, dynamic_ncols=True)
    for spec in bar:
        bar.set_postfix_str(spec.name)
        result = spec.fn(ctx)
        aggregates[spec.name] = {"mean": result.value, "ci95": result.ci95, "n": result.n,
                                 "higher_is_better": spec.higher_is_better, "note": result.note}
        if result.per_prompt is not None:
            for row, value in zip(per_prompt, result.per_prompt, strict=True):
                row[spec.name] = value
    return EvalReport(per_prompt, aggregates)
