"""AlphaSampler: entropy- and attention-adaptive sampling for causal language models.

The library is torch + transformers only (no Hydra, no W&B: `tests/test_imports.py` checks).
Each module owner adds its public names below and to `__all__`.
"""

import sys as _sys

from alpha.threads import configure_threads

if "torch" not in _sys.modules:  # alpha loads torch first: passive OpenMP waits (docs/threads.md)
    configure_threads()

from alpha.attention_capture import AttentionCapture  # noqa: E402
from alpha.checkpoint import check_checkpoint
from alpha.config import SamplerConfig
from alpha.data import load_prompts
from alpha.evaluation import EvalReport, available_metrics, evaluate_records
from alpha.experiment import ExperimentResult, ExperimentSpec, run_experiment
from alpha.filtering import apply_sampling_params, draw
from alpha.generation import GenerationResult, generate
from alpha.hf_processor import AlphaLogitsProcessor
from alpha.loggers import LocalLogger, Logger, NullLogger
from alpha.models import load_model_and_tokenizer
from alpha.protocol import TRACE_KEYS, SamplerStep, TokenSampler
from alpha.quickstart import generate_response
from alpha.registry import available_samplers, build_sampler, register_sampler
from alpha.sampler import AdaptiveEntropixSampler, AlphaComponents, AlphaStep
from alpha.solvers import SamplingParams
from alpha.uncertainty import attention_entropy_varentropy, token_entropy_varentropy

__all__ = [
    "AlphaLogitsProcessor",
    "AdaptiveEntropixSampler",
    "AlphaComponents",
    "AlphaStep",
    "SamplerConfig",
    "SamplingParams",
    "apply_sampling_params",
    "attention_entropy_varentropy",
    "draw",
    "token_entropy_varentropy",
    "AttentionCapture",
    "GenerationResult",
    "generate",
    "generate_response",
    "LocalLogger",
    "Logger",
    "NullLogger",
    "TRACE_KEYS",
    "SamplerStep",
    "TokenSampler",
    "available_samplers",
    "build_sampler",
    "register_sampler",
    "check_checkpoint",
    "load_prompts",
    "EvalReport",
    "available_metrics",
    "evaluate_records",
    "ExperimentResult",
    "ExperimentSpec",
    "load_model_and_tokenizer",
    "run_experiment",
    "configure_threads",
]
