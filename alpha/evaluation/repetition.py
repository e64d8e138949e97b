"""Repetition and diversity of generated text over whitespace tokens.

Definitions (docs/metrics.md has the full statement):
- rep-n (SimCTG, Su et al. 2022): 100 * (1 - sum_i unique_i / sum_i total_i), where unique_i and
  total_i are the distinct and total n-grams of text i (counts pooled over texts, uniqueness
  within a text). The SimCTG reference code (simctg/evaluation.py) drops each text's last
  n-gram and rounds rep-n to 2 decimals before the diversity product; `simctg_compat` does both.
- diversity: prod_{n=2..4} (1 - rep-n / 100).
- seq-rep-n (Welleck et al. 2019): 1 - unique / total n-grams of one continuation; averaged.
- distinct-n (Li et al. 2016, corpus variant): distinct n-grams of the whole set / total n-grams.
This module knows nothing about models, records or aggregation.
"""

from __future__ import annotations

from collections.abc import Sequence

Ngram = tuple[str, ...]


def words(text: str) -> list[str]:
    """Whitespace tokens, as `text.strip().split()` in the SimCTG and Welleck code."""
    return text.split()


def ngrams(tokens: Sequence[str], n: int, *, drop_last: bool = False) -> list[Ngram]:
    """All contiguous n-grams of `tokens` (without the last one when `drop_last`)."""
    count = len(tokens) - n + 1 - int(drop_last)
    return [tuple(tokens[i:i + n]) for i in range(max(count, 0))]


def unique_total(tokens: Sequence[str], n: int, *, drop_last: bool = False) -> tuple[int, int]:
    """(distinct n-grams, total n-grams) of one token list."""
    grams = ngrams(tokens, n, drop_last=drop_last)
    return len(set(grams)), len(grams)


def rep_n(token_lists: Sequence[Sequence[str]], n: int, *,
          simctg_compat: bool = False) -> float | None:
    """Pooled rep-n in percent; None when no text has an n-gram."""
    pairs = [unique_total(t, n, drop_last=simctg_compat) for t in token_lists]
    return pooled_rep([p[0] for p in pairs], [p[1] for p in pairs], simctg_compat=simctg_compat)


def pooled_rep(unique: Sequence[int], total: Sequence[int], *,
               simctg_compat: bool = False) -> float | None:
    """100 * (1 - sum unique / sum total), rounded to 2 decimals under `simctg_compat`."""
    if sum(total) == 0:
        return None
    value = 100.0 * (1.0 - sum(unique) / sum(total))
    return round(value, 2) if simctg_compat else value


def diversity(reps: Sequence[float | None]) -> float | None:
    """prod (1 - rep/100) over the given rep-n values; None if any is None."""
    if any(r is None for r in reps):
        return None
    out = 1.0
    for r in reps:
        out *= 1.0 - r / 100.0
    return out


def seq_rep_n(tokens: Sequence[str], n: int) -> float | None:
    """Welleck et al.'s seq-rep-n of one continuation; None with no n-gram."""
    unique, total = unique_total(tokens, n)
    return None if total == 0 else 1.0 - unique / total


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float | None:
    """Distinct n-grams over the whole set / total n-grams; None with no n-gram."""
    seen: set[Ngram] = set()
    total = 0
    for tokens in token_lists:
        grams = ngrams(tokens, n)
        seen.update(grams)
        total += len(grams)
    return None if total == 0 else len(seen) / total
