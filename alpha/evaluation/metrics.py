"""The built-in metrics: adapters from an EvalContext to the pure functions of this package.

Each adapter registers one metric name (see docs/metrics.md for definitions) and returns a
MetricResult: the aggregate, its bootstrap interval, how many prompts it used, a note, and the
per-prompt values when the metric has them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alpha.data import gsm8k_cot
from alpha.evaluation import accuracy as acc
from alpha.evaluation import bootstrap as bs
from alpha.evaluation import repetition as rep
from alpha.evaluation.bleu import self_bleu_scores, subsample
from alpha.evaluation.context import EvalContext
from alpha.evaluation.embeddings import (
    cosine_rows,
    last_hidden_features,
    model_identity,
    reused_features,
    sentence_embeddings,
)
from alpha.evaluation.mauve_score import MIN_SAMPLES, mauve_from_features, too_few_note
from alpha.evaluation.perplexity import generation_scores, score_continuations
from alpha.evaluation.registry import MetricResult, register_metric
from alpha.evaluation.zipf import zipf_coefficient

REP_ORDERS = (2, 3, 4)
DISTINCT_ORDERS = (1, 2, 3, 4)


def mean_result(ctx: EvalContext, values: Sequence[float | None], *,
                undefined: str = "undefined") -> MetricResult:
    """Mean of the defined values with a bootstrap interval; the note counts the None ones."""
    defined = [v for v in values if v is not None]
    missing = len(values) - len(defined)
    note = f"{missing} of {len(values)} prompts {undefined}" if missing else ""
    if not defined:
        return MetricResult(None, 0, None, note or "no prompts", list(values))
    ci = bs.mean_ci(ctx.weights, values) if ctx.weights is not None and len(defined) > 1 else None
    return MetricResult(float(np.mean(defined)), len(defined), ci, note, list(values))


# --- repetition and diversity (whitespace tokens) -------------------------------------------

def _unique_totals(ctx: EvalContext, n: int) -> list[tuple[int, int]]:
    drop = ctx.options.simctg_compat
    return ctx.cached(f"ut{n}{drop}", lambda: [rep.unique_total(w, n, drop_last=drop)
                                              for w in ctx.words])


def _rep_stats(ctx: EvalContext, n: int) -> tuple[float | None, np.ndarray | None]:
    """Pooled rep-n and its (B,) bootstrap statistics."""
    pairs = _unique_totals(ctx, n)
    uniq, total = [p[0] for p in pairs], [p[1] for p in pairs]
    value = rep.pooled_rep(uniq, total, simctg_compat=ctx.options.simctg_compat)
    stats = None if ctx.weights is None else 100.0 * (1 - bs.ratio_stats(ctx.weights, uniq, total))
    return value, stats


def _rep_result(ctx: EvalContext, n: int) -> MetricResult:
    value, stats = _rep_stats(ctx, n)
    pairs = _unique_totals(ctx, n)
    per = [100.0 * (1 - u / t) if t else None for u, t in pairs]
    used = sum(1 for _, t in pairs if t)
    mode = ("SimCTG-compatible (last n-gram dropped, rounded)" if ctx.options.simctg_compat
            else "all n-grams")
    note = f"pooled over {used} texts, {mode}" + ("" if value is not None else "; no n-grams")
    ci = bs.interval(stats) if stats is not None and used > 1 else None
    return MetricResult(value, used, ci, note, per)


def _register_orders(name: str, orders: Sequence[int], result, *, description: str,
                     **meta) -> None:
    """Register metric `name.format(n=n)` for each order n, computed by `result(ctx, n)`."""
    for n in orders:
        register_metric(name.format(n=n), description=description.format(n=n), **meta)(
            lambda ctx, n=n: result(ctx, n))


_register_orders("rep_{n}", REP_ORDERS, _rep_result, higher_is_better=False,
                 aggregation="pooled",
                 description="SimCTG rep-{n}: 100*(1 - unique/total {n}-grams), pooled")


@register_metric("diversity", higher_is_better=True, aggregation="pooled",
                 description="SimCTG diversity: prod over n=2,3,4 of (1 - rep-n/100)")
def _diversity(ctx: EvalContext) -> MetricResult:
    parts = [_rep_stats(ctx, n) for n in REP_ORDERS]
    value = rep.diversity([p[0] for p in parts])
    ci = None
    if ctx.weights is not None and value is not None:
        ci = bs.interval(np.prod([1 - p[1] / 100.0 for p in parts], axis=0))
    per_n = [[100.0 * (1 - u / t) if t else None for u, t in _unique_totals(ctx, n)]
             for n in REP_ORDERS]
    per = [rep.diversity(list(vals)) for vals in zip(*per_n, strict=True)]
    used = sum(1 for _, t in _unique_totals(ctx, max(REP_ORDERS)) if t)
    return MetricResult(value, used, ci, "" if value is not None else "no 4-grams", per)


def _seq_rep_result(ctx: EvalContext, n: int) -> MetricResult:
    return mean_result(ctx, [rep.seq_rep_n(w, n) for w in ctx.words],
                       undefined=f"have no {n}-gram")


_register_orders("seq_rep_{n}", REP_ORDERS, _seq_rep_result, higher_is_better=False,
                 aggregation="mean",
                 description="Welleck seq-rep-{n}: 1 - unique/total {n}-grams per text")


def _distinct_result(ctx: EvalContext, n: int) -> MetricResult:
    grams = [rep.ngrams(w, n) for w in ctx.words]
    total = [len(g) for g in grams]
    value = rep.distinct_n(ctx.words, n)
    per = [len(set(g)) / len(g) if g else None for g in grams]
    used = sum(1 for t in total if t)
    note = f"distinct {n}-grams of all texts / total, {used} texts; no interval (set statistic)"
    return MetricResult(value, used, None, note, per)


_register_orders("distinct_{n}", DISTINCT_ORDERS, _distinct_result, higher_is_better=True,
                 aggregation="pooled",
                 description="distinct-{n}: distinct {n}-grams over the whole set / total")


@register_metric("self_bleu", higher_is_better=False, aggregation="mean",
                 description="Self-BLEU-4 (sacrebleu, floor smoothing 0.1), 0-1")
def _self_bleu(ctx: EvalContext) -> MetricResult:
    opts = ctx.options
    pool = [i for i, w in enumerate(ctx.words) if w]
    if len(pool) < 2:
        return MetricResult(None, len(pool), None, f"Self-BLEU undefined: needs >= 2 non-empty "
                            f"generations, got {len(pool)}", [None] * ctx.n)
    chosen = [pool[j] for j in subsample(len(pool), opts.self_bleu_max_samples,
                                         np.random.default_rng(ctx.seed))]
    scores = self_bleu_scores([ctx.texts[i] for i in chosen], max_order=opts.self_bleu_order)
    per: list[float | None] = [None] * ctx.n
    for i, s in zip(chosen, scores, strict=True):
        per[i] = s
    result = mean_result(ctx, per)
    note = f"each of {len(chosen)} generations vs the other {len(chosen) - 1}"
    if len(chosen) < len(pool):
        note += f" (seeded subset of {len(pool)})"
    return MetricResult(result.value, result.n, result.ci95, note, per)


@register_metric("zipf", higher_is_better=None, aggregation="corpus",
                 description="Zipf coefficient of word frequencies (human text ~1.0)")
def _zipf(ctx: EvalContext) -> MetricResult:
    top = ctx.options.zipf_top_n
    value = zipf_coefficient(ctx.words, top_n=top)
    used = sum(1 for w in ctx.words if w)
    note = f"least-squares fit over the top {top} words of {used} texts; no interval"
    return MetricResult(value, used, None, note, None)


# --- model-based ------------------------------------------------------------------------------

def _scores(ctx: EvalContext, which: str):
    """Continuation scores under the generating model ("model") or the oracle; the generating
    model's come from the records' token_logprobs when perplexity_source="generation"."""
    if which == "model" and ctx.options.perplexity_source == "generation":
        return ctx.cached("scores_generation", lambda: generation_scores(ctx.records))
    model = ctx.model if which == "model" else ctx.oracle
    tok = ctx.tokenizer if which == "model" else ctx.oracle_tokenizer
    return ctx.cached(f"scores_{which}", lambda: score_continuations(
        model, tok, ctx.prompts, ctx.texts, batch_size=ctx.options.batch_size,
        max_length=ctx.options.max_length))


@register_metric("perplexity", higher_is_better=None, aggregation="mean", needs="model",
                 description="perplexity of each continuation given its prompt, generating model")
def _perplexity(ctx: EvalContext) -> MetricResult:
    result = mean_result(ctx, [s.perplexity for s in _scores(ctx, "model")],
                         undefined="have no continuation token to score")
    source = ctx.options.perplexity_source
    stopped = sum(r.get("finish_reason") == "stop" for r in ctx.records)
    notes = [f"source={source}", result.note,
             f"{stopped} rows stopped at a stop string: their stop-string tokens are scored"
             if source == "generation" and stopped else ""]
    return MetricResult(result.value, result.n, result.ci95, "; ".join(n for n in notes if n),
                        result.per_prompt)


@register_metric("oracle_perplexity", higher_is_better=None, aggregation="mean", needs="oracle",
                 description="perplexity of each continuation given its prompt, oracle model")
def _oracle_perplexity(ctx: EvalContext) -> MetricResult:
    return mean_result(ctx, [s.perplexity for s in _scores(ctx, "oracle")],
                       undefined="have no continuation token to score")


@register_metric("coherence_ll", higher_is_better=True, aggregation="mean", needs="oracle",
                 description="mean log-prob per continuation token under the oracle (nats)")
def _coherence_ll(ctx: EvalContext) -> MetricResult:
    return mean_result(ctx, [s.mean_logprob for s in _scores(ctx, "oracle")],
                       undefined="have no continuation token to score")


@register_metric("coherence", higher_is_better=True, aggregation="mean", needs="embedder",
                 description="cosine of prompt and continuation sentence embeddings (MiniLM)")
def _coherence(ctx: EvalContext) -> MetricResult:
    keep = [i for i in range(ctx.n) if ctx.texts[i].strip() and ctx.prompts[i].strip()]
    per: list[float | None] = [None] * ctx.n
    if keep:
        name, size = ctx.options.coherence_model, ctx.options.batch_size
        emb_p = sentence_embeddings(name, [ctx.prompts[i] for i in keep], batch_size=size)
        emb_t = sentence_embeddings(name, [ctx.texts[i] for i in keep], batch_size=size)
        for i, c in zip(keep, cosine_rows(emb_p, emb_t).tolist(), strict=True):
            per[i] = c
    result = mean_result(ctx, per, undefined="have an empty prompt or generation")
    note = f"model={ctx.options.coherence_model}" + (f"; {result.note}" if result.note else "")
    return MetricResult(result.value, result.n, result.ci95, note, per)


def _features(ctx: EvalContext, texts: list[str], *, reuse: bool = False) -> np.ndarray:
    """MAUVE features of `texts`; `reuse`: texts that recur across runs (the references)."""
    name, size = ctx.options.mauve_feature_model, ctx.options.batch_size
    if name in ("generator", "oracle"):
        model = ctx.model if name == "generator" else ctx.oracle
        tok = ctx.tokenizer if name == "generator" else ctx.oracle_tokenizer
        ident = model_identity(model)
        key = (*ident, ctx.options.max_length) if ident and reuse else None
        return reused_features(key, texts, lambda: last_hidden_features(
            model, tok, texts, batch_size=size, max_length=ctx.options.max_length))
    return reused_features((name,) if reuse else None, texts,
                           lambda: sentence_embeddings(name, texts, batch_size=size))


@register_metric("mauve", higher_is_better=True, aggregation="corpus", needs="embedder",
                 description="MAUVE (mauve-text) of generations vs reference continuations")
def _mauve(ctx: EvalContext) -> MetricResult:
    refs = [r.get("reference") for r in ctx.records]
    q_texts = [r for r in refs if isinstance(r, str) and r.strip()]
    p_texts = [t for t in ctx.texts if t.strip()]
    if not q_texts:
        return MetricResult(None, 0, None, "MAUVE undefined: the records have no reference "
                            "continuations (use a dataset with reference_field)")
    if min(len(p_texts), len(q_texts)) < MIN_SAMPLES:
        return MetricResult(None, len(p_texts), None, too_few_note(len(p_texts), len(q_texts)))
    out = mauve_from_features(_features(ctx, p_texts), _features(ctx, q_texts, reuse=True),
                              seed=ctx.seed, num_buckets=ctx.options.mauve_num_buckets,
                              scaling_factor=ctx.options.mauve_scaling_factor,
                              kmeans_seeds=ctx.options.mauve_kmeans_seeds)
    note = f"{out.note}; features={ctx.options.mauve_feature_model}"
    return MetricResult(out.value, out.n_p, None, note)


# --- task accuracy ----------------------------------------------------------------------------

@register_metric("accuracy", higher_is_better=True, aggregation="mean",
                 description="lenient exact match of the extracted answer (#### N, else last "
                             "number; numbers canonicalised): above gsm8k_flexible")
def _accuracy(ctx: EvalContext) -> MetricResult:
    per: list[float | None] = []
    unextracted = 0
    for rec in ctx.records:
        answer = rec.get("answer")
        if answer is None:
            per.append(None)
            continue
        correct, extracted = acc.is_correct(rec["text"], str(answer))
        unextracted += not extracted
        per.append(float(correct))
    result = mean_result(ctx, per, undefined="have no answer in the dataset")
    notes = [n for n in (result.note, f"{unextracted} generations had no extractable answer "
                         "(counted wrong)" if unextracted else "") if n]
    return MetricResult(result.value, result.n, result.ci95, "; ".join(notes), per)


def _gsm8k(ctx: EvalContext, which: str) -> MetricResult:
    """lm-evaluation-harness gsm8k_cot scoring (`alpha.data.gsm8k_cot.score`) of each
    generation against the record's answer; None for records without an answer."""
    per = [None if rec.get("answer") is None else
           gsm8k_cot.score(rec["text"], str(rec["answer"]))[which] for rec in ctx.records]
    return mean_result(ctx, per, undefined="have no answer in the dataset")


@register_metric("gsm8k_strict", higher_is_better=True, aggregation="mean",
                 description="lm-eval gsm8k_cot strict-match: the first 'The answer is N.' equals "
                             "the target")
def _gsm8k_strict(ctx: EvalContext) -> MetricResult:
    return _gsm8k(ctx, "strict_match")


@register_metric("gsm8k_flexible", higher_is_better=True, aggregation="mean",
                 description="lm-eval gsm8k_cot flexible-extract: the last number-like span "
                             "equals the target")
def _gsm8k_flexible(ctx: EvalContext) -> MetricResult:
    return _gsm8k(ctx, "flexible_extract")


# --- cost -------------------------------------------------------------------------------------

def _num_tokens(ctx: EvalContext) -> list[int]:
    return [int(r["num_tokens"]) for r in ctx.records]


@register_metric("generated_tokens", higher_is_better=None, aggregation="sum",
                 description="tokens generated over the run")
def _generated_tokens(ctx: EvalContext) -> MetricResult:
    return MetricResult(float(sum(_num_tokens(ctx))), ctx.n)


@register_metric("wall_time_s", higher_is_better=False, aggregation="run",
                 description="wall-clock seconds of generation")
def _wall_time(ctx: EvalContext) -> MetricResult:
    if ctx.wall_time_s is None:
        return MetricResult(None, ctx.n, None, "wall_time_s not given")
    return MetricResult(float(ctx.wall_time_s), ctx.n)


@register_metric("tokens_per_s", higher_is_better=True, aggregation="run",
                 description="generated tokens / wall-clock seconds")
def _tokens_per_s(ctx: EvalContext) -> MetricResult:
    if not ctx.wall_time_s:
        return MetricResult(None, ctx.n, None, "wall_time_s not given (or 0)")
    return MetricResult(sum(_num_tokens(ctx)) / ctx.wall_time_s, ctx.n)


@register_metric("eos_rate", higher_is_better=None, aggregation="mean",
                 description="fraction of generations that ended with EOS")
def _eos_rate(ctx: EvalContext) -> MetricResult:
    return mean_result(ctx, [float(r["finish_reason"] == "eos") for r in ctx.records])


@register_metric("mean_length", higher_is_better=None, aggregation="mean",
                 description="mean generated tokens per prompt")
def _mean_length(ctx: EvalContext) -> MetricResult:
    return mean_result(ctx, [float(n) for n in _num_tokens(ctx)])

