"""AlphaSampler: entropy- and attention-adaptive sampling for causal language models.

The library is torch + transformers only (no Hydra, no W&B: `tests/test_imports.py` checks).
`import alpha` loads the sampling core and the engine; the evaluation stack (`alpha.evaluation`,
sacrebleu and friends) and prompt data (`alpha.data`, `datasets`) load on first use of one of
their names below (PEP 562 module `__getattr__`). The runner (`alpha.runner`: run loop,
loggers, Hydra glue; the only part allowed Hydra/OmegaConf/W&B) is not exported here: run.py,
scripts and tests import it by name. Each module owner adds its public names below and to
`__all__`.
"""

from alpha.threads import configure_on_import, configure_threads

configure_on_import()  # one torch thread, passive OpenMP waits when torch is not loaded yet (docs/threads.md)

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from alpha.attention_capture import AttentionCapture
from alpha.checkpoint import check_checkpoint
from alpha.config import SamplerConfig
from alpha.filtering import draw
from alpha.generation import GenerationResult, generate
from alpha.hf_processor import AlphaLogitsProcessor
from alpha.models import load_model_and_tokenizer
from alpha.penalty_scope import lexical_exempt_mask
from alpha.protocol import TRACE_KEYS, SamplerStep, TokenSampler
from alpha.quickstart import generate_response
from alpha.registry import available_samplers, build_sampler, register_sampler
from alpha.sampler import AdaptiveEntropixSampler, AlphaComponents, AlphaStep
from alpha.solvers import SamplingParams
from alpha.uncertainty import attention_entropy_varentropy, token_entropy_varentropy

# The 2.4M-parameter model this repository ships (models/tiny-shakespeare of the clone that an
# editable install points at), as an absolute path: `from_pretrained(alpha.TINY_MODEL)` works from
# any working directory and never touches the hub.
TINY_MODEL = str(Path(__file__).resolve().parent.parent / "models" / "tiny-shakespeare")

_LAZY = {  # name -> module that defines it, imported on first access
    "load_prompts": "alpha.data",
    "EvalReport": "alpha.evaluation",
    "available_metrics": "alpha.evaluation",
    "evaluate_records": "alpha.evaluation",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these come from __getattr__
    from alpha.data import load_prompts
    from alpha.evaluation import EvalReport, available_metrics, evaluate_records


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'alpha' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "TINY_MODEL",
    "AlphaLogitsProcessor",
    "AdaptiveEntropixSampler",
    "AlphaComponents",
    "AlphaStep",
    "SamplerConfig",
    "SamplingParams",
    "attention_entropy_varentropy",
    "draw",
    "lexical_exempt_mask",
    "token_entropy_varentropy",
    "AttentionCapture",
    "GenerationResult",
    "generate",
    "generate_response",
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
    "load_model_and_tokenizer",
    "configure_threads",
]
