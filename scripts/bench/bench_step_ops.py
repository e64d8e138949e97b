"""How many ops one adaptive sampler step launches, and whether it compiles as one graph.

    python scripts/bench/bench_step_ops.py                  # B=8, V=49,152 (SmolLM2's vocabulary)
    python scripts/bench/bench_step_ops.py --batch 32 --vocab 151936
    python scripts/bench/bench_step_ops.py --device cuda    # also the kernels the GPU ran
    python scripts/bench/bench_step_ops.py --solver-iters 4 # one bisection round a search

Issue 26's CPU proxies for the GPU launch count: the number of aten ops torch.profiler records in
one eager step (every op, nested ones included, and the top-level ones), a kernel-launch proxy
(leaf ops that are not views, allocations or casts that convert nothing: `NO_KERNEL`), the
top-level ops by name, the ops per solver stage, and `torch._dynamo.explain`'s graph and break
counts for the step function. top_p's step is counted the same way for scale.
"""

from __future__ import annotations

import argparse
import functools
from collections import Counter

import alpha  # noqa: F401  first: the CPU thread policy

# isort: split
import torch
from torch.profiler import ProfilerActivity, profile, record_function

import alpha.sampler as sampler_mod
import alpha.solvers as solvers_mod
from alpha import AdaptiveEntropixSampler, SamplerConfig, build_sampler

STAGES = {sampler_mod: ["alpha_terms", "build_pool", "choose_params", "_filter", "draw_with",
                        "uniforms"],
          solvers_mod: ["base_entropy", "solve_bisection", "_bisect", "smooth"]}


def _label(mod, name):
    fn = getattr(mod, name)

    @functools.wraps(fn)
    def wrapped(*a, **k):
        with record_function("STAGE::" + name):
            return fn(*a, **k)

    setattr(mod, name, wrapped)
    return fn


# Leaf ops that launch no kernel on a GPU: views and metadata (a new header over the same
# storage), allocations (the caching allocator hands out memory without a kernel: empty, resize_
# of a fresh output), a `.to` that converts nothing (it returns its input; one that converts has
# a `_to_copy` under it and counts at its `copy_`), reads of sizes and dtypes.
NO_KERNEL = {"aten::" + n for n in (
    "view", "unsqueeze", "squeeze", "select", "slice", "expand", "as_strided", "unbind",
    "split", "split_with_sizes", "chunk", "reshape", "_reshape_alias", "_unsafe_view", "t",
    "transpose", "permute", "alias", "detach", "lift_fresh", "empty", "empty_like",
    "empty_strided", "resize_", "to", "resolve_conj", "resolve_neg", "result_type",
    "is_nonzero", "expand_as", "view_as", "numpy_T", "unfold", "diagonal", "narrow")}


def count(step, device: str = "cpu") -> dict:
    """One profiled step: aten ops (all, nested included; top-level), the kernel-launch proxy
    (leaf aten ops not in NO_KERNEL: conservative, e.g. a reduction's output fill counts as its
    own launch), top-level ops by name and all ops by innermost stage; on CUDA also the kernels
    the GPU actually ran (the profiler's CUDA events: kernels, memsets and copies)."""
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=acts) as prof:
        step()
        if device == "cuda":
            torch.cuda.synchronize()
    events = prof.events()
    ops = [e for e in events if e.name.startswith("aten::")]

    def ancestors(e):
        p = e.cpu_parent
        while p is not None:
            yield p
            p = p.cpu_parent

    top = [e for e in ops if not any(a.name.startswith("aten::") for a in ancestors(e))]
    parents = {id(e.cpu_parent) for e in ops if e.cpu_parent is not None}
    launches = [e for e in ops if id(e) not in parents and e.name not in NO_KERNEL]
    stage = Counter(next((a.name[7:] for a in ancestors(e) if a.name.startswith("STAGE::")),
                         "(step itself)") for e in ops)
    out = {"all": len(ops), "top": len(top), "launch_proxy": len(launches),
           "by_name": Counter(e.name for e in top), "by_stage": stage}
    if device == "cuda":
        out["cuda_kernels"] = sum(e.device_type == torch.autograd.DeviceType.CUDA
                                  for e in events)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=49_152)
    ap.add_argument("--heads", type=int, default=9)
    ap.add_argument("--keys", type=int, default=256)
    ap.add_argument("--device", default="cpu", help="cuda also counts the kernels the GPU ran")
    ap.add_argument("--solver-iters", type=int, default=SamplerConfig.solver_iters,
                    help="the adaptive sampler's solver_iters (fewer: fewer bisection rounds)")
    args = ap.parse_args(argv)
    b, v, dev = args.batch, args.vocab, args.device
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(b, v, generator=g) * 3).to(dev)
    ids = torch.randint(0, v, (b, args.keys - 56), generator=g).to(dev)
    att = torch.softmax(torch.randn(b, args.heads, args.keys, generator=g), -1).to(dev)
    km = torch.ones(b, args.keys, dtype=torch.bool, device=dev)
    gens = [torch.Generator(device=dev).manual_seed(i) for i in range(b)]
    originals = {(m, n): _label(m, n) for m, names in STAGES.items() for n in names}
    cfg = SamplerConfig(solver_iters=args.solver_iters)
    alpha_s, top_p = AdaptiveEntropixSampler(cfg), build_sampler("top_p")
    steps = {"alpha": lambda: alpha_s.step(x, ids, attention=att, key_mask=km, generators=gens),
             "top_p": lambda: top_p.step(x, ids, key_mask=km, generators=gens)}
    out = {}
    for name, step in steps.items():
        for _ in range(3):  # warm: the solver's constants, allocator
            step()
        c = count(step, dev)
        out[name] = {k: c[k] for k in ("all", "top", "launch_proxy", "cuda_kernels") if k in c}
        cuda = f"; {c['cuda_kernels']} CUDA kernels ran" if "cuda_kernels" in c else ""
        print(f"{name}: {c['all']} aten ops per step ({c['top']} top-level; kernel-launch proxy "
              f"{c['launch_proxy']}{cuda}), B={b}, V={v:,}, {dev}")
        if name == "alpha":
            print("  by stage (innermost):", dict(c["by_stage"].most_common()))
            print("  top-level by name:", dict(c["by_name"].most_common(12)))
    for (m, n), fn in originals.items():
        setattr(m, n, fn)
    alpha_s._ensure_state(b, x.device)
    s = alpha_s
    args_ = [x, ids, torch.ones_like(ids, dtype=torch.bool), att, km, s._window, s._count,
             s._total, s._steps, x.new_zeros(b, 5), s._has_prev, torch.rand(b, device=dev)]
    ex = torch._dynamo.explain(sampler_mod.adaptive_step)(*args_, s.config, read_prefix=False)
    out["explain"] = {"graphs": ex.graph_count, "breaks": ex.graph_break_count,
                      "ops_in_graph": ex.op_count}
    print(f"torch._dynamo.explain(adaptive_step): {ex.graph_count} graph(s), "
          f"{ex.graph_break_count} break(s), {ex.op_count} ops in the graph")
    return out


if __name__ == "__main__":
    main()
