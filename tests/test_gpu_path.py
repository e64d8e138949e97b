"""The accelerator path of a decode step reads nothing back to the host (issue 26).

CPU proxy (default run): with `host_reads_allowed` answering False, as it does for a CUDA
tensor, every way a tensor's value reaches Python (`bool`, `item`, `tolist`, `int`, `float`,
`__index__`) raises inside two adaptive sampler steps with per-row generators, attention and a
repetition window: the steps must finish. Control: the same patch with host reads allowed (the
CPU path) must trip on the sanitiser's fast path, so the patch does see reads.
On a GPU (`pytest -m gpu`): the same steps under `torch.cuda.set_sync_debug_mode("error")`, the
static-cache engine's greedy tokens equal to the dynamic cache's on a CUDA model, and the same
with the decode forward captured as CUDA graphs (`compile_decode`, mode "reduce-overhead").
"""

from __future__ import annotations

import contextlib

import pytest
import torch
from conftest import make_tiny_model

import alpha.solvers as solvers_mod
import alpha.uncertainty as uncertainty_mod
from alpha import AdaptiveEntropixSampler, SamplerConfig, build_sampler
from alpha.generation import generate

READS = ("__bool__", "item", "tolist", "__int__", "__float__", "__index__")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@contextlib.contextmanager
def no_host_reads(monkeypatch, *, allowed: bool):
    def boom(self, *a, **k):
        raise RuntimeError("host read")

    for mod in (uncertainty_mod, solvers_mod):
        monkeypatch.setattr(mod, "host_reads_allowed", lambda t: allowed)
    saved = {n: getattr(torch.Tensor, n) for n in READS}
    for n in READS:
        setattr(torch.Tensor, n, boom)
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(torch.Tensor, n, f)


def _inputs(device="cpu", b=4, v=1000, h=4, s=30):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(b, v, generator=g) * 3).to(device)
    ids = torch.randint(0, v, (b, s - 4), generator=g).to(device)
    att = torch.softmax(torch.randn(b, h, s, generator=g), -1).to(device)
    km = torch.ones(b, s, dtype=torch.bool, device=device)
    gens = [torch.Generator(device=device).manual_seed(i) for i in range(b)]
    return x, ids, att, km, gens


def test_adaptive_step_reads_nothing_back_on_the_accelerator_path(monkeypatch):
    x, ids, att, km, gens = _inputs()
    sampler = AdaptiveEntropixSampler(SamplerConfig())
    sampler.step(x, ids, attention=att, key_mask=km, generators=gens)  # state exists
    with no_host_reads(monkeypatch, allowed=False):
        for _ in range(2):
            out = sampler.step(x, ids, attention=att, key_mask=km, generators=gens)
    assert out.tokens.shape == (4,)
    with pytest.raises(RuntimeError, match="host read"), \
            no_host_reads(monkeypatch, allowed=True):  # control: the CPU path does read
        sampler.step(x, ids, attention=att, key_mask=km, generators=gens)


@pytest.mark.gpu
@cuda
def test_no_host_sync_in_a_cuda_step():
    x, ids, att, km, gens = _inputs("cuda")
    sampler = AdaptiveEntropixSampler(SamplerConfig())
    sampler.step(x, ids, attention=att, key_mask=km, generators=gens)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            sampler.step(x, ids, attention=att, key_mask=km, generators=gens)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3"])
def test_static_cache_tokens_on_cuda(tiny_tokenizer, arch):
    model = make_tiny_model(arch).to("cuda")
    model.generation_config.eos_token_id = list(range(0, 512, 20))
    prompts = ["Hello there", "Once upon a time", "x", "The cat sat on"]
    runs = [generate(model, tiny_tokenizer, prompts, sampler=build_sampler("greedy"),
                     max_new_tokens=24, seed=0, cache_implementation=impl)
            for impl in ("dynamic", "static")]
    assert runs[0].token_ids == runs[1].token_ids


@pytest.mark.gpu
@cuda
def test_cuda_graph_decode_gives_the_dynamic_tokens(tiny_tokenizer):
    """The whole decode forward under torch.compile(mode="reduce-overhead") (CUDA graphs) with
    the static cache: greedy tokens equal to the eager dynamic-cache path."""
    model = make_tiny_model("qwen2").to("cuda")
    model.generation_config.eos_token_id = list(range(0, 512, 20))
    prompts = ["Hello there", "Once upon a time", "x", "The cat sat on"]
    kw = dict(sampler=build_sampler("greedy"), max_new_tokens=24, seed=0)
    dyn = generate(model, tiny_tokenizer, prompts, **kw)
    comp = generate(model, tiny_tokenizer, prompts, **kw, cache_implementation="static",
                    compile_decode={"mode": "reduce-overhead", "dynamic": False})
    assert comp.token_ids == dyn.token_ids
