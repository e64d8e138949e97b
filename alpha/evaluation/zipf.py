"""Zipf coefficient of a token frequency distribution (Holtzman et al. 2020, Sec. 6.2).

The coefficient s is minus the least-squares slope of log(count) on log(rank) over the
`top_n` most frequent tokens. Natural English is close to 1; lower means flatter (more varied).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np


def zipf_from_counts(counts: Iterable[int], *, top_n: int = 5000) -> float | None:
    """s from raw token counts (any order); None with fewer than 2 distinct tokens."""
    ys = np.sort(np.asarray([c for c in counts if c > 0], dtype=np.float64))[::-1][:top_n]
    if ys.size < 2:
        return None
    log_rank = np.log(np.arange(1, ys.size + 1, dtype=np.float64))
    log_count = np.log(ys)
    slope = np.polyfit(log_rank, log_count, 1)[0]
    return float(-slope)


def zipf_coefficient(token_lists: Sequence[Sequence[str]], *, top_n: int = 5000) -> float | None:
    """s of the pooled token counts of all texts."""
    counts: Counter[str] = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return zipf_from_counts(counts.values(), top_n=top_n)
