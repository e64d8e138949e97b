"""AlphaSampler: entropy- and attention-adaptive sampling for causal language models.

The library is torch + transformers only (no Hydra, no W&B: `tests/test_imports.py` checks).
`import alpha` itself loads neither torch nor transformers: every public name below loads its
module on first use (PEP 562 module `__getattr__`), so the tools that only read run folders
(`scripts/collect_runs.py`, the tuner's planning) start in a fraction of a second, and
`from alpha import generate` loads the sampling core and the engine as before. The CPU thread
policy is applied on import all the same (`alpha/threads.py`, docs/threads.md). The runner
(`alpha.runner`: run loop, loggers, Hydra glue; the only part allowed Hydra/OmegaConf/W&B) is not
exported here: run.py, scripts and tests import it by name. Each module owner adds its public
names to `_LAZY` (and to the TYPE_CHECKING block for type checkers).
"""

from alpha.threads import configure_on_import, configure_threads

configure_on_import()  # one torch thread, passive OpenMP waits (docs/threads.md)

from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

# The 2.4M-parameter model this repository ships (models/tiny-shakespeare of the clone that an
# editable install points at), as an absolute path: `from_pretrained(alpha.TINY_MODEL)` works from
# any working directory and never touches the hub.
TINY_MODEL = str(Path(__file__).resolve().parent.parent / "models" / "tiny-shakespeare")

_LAZY = {  # name -> module that defines it, imported on first access
    "AttentionCapture": "alpha.attention_capture",
    "check_checkpoint": "alpha.checkpoint",
    "SamplerConfig": "alpha.config",
    "draw": "alpha.filtering",
    "GenerationResult": "alpha.generation",
    "generate": "alpha.generation",
    "AlphaLogitsProcessor": "alpha.hf_processor",
    "load_model_and_tokenizer": "alpha.models",
    "lexical_exempt_mask": "alpha.penalty_scope",
    "TRACE_KEYS": "alpha.protocol",
    "SamplerStep": "alpha.protocol",
    "TokenSampler": "alpha.protocol",
    "generate_response": "alpha.quickstart",
    "available_samplers": "alpha.registry",
    "build_sampler": "alpha.registry",
    "register_sampler": "alpha.registry",
    "AdaptiveEntropixSampler": "alpha.sampler",
    "AlphaComponents": "alpha.sampler",
    "AlphaStep": "alpha.sampler",
    "SamplingParams": "alpha.solvers",
    "attention_entropy_varentropy": "alpha.uncertainty",
    "token_entropy_varentropy": "alpha.uncertainty",
    "load_prompts": "alpha.data",
    "EvalReport": "alpha.evaluation",
    "available_metrics": "alpha.evaluation",
    "evaluate_records": "alpha.evaluation",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these come from __getattr__
    from alpha.attention_capture import AttentionCapture
    from alpha.checkpoint import check_checkpoint
    from alpha.config import SamplerConfig
    from alpha.data import load_prompts
    from alpha.evaluation import EvalReport, available_metrics, evaluate_records
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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if not name.startswith("_") and find_spec(f"alpha.{name}") is not None:
        return import_module(f"alpha.{name}")  # `alpha.sampler.X` after a bare `import alpha`
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
