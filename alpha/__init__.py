"""AlphaSampler: entropy- and attention-adaptive sampling for causal language models.

The library is torch + transformers only (no Hydra, no W&B: `tests/test_imports.py` checks).
Each module owner adds its public names below and to `__all__`.
"""

from alpha.attention_capture import AttentionCapture
from alpha.generation import GenerationResult, generate
from alpha.loggers import LocalLogger, Logger, NullLogger
from alpha.protocol import TRACE_KEYS, SamplerStep, TokenSampler
from alpha.registry import available_samplers, build_sampler, register_sampler

__all__ = [
    "AttentionCapture",
    "GenerationResult",
    "generate",
    "LocalLogger",
    "Logger",
    "NullLogger",
    "TRACE_KEYS",
    "SamplerStep",
    "TokenSampler",
    "available_samplers",
    "build_sampler",
    "register_sampler",
]
