"""CPU thread policies on the default generation workload, quiet and loaded, in child processes.

    python scripts/bench/bench_threads.py                      # default one passive choice; quiet, loaded; 3x
    python scripts/bench/bench_threads.py --policies default one --load 0 --repeats 1

Each figure is one fresh child process (OpenMP reads its environment once, when torch loads
libgomp, so a policy cannot be switched inside one process): it sets the policy's environment,
imports torch, sets the thread count, loads the shipped tiny model and times `alpha.generate`
on --prompts held-out passages x --tokens new tokens (EOS ignored, one batch, after a short
warm-up). "Loaded" = this script starts --load busy-loop processes (`while True: pass`) for
the duration. The machine may be shared, so the 1-minute load average is recorded before each
child. Runs are interleaved (policy A, B, C, A, B, C, ...) so background load hits all alike;
the table shows the median of --repeats and the ratio to the 1-thread policy in the same phase.

Policies (each child starts from an environment with the OpenMP/MKL variables removed):
  default  torch's default: threads = cores, libgomp's default wait (spin 300,000 then sleep)
  one      torch.set_num_threads(1)
  active   OMP_WAIT_POLICY=ACTIVE (spin forever), threads = cores
  passive  OMP_WAIT_POLICY=PASSIVE (sleep at once), threads = cores
  choice   what the project does when alpha is imported first: `alpha.threads.configure_threads()`
           before torch loads, then generation through alpha (its thread policy)
  late     torch imported before alpha (the original Quick Start's order), then generation
           through alpha: the policy applied where generation starts
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OMP_VARS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS",
            "ALPHA_CPU_THREADS")
POLICIES = {  # name -> (extra environment, threads: None = torch's default, int, or "choice")
    "default": ({}, None),
    "one": ({}, 1),
    "active": ({"OMP_WAIT_POLICY": "ACTIVE"}, None),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, None),
    "choice": ({}, "choice"),
    "late": ({}, "late"),
}


def model_folder(name: str) -> str:
    """A catalogue name (fetched into the cache on first use) or a local folder."""
    if Path(name).is_dir():
        return name
    from alpha.data.sources import get_source
    from alpha.fetch import fetch

    return str(fetch(get_source(name)))


def child(policy: str, prompts: int, tokens: int, model_name: str) -> None:
    """Runs in the child: apply the policy, time one generate call, print one JSON line."""
    env, threads = POLICIES[policy]
    os.environ.update(env)
    if threads == "choice":
        from alpha.threads import configure_threads

        configure_threads()
    if threads == "late":  # a script that imports torch (e.g. via transformers) before alpha
        import torch  # noqa: F401
    import torch

    default = torch.get_num_threads()  # torch's own count (one per core): the None policies'
    from alpha import build_sampler, generate, load_model_and_tokenizer, load_prompts

    # `import alpha` applies the project's count (one) when torch still has its default; the
    # policies that measure torch's default count get it back here (from adf9685 to 2026-12-07
    # they ran one thread: docs/threads.md's table, with passive at 2, predates that import rule)
    if threads is None:
        torch.set_num_threads(default)
    elif isinstance(threads, int):
        torch.set_num_threads(threads)

    model, tok = load_model_and_tokenizer(model_folder(model_name), device="cpu")
    texts = [r["prompt"] for r in load_prompts("heldout_passages", limit=prompts)]
    sampler = build_sampler("alpha")
    generate(model, tok, texts, sampler=sampler, max_new_tokens=4, seed=0, ignore_eos=True)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    out = generate(model, tok, texts, sampler=sampler, max_new_tokens=tokens, seed=0, ignore_eos=True)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0  # cpu: all threads of this process
    n = sum(len(ids) for ids in out.token_ids)  # B x T
    print(json.dumps({"policy": policy, "batch": prompts, "model": model_name, "threads": torch.get_num_threads(), "tok_s": n / dt,
                      "cpu_per_wall": cpu / dt, "os_threads": len(os.listdir("/proc/self/task")),
                      "wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)")}))


def run_child(policy: str, args) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in OMP_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])  # this checkout's alpha
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    from alpha.runner import timing  # the parent only: a child sets its policy before torch loads

    load = timing.load()["load1"]  # before the child starts
    cmd = [sys.executable, __file__, "--child", policy, "--prompts", str(args.prompts),
           "--tokens", str(args.tokens), "--model", args.model]
    p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if p.returncode:
        sys.exit(f"child {policy} failed:\n{p.stderr[-2000:]}")
    row = json.loads(p.stdout.strip().splitlines()[-1])
    row["load1"] = load
    return row


def phase(name: str, args) -> list[dict]:
    """All policies x repeats, interleaved, with `args.load` busy loops if name == 'loaded'."""
    hogs = []
    if name == "loaded":
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)]
    rows = []
    try:
        for r in range(args.repeats):
            for policy in args.policies:
                row = run_child(policy, args)
                row.update(phase=name, repeat=r)
                rows.append(row)
                print(f"  {name:6s} B={args.prompts:<3d} {policy:8s} threads={row['threads']} {row['tok_s']:8.0f} tok/s "
                      f"(load1 {row['load1']:.2f})", flush=True)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    return rows


def table(rows: list[dict], policies: list[str]) -> str:
    lines = ["| phase | batch | policy | threads | tok/s (median) | runs | vs one thread | load1 (median) |",
             "|---|---|---|---|---|---|---|---|"]
    for ph, b in dict.fromkeys((r["phase"], r["batch"]) for r in rows):
        med = {}
        for pol in policies:
            rs = [r for r in rows if r["phase"] == ph and r["batch"] == b and r["policy"] == pol]
            med[pol] = (statistics.median(r["tok_s"] for r in rs), rs)
        base = med.get("one", (None,))[0]
        for pol, (m, rs) in med.items():
            ratio = f"{m / base:.2f}x" if base else "-"
            runs = " / ".join(f"{r['tok_s']:.0f}" for r in rs)
            lines.append(f"| {ph} | {b} | {pol} | {rs[0]['threads']} | {m:.0f} | {runs} | {ratio} | "
                         f"{statistics.median(r['load1'] for r in rs):.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policies", nargs="+", default=["default", "one", "passive", "choice"],
                    choices=list(POLICIES))
    ap.add_argument("--phases", nargs="+", default=["quiet", "loaded"], choices=["quiet", "loaded"])
    ap.add_argument("--load", type=int, default=2, help="busy-loop processes in the loaded phase")
    ap.add_argument("--prompts", type=int, nargs="+", default=[16],
                    help="batch sizes (prompts in the one batch), each its own set of children")
    ap.add_argument("--model", default=str(ROOT / "models" / "tiny-shakespeare"),
                    help="a local folder or a catalogue name, e.g. smollm2-135m")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write every run as JSON Lines here")
    ap.add_argument("--child", choices=list(POLICIES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.prompts[0], args.tokens, args.model)
    print(f"{args.model}: batches {args.prompts} x {args.tokens} tokens, cores available: "
          f"{len(os.sched_getaffinity(0))}, repeats {args.repeats}, busy loops when loaded: {args.load}")
    if not Path(args.model).is_dir():
        model_folder(args.model)  # fetch once here, not in a timed child
    rows = [row for ph in args.phases for b in args.prompts
            for row in phase(ph, argparse.Namespace(**{**vars(args), "prompts": b}))]
    if args.json:
        Path(args.json).write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(table(rows, args.policies))


if __name__ == "__main__":
    main()
