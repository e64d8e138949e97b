"""Metrics over k samples of each problem (`num_samples: k`): maj@k, pass@k, weighted vote, cost.

Records carry `problem` (the prompt's index) and `sample` (0..k-1) when a run drew several
samples of each prompt (`alpha.data.records.expand_samples`); a record without them is its own
problem with one sample. Answers are extracted and compared as `accuracy` does
(`alpha.evaluation.accuracy`). The vote and estimator rules are `alpha.evaluation.voting`'s:
first-seen ties, missing answers never vote, Chen et al.'s unbiased pass@k, maj@k as the mean
over all k-subsets of a problem's samples. Each metric is one number per run (a mean over
problems, with the problems counted as n); a k larger than a problem's samples is undefined.
`weighted_vote` weighs each sample by its geometric-mean token probability, exp(mean token
log-prob), from the run's own `token_logprobs`.

`branching_tokens_per_problem` counts a problem's k samples as a branching decoder would generate
them: one token per distinct prefix (the nodes of the samples' token trie), so a stretch the
samples share (e.g. the gated sampler's greedy opening, up to its first uncertain token) counts
once. The engine itself generates every sample in full (`tokens_per_problem`); this is the
budget of a decoder that forks at the first token where the samples part.
"""

from __future__ import annotations

import math
from collections import defaultdict

from alpha.evaluation import accuracy as acc
from alpha.evaluation import voting
from alpha.evaluation.context import EvalContext
from alpha.evaluation.registry import MetricResult, register_metric
from alpha.evaluation.signals import trie_nodes

KS = (1, 2, 4, 8)


def problems(ctx: EvalContext) -> list[list[dict]]:
    """The records grouped by problem (sample order kept), problems in first-seen order."""
    groups: dict[int, list[dict]] = defaultdict(list)
    for i, rec in enumerate(ctx.records):
        groups[int(rec.get("problem", rec.get("index", i)))].append(rec)
    return [sorted(g, key=lambda r: int(r.get("sample", 0))) for g in groups.values()]


def _answers(group: list[dict]) -> tuple[list[str | None], str | None]:
    gold = group[0].get("answer")
    return [acc.extract_answer(r["text"]) for r in group], \
        None if gold is None else acc.gold_answer(str(gold))


def _over_problems(ctx: EvalContext, score, k: int | None = None) -> MetricResult:
    values = []
    for group in ctx.cached("sample_groups", lambda: problems(ctx)):
        answers, gold = _answers(group)
        if gold is None or (k is not None and len(group) < k):
            continue
        values.append(score(answers, gold, group))
    if not values:
        return MetricResult(None, 0, note=f"no problem with an answer and at least {k or 1} "
                                          "samples")
    return MetricResult(sum(values) / len(values), len(values))


def _register_k(k: int) -> None:
    @register_metric(f"pass@{k}", higher_is_better=True, aggregation="corpus",
                     description=f"Chen et al.'s unbiased pass@{k} from each problem's samples "
                                 "(num_samples >= k), mean over problems")
    def _pass(ctx: EvalContext) -> MetricResult:
        return _over_problems(ctx, lambda a, g, _: voting.pass_at_k(len(a), sum(x == g for x in a),
                                                                    k), k)

    @register_metric(f"maj@{k}", higher_is_better=True, aggregation="corpus",
                     description=f"majority vote of {k} samples right, as the mean over all "
                                 f"{k}-subsets of each problem's samples, mean over problems")
    def _maj(ctx: EvalContext) -> MetricResult:
        return _over_problems(ctx, lambda a, g, _: voting.maj_at_k(a, g, k), k)


for _k in KS:
    _register_k(_k)


@register_metric("weighted_vote", higher_is_better=True, aggregation="corpus",
                 description="vote of all a problem's samples weighted by exp(mean token "
                             "log-prob) right, mean over problems")
def _weighted_vote(ctx: EvalContext) -> MetricResult:
    def score(answers, gold, group):
        weights = [math.exp(voting.mean_logprob(r.get("token_logprobs") or [])) for r in group]
        return float(voting.weighted_vote(answers, weights) == gold)

    return _over_problems(ctx, score)


def trie_tokens(samples: list[list[int]]) -> int:
    """Distinct prefixes of the token lists (the nodes of their trie): the tokens a decoder
    that generates shared prefixes once and forks where samples part would generate."""
    return len({node for row in trie_nodes(samples) for node in row})


@register_metric("branching_tokens_per_problem", higher_is_better=None, aggregation="corpus",
                 description="generated tokens per problem counting each distinct prefix of its "
                             "samples once (a decoder that forks where samples part)")
def _branching_tokens(ctx: EvalContext) -> MetricResult:
    groups = ctx.cached("sample_groups", lambda: problems(ctx))
    totals = [trie_tokens([list(r.get("token_ids") or []) for r in g]) for g in groups]
    return MetricResult(sum(totals) / len(totals) if totals else None, len(totals))


@register_metric("tokens_per_problem", higher_is_better=None, aggregation="corpus",
                 description="generated tokens per problem, all its samples together (the "
                             "compute a k-sample method spends)")
def _tokens_per_problem(ctx: EvalContext) -> MetricResult:
    groups = ctx.cached("sample_groups", lambda: problems(ctx))
    totals = [sum(int(r.get("num_tokens", 0)) for r in g) for g in groups]
    return MetricResult(sum(totals) / len(totals) if totals else None, len(totals))
