"""Self-BLEU (Zhu et al. 2018, Texygen): mean BLEU of each generation against all the others.

BLEU is sacrebleu's: n-grams from `sacrebleu.metrics.helpers.extract_all_word_ngrams`
(whitespace tokens, no extra tokenisation), `BLEU.compute_bleu` with 'floor' smoothing 0.1
(= nltk's SmoothingFunction().method1) and effective order (short texts are not zeroed).
The score is on the 0-1 scale (Texygen/Holtzman convention). Instead of re-extracting the N-1
references for every hypothesis (O(N^2) n-gram counts), the largest and second-largest count of
every n-gram over the set are kept, which gives "max over the other texts" in O(N).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.helpers import extract_all_word_ngrams

SMOOTH_METHOD = "floor"
SMOOTH_VALUE = 0.1


def _top_two(counters: Sequence[Counter]) -> dict[tuple, tuple[int, int, int]]:
    """n-gram -> (largest count, index of a text holding it, second-largest count)."""
    best: dict[tuple, tuple[int, int, int]] = {}
    for i, counter in enumerate(counters):
        for gram, c in counter.items():
            b = best.get(gram)
            if b is None:
                best[gram] = (c, i, 0)
            elif c > b[0]:
                best[gram] = (c, i, b[0])
            elif c > b[2]:
                best[gram] = (b[0], b[1], c)
    return best


def _closest_other_lengths(lengths: np.ndarray) -> np.ndarray:
    """For each i, the length among the others closest to lengths[i] (ties: the shorter).

    O(N log N): a length shared with another text is its own answer; otherwise the nearest
    distinct lengths below and above are the only candidates.
    """
    values, counts = np.unique(lengths, return_counts=True)  # sorted distinct lengths
    out = np.empty_like(lengths)
    for i, length in enumerate(lengths):
        k = int(np.searchsorted(values, length))
        if counts[k] >= 2:
            out[i] = length
            continue
        below = values[k - 1] if k > 0 else None
        above = values[k + 1] if k + 1 < len(values) else None
        if above is None or (below is not None and length - below <= above - length):
            out[i] = below
        else:
            out[i] = above
    return out


def self_bleu_scores(texts: Sequence[str], *, max_order: int = 4) -> list[float]:
    """BLEU (0-1) of each text against all the other texts as references.

    Args:
        texts: at least 2 generations.
        max_order: highest n-gram order (4 for BLEU-4).

    Raises:
        ValueError: fewer than 2 texts.
    """
    if len(texts) < 2:
        raise ValueError(f"Self-BLEU needs at least 2 texts, got {len(texts)}")
    extracted = [extract_all_word_ngrams(t, 1, max_order) for t in texts]
    counters = [e[0] for e in extracted]
    lengths = np.asarray([e[1] for e in extracted], dtype=np.int64)
    ref_lens = _closest_other_lengths(lengths)
    best = _top_two(counters)
    scores = []
    for i, counter in enumerate(counters):
        correct, total = [0] * max_order, [0] * max_order
        for gram, c in counter.items():
            top, holder, second = best[gram]
            ref_max = second if holder == i else top
            total[len(gram) - 1] += c
            correct[len(gram) - 1] += min(c, ref_max)
        score = BLEU.compute_bleu(correct, total, int(lengths[i]), int(ref_lens[i]),
                                  smooth_method=SMOOTH_METHOD, smooth_value=SMOOTH_VALUE,
                                  effective_order=True, max_ngram_order=max_order)
        scores.append(score.score / 100.0)
    return scores


def subsample(n: int, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a seeded random subset of size min(n, max_samples)."""
    if n <= max_samples:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_samples, replace=False))
