"""Benchmark scripts run offline on the tiny model (their figures live in docs/ and READMEs).

- bench_eval_passes.py: the old ways it times (a full LM forward for features, full logits for
  scoring) are the independent references: the new features equal them exactly, the new
  perplexities within float32 rounding, and a second MAUVE run with the same references gives
  the same value.
- bench_batch_size.py: every batch size generates the same tokens; ratios against the first.
- bench_pool.py: checks its top-k values against torch.topk before timing.
- bench_dtype.py, profile_compiled_step.py: run end to end on the tiny model / small shapes.
- bench_step_ops.py: its kernel-launch proxy on hand-counted steps (views, a cast that converts
  nothing, allocations: none; arithmetic, a real cast, a softmax: one each).
"""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))  # as `python scripts/bench/NAME.py` has it
TINY = str(ROOT / "models" / "tiny-shakespeare")


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_eval_passes(capsys):
    out = load_script("bench_eval_passes").main(
        ["--model", "tiny", "--data", "heldout", "--rows", "8", "--repeats", "1", "--tokens", "16"])
    assert set(out) == {"features", "scoring", "mauve_second_run"}
    assert all(v > 0 for v in out.values())
    printed = capsys.readouterr().out
    assert "max |diff| 0.00e+00" in printed  # decoder-only features are the LM's, bit for bit
    assert float(printed.split("max relative perplexity diff ")[1].split()[0]) < 1e-4


def test_bench_batch_size(tmp_path):
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps(["To be, or not to be", "Now is the winter", "O Romeo"] * 2))
    out = load_script("bench_batch_size").main(
        ["--model-path", TINY, "--prompts-json", str(prompts), "--prompts", "6", "--batches", "2,6",
         "--new-tokens", "3"])
    assert set(out) == {2, 6} and out[2]["ratio"] == 1.0
    assert out[6]["tokens_per_s"] > 0 and out[6]["seconds"] > 0


def test_bench_pool_times_the_chunked_topk_beside_torch_topk(capsys):
    rows = load_script("bench_pool").main(["--batch", "2", "--vocab", "30000", "--repeats", "1"])
    assert [r.name for r in rows] == ["torch.topk", "topk_exact", "masked copy + topk",
                                      "build_pool"]
    assert rows[0].ratio == 1.0 and "vs baseline" in capsys.readouterr().out


def test_profile_compiled_step_lists_the_step_s_ops_per_step(capsys):
    rows = load_script("profile_compiled_step").main(
        ["--batch", "2", "--vocab", "4096", "--seq", "16", "--steps", "1", "--backend", "eager"])
    names = [n for n, _ in rows]
    assert "aten::topk" in names and "aten::cumsum" in names  # the pool and the solver ran
    assert "ms self time a step" in capsys.readouterr().out


def test_bench_dtype_times_bfloat16_beside_float32(capsys):
    rows = load_script("bench_dtype").main(["--model-path", TINY, "--batch", "2",
                                           "--new-tokens", "3", "--repeats", "1"])
    assert [r.name for r in rows] == ["float32", "bfloat16"] and rows[0].ratio == 1.0
    out = capsys.readouterr().out
    assert "tokens/s" in out and "same tokens:" in out


def test_bench_step_ops_counts_launches_by_hand():
    import torch

    count = load_script("bench_step_ops").count
    x = torch.randn(4, 6)

    def step():
        y = x.view(2, 12).unsqueeze(0)[0].t()  # views: no kernel
        y = y.float() + 1.0  # .float() of a float32 tensor converts nothing; the add: 1
        z = torch.empty_like(y)  # allocation: no kernel
        return y.double().softmax(-1), z  # the cast's copy and the softmax: 2

    c = count(step)
    assert c["launch_proxy"] == 3
    assert c["all"] > c["top"] >= 3  # the raw profiler counts include views and wrappers
    out = load_script("bench_step_ops").main(["--batch", "2", "--vocab", "3000"])
    assert out["explain"] == {"graphs": 1, "breaks": 0, "ops_in_graph": out["explain"]["ops_in_graph"]}
    assert out["alpha"]["launch_proxy"] < out["alpha"]["top"] < out["alpha"]["all"]
    # --solver-iters reaches the sampler: one bisection round a search (4 iterations) instead of
    # the default's five runs 8 fewer entropy evaluations, so fewer ops
    coarse = load_script("bench_step_ops").main(["--batch", "2", "--vocab", "3000",
                                                 "--solver-iters", "4"])
    assert coarse["alpha"]["all"] < out["alpha"]["all"]
    assert coarse["top_p"] == out["top_p"]  # the baseline's step is not the solver's


def test_bench_threads_passive_policy_runs_torch_s_own_count():
    """bench_threads.py's `passive` child measures torch's default count (one per core) with
    passive waits, as its docstring says: `import alpha` inside the child must not leave it at the
    project's one thread (it did from adf9685 to 2026-12-07). The child reports the count torch
    ran with; libgomp's own report (OMP_DISPLAY_ENV) confirms the wait policy."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "MKL_"))}
    env.update(OMP_DISPLAY_ENV="VERBOSE", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench" / "bench_threads.py"),
                          "--child", "passive", "--prompts", "1", "--tokens", "2"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["threads"] == len(os.sched_getaffinity(0)) and row["wait_policy"] == "PASSIVE"
    assert "GOMP_SPINCOUNT = '0'" in out.stderr
