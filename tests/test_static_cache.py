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
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                          "compile_decode=true", "hydra.run.dir=/tmp/never"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: compile_decode=true needs cache_implementation=static "
                                  "(a dynamic cache changes shape every step); add "
                                  "cache_implementation=static")


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3"])
def test_the_decode_forward_with_capture_is_one_graph(arch):
    """`torch._dynamo.explain` on the model's forward at a decode step: static cache, capture
    installed, the buffer-wide mask the engine passes."""
    from transformers import StaticCache

    from alpha.attention_capture import AttentionCapture
    from alpha.generation import _forward_kwargs

    torch._dynamo.reset()
    model = make_tiny_model(arch)
    with AttentionCapture(model, "last"), torch.no_grad():
        cache = StaticCache(config=model.config, max_cache_len=32)
        mask = torch.zeros(3, 32, dtype=torch.long)
        mask[:, :7] = 1
        kw = _forward_kwargs(model, cache)  # the engine's: `cache` where transformers has it
        model(input_ids=torch.randint(2, 500, (3, 6)), attention_mask=mask[:, :6],
              position_ids=torch.arange(6)[None].expand(3, -1), **kw)
        ex = torch._dynamo.explain(model.forward)(
            input_ids=torch.randint(2, 500, (3, 1)), attention_mask=mask,
            position_ids=torch.full((3, 1), 6), **kw)
    assert (ex.graph_count, ex.graph_break_count) == (1, 0), ex.break_reasons


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3"])
def test_compiled_decode_gives_the_eager_dynamic_tokens_and_traces(tiny_tokenizer, arch):
    """The decode forward traced by TorchDynamo (a counting backend: the traced graph runs
    eagerly, so equality is exact up to the static cache's rounding) as rows finish: one frame
    for batches of 2+ rows and one for a single row (torch specialises size 1)."""
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    model = make_tiny_model(arch)
    model.generation_config.eos_token_id = list(range(0, 512, 20))
    kw = dict(sampler=None, max_new_tokens=30, seed=6, record_signals=True)
    dyn = generate(model, tiny_tokenizer, PROMPTS, **{**kw, "sampler": build_sampler("alpha")})
    counter = CompileCounter()
    comp = generate(model, tiny_tokenizer, PROMPTS, **{**kw, "sampler": build_sampler("alpha")},
                    cache_implementation="static", compile_decode={"backend": counter})
    assert comp.token_ids == dyn.token_ids
    for td, tc in zip(dyn.traces, comp.traces, strict=True):
        for k in td:
            tol = 1e-5 if k in CAPTURE_KEYS else 1e-3
            torch.testing.assert_close(torch.tensor(tc[k]), torch.tensor(td[k]), atol=tol,
                                       rtol=tol, msg=k)
    assert 1 <= counter.frame_count <= 2


def test_compile_decode_needs_the_static_cache(tiny_tokenizer):
    with pytest.raises(ValueError, match="compile_decode needs cache_implementation='static'"):
        generate(make_tiny_model("qwen2"), tiny_tokenizer, ["x"], max_new_tokens=2,
                 compile_decode=True)


@pytest.mark.slow
def test_inductor_compiled_decode_on_cpu(tiny_tokenizer):
    """The real compiler (inductor, C++ codegen: a minute or two on 2 cores) on the decode step:
    greedy tokens equal to the eager dynamic path."""
    torch._dynamo.reset()
    model = make_tiny_model("qwen2")
    model.generation_config.eos_token_id = list(range(0, 512, 20))
    kw = dict(max_new_tokens=20, seed=6)
    dyn = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("greedy"), **kw)
    comp = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("greedy"), **kw,
                    cache_implementation="static", compile_decode=True)
    assert comp.token_ids == dyn.token_ids


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3"])
def test_fixed_batch_gives_the_dropping_paths_outputs_with_one_frame(tiny_tokenizer, arch):
    """fixed_batch=True keeps finished rows in the batch: the same tokens, finish reasons and
    traces as the engine that drops them (rows are independent), and with the static cache and
    a traced decode, one compiled frame for the whole run (the batch never changes shape)."""
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    model = make_tiny_model(arch)
    model.generation_config.eos_token_id = list(range(0, 512, 20))
    kw = dict(max_new_tokens=30, seed=6, record_signals=True)
    drop = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("alpha"), **kw)
    assert len({len(t) for t in drop.token_ids}) > 1  # rows finish at different steps
    counter = CompileCounter()
    fixed = generate(model, tiny_tokenizer, PROMPTS, sampler=build_sampler("alpha"), **kw,
                     fixed_batch=True, cache_implementation="static",
                     compile_decode={"backend": counter})
    assert fixed.token_ids == drop.token_ids and fixed.finish_reasons == drop.finish_reasons
    for td, tf in zip(drop.traces, fixed.traces, strict=True):
        for k in td:
            tol = 1e-5 if k in CAPTURE_KEYS else 1e-3
            torch.testing.assert_close(torch.tensor(tf[k]), torch.tensor(td[k]), atol=tol,
                                       rtol=tol, msg=k)
    assert counter.frame_count == 1
    with pytest.raises(ValueError, match="fixed_batch='yes' must be True or False"):
        generate(model, tiny_tokenizer, ["x"], max_new_tokens=2, fixed_batch="yes")
