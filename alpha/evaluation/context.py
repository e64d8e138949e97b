"""EvalContext: the records, models and options one evaluation shares, plus cached work.

Metric functions read from it; expensive intermediates (tokenised words, bootstrap weights,
continuation scores, embeddings) are computed once and shared between metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from alpha.evaluation.bootstrap import resample_weights
from alpha.evaluation.options import EvalOptions
from alpha.evaluation.repetition import words


@dataclass
class EvalContext:
    records: list[dict]
    options: EvalOptions
    seed: int = 0
    model: Any = None
    tokenizer: Any = None
    oracle: Any = None
    oracle_tokenizer: Any = None
    wall_time_s: float | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.records)

    @cached_property
    def prompts(self) -> list[str]:
        return [r.get("prompt") or "" for r in self.records]

    @cached_property
    def texts(self) -> list[str]:
        return [r["text"] for r in self.records]

    @cached_property
    def words(self) -> list[list[str]]:
        """Whitespace tokens of each generation."""
        return [words(t) for t in self.texts]

    @cached_property
    def weights(self) -> np.ndarray | None:
        """(B, N) bootstrap multiplicities shared by all metrics; None when disabled."""
        if self.options.bootstrap_samples == 0 or self.n < 2:
            return None
        return resample_weights(self.n, self.options.bootstrap_samples, self.seed)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """compute() once per context under `key`."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]
