"""`cache_implementation="static"` (transformers' StaticCache) against the dynamic-cache path.

Reference: the same engine with DynamicCache (itself tested against HF `generate` and
unbatched forwards). Cases, on random tiny Llama, Qwen2 and Gemma3 (sliding-window layers)
models with rows stopping at EOS at different steps (the static buffers are cut to the
surviving rows): greedy tokens equal; the adaptive sampler (which reads the captured attention
row) gives the same tokens, its attention terms and `record_signals`' attention entropy within
1e-5 (the static cache's unfilled columns are cut from the captured row), its solver outputs
within 1e-3. Bad inputs tried: an unknown implementation name (library and run.py: one line,
exit 2).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import make_tiny_model

from alpha import build_sampler
from alpha.generation import generate

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["Hello there", "Once upon a time", "x", "The cat sat on", "To be or not", "Why?"]
CAPTURE_KEYS = ("h_attn", "vh_attn", "u_attn_entropy", "u_attn_varentropy")


def _pair(arch, sampler_name, tokenizer):
    model = make_tiny_model(arch)
    model.generation_config.eos_token_id = list(range(0, 512, 20))  # rows stop at 1-30 steps
    return [generate(model, tokenizer, PROMPTS, sampler=build_sampler(sampler_name),
                     max_new_tokens=30, seed=6, record_signals=True, cache_implementation=impl)
            for impl in ("dynamic", "static")]


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3"])
def test_static_cache_gives_the_dynamic_greedy_tokens(tiny_tokenizer, arch):
    dyn, static = _pair(arch, "greedy", tiny_tokenizer)
    assert len({len(t) for t in dyn.token_ids}) > 1  # rows left the batch at different steps
    assert static.token_ids == dyn.token_ids
    assert static.finish_reasons == dyn.finish_reasons


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3"])
def test_static_cache_capture_and_adaptive_sampler(tiny_tokenizer, arch):
    dyn, static = _pair(arch, "alpha", tiny_tokenizer)
    assert static.token_ids == dyn.token_ids
    for td, ts in zip(dyn.traces, static.traces, strict=True):
        assert set(td) == set(ts)
        for k in td:
            tol = 1e-5 if k in CAPTURE_KEYS else 1e-3
            torch.testing.assert_close(torch.tensor(ts[k]), torch.tensor(td[k]), atol=tol,
                                       rtol=tol, msg=k)


def test_unknown_cache_implementation_is_one_line(tiny_tokenizer):
    with pytest.raises(ValueError, match="cache_implementation='stat' is unknown; choose one of "
                                         "dynamic, static"):
        generate(make_tiny_model("qwen2"), tiny_tokenizer, ["x"], max_new_tokens=2,
                 cache_implementation="stat")
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                          "cache_implementation=stat", "hydra.run.dir=/tmp/never"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: cache_implementation='stat' is unknown; did "
                                         "you mean 'static'?")
