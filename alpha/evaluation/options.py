"""Evaluation options: one validated dataclass for the knobs `conf/evaluation/*.yaml` passes.

This module knows the option names, defaults and valid ranges; it knows nothing about metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from alpha import validation as V

PERPLEXITY_SOURCES = ("rescore", "generation")


@dataclass(frozen=True)
class EvalOptions:
    """Knobs of `evaluate_records` (see docs/metrics.md for what each changes).

    Attributes:
        simctg_compat: True reproduces the SimCTG reference code for rep-n/diversity, which
            drops the last n-gram of every text; False (default) counts every n-gram.
        self_bleu_max_samples: Self-BLEU uses a seeded random subset of at most this many
            generations (cost grows with the square of the count).
        self_bleu_order: maximum n-gram order of Self-BLEU (BLEU-4 by default).
        zipf_top_n: the Zipf fit uses the this many most frequent words (Holtzman et al.: 5000).
        bootstrap_samples: resamples for the percentile 95% interval; 0 disables intervals.
        batch_size: rows per forward pass for perplexity, coherence and MAUVE features.
        max_length: longest prompt+continuation scored (prompt cut from the left); None uses
            the model's `max_position_embeddings` when it has one.
        coherence_model: "minilm" (the bundled all-MiniLM-L6-v2) or a sentence-transformers path.
        mauve_feature_model: "minilm", "generator" (last hidden state of the generating model),
            "oracle", or a sentence-transformers path.
        mauve_num_buckets: "auto" (MAUVE's n/10) or an int number of k-means clusters.
        mauve_scaling_factor: MAUVE's c (5 in the paper).
        mauve_kmeans_seeds: MAUVE is averaged over this many k-means seeds (seed, seed+1, ...)
            on the same features; at ~50 samples one k-means draw moves MAUVE by +-0.1
            (experiments/open_ended/README.md), the average by about that / sqrt(k).
        perplexity_source: where `perplexity` gets the generating model's log-probs.
            "rescore" (default): re-tokenise prompt + text and run the model over every row
            again. "generation": the records' `token_logprobs`, kept by `alpha.generate` while
            it generated (no second pass; the exact sampled ids and context, every generated
            token except a final EOS). Records without them raise (use "rescore" there).
    """

    simctg_compat: bool = False
    self_bleu_max_samples: int = 1000
    self_bleu_order: int = 4
    zipf_top_n: int = 5000
    bootstrap_samples: int = 1000
    batch_size: int = 16
    max_length: int | None = None
    coherence_model: str = "minilm"
    mauve_feature_model: str = "minilm"
    mauve_num_buckets: int | str = "auto"
    mauve_scaling_factor: float = 5.0
    mauve_kmeans_seeds: int = 1
    perplexity_source: str = "rescore"

    def __post_init__(self) -> None:
        f = "evaluation.options."
        for name, low in (("self_bleu_max_samples", 2), ("self_bleu_order", 1), ("zipf_top_n", 2),
                          ("bootstrap_samples", 0), ("batch_size", 1), ("mauve_kmeans_seeds", 1)):
            V.whole(f + name, getattr(self, name), low=low)
        if self.max_length is not None:
            V.whole(f + "max_length", self.max_length, low=2)
        V.flag(f + "simctg_compat", self.simctg_compat)
        if self.mauve_num_buckets != "auto":
            V.whole(f + "mauve_num_buckets", self.mauve_num_buckets, low=2)
        V.number(f + "mauve_scaling_factor", self.mauve_scaling_factor, low=0.0, low_open=True)
        V.choice(f + "perplexity_source", self.perplexity_source, PERPLEXITY_SOURCES)
        for name in ("coherence_model", "mauve_feature_model"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{f}{name}={getattr(self, name)!r} is invalid: use 'minilm' or a "
                                 "sentence-transformers model path")

    @classmethod
    def from_dict(cls, options: dict[str, Any] | None) -> EvalOptions:
        """Build from a plain mapping; unknown keys raise (a typo must not pass silently)."""
        options = dict(options or {})
        V.known_keys("evaluation.options", options, [f.name for f in fields(cls)],
                     prefix="evaluation.options.")
        return cls(**options)
