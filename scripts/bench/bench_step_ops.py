"""How many ops one adaptive sampler step launches, and whether it compiles as one graph.

    python scripts/bench/bench_step_ops.py                  # B=8, V=49,152 (SmolLM2's vocabulary)
    python scripts/bench/bench_step_ops.py --batch 32 --vocab 151936

Issue 26's CPU proxies for the GPU launch count: the number of aten ops torch.profiler records in
one eager step (every op, nested ones included, and the top-level ones), the top-level ops by
name, the ops per solver stage, and `torch._dynamo.explain`'s graph and break counts for the
step function. top_p's step is counted the same way for scale.
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


def count(step) -> tuple[int, int, Counter, Counter]:
    """(all aten ops, top-level aten ops, top-level by name, all by innermost stage)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    ops = [e for e in prof.events() if e.name.startswith("aten::")]

    def ancestors(e):
        p = e.cpu_parent
        while p is not None:
            yield p
            p = p.cpu_parent

    top = [e for e in ops if not any(a.name.startswith("aten::") for a in ancestors(e))]
    stage = Counter(next((a.name[7:] for a in ancestors(e) if a.name.startswith("STAGE::")),
                         "(step itself)") for e in ops)
    return len(ops), len(top), Counter(e.name for e in top), stage


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=49_152)
    ap.add_argument("--heads", type=int, default=9)
    ap.add_argument("--keys", type=int, default=256)
    args = ap.parse_args(argv)
    b, v = args.batch, args.vocab
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, v, generator=g) * 3
    ids = torch.randint(0, v, (b, args.keys - 56), generator=g)
    att = torch.softmax(torch.randn(b, args.heads, args.keys, generator=g), -1)
    km = torch.ones(b, args.keys, dtype=torch.bool)
    gens = [torch.Generator().manual_seed(i) for i in range(b)]
    originals = {(m, n): _label(m, n) for m, names in STAGES.items() for n in names}
    alpha_s, top_p = AdaptiveEntropixSampler(SamplerConfig()), build_sampler("top_p")
    steps = {"alpha": lambda: alpha_s.step(x, ids, attention=att, key_mask=km, generators=gens),
             "top_p": lambda: top_p.step(x, ids, key_mask=km, generators=gens)}
    out = {}
    for name, step in steps.items():
        for _ in range(3):  # warm: the solver's constants, allocator
            step()
        n_all, n_top, by_name, by_stage = count(step)
        out[name] = {"all": n_all, "top": n_top}
        print(f"{name}: {n_all} aten ops per step ({n_top} top-level), B={b}, V={v:,}")
        if name == "alpha":
            print("  by stage (innermost):", dict(by_stage.most_common()))
            print("  top-level by name:", dict(by_name.most_common(12)))
    for (m, n), fn in originals.items():
        setattr(m, n, fn)
    alpha_s._ensure_state(b, x.device)
    s = alpha_s
    args_ = [x, ids, torch.ones_like(ids, dtype=torch.bool), att, km, s._window, s._count,
             s._total, s._steps, x.new_zeros(b, 5), s._has_prev, torch.rand(b)]
    ex = torch._dynamo.explain(sampler_mod.adaptive_step)(*args_, s.config, read_prefix=False)
    out["explain"] = {"graphs": ex.graph_count, "breaks": ex.graph_break_count,
                      "ops_in_graph": ex.op_count}
    print(f"torch._dynamo.explain(adaptive_step): {ex.graph_count} graph(s), "
          f"{ex.graph_break_count} break(s), {ex.op_count} ops in the graph")
    return out


if __name__ == "__main__":
    main()
