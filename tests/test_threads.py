"""The CPU thread policy (alpha/threads.py, docs/threads.md) takes effect where it must.

libgomp itself is the reference: with OMP_DISPLAY_ENV=VERBOSE it prints the wait policy and
spin count it actually loaded with (GOMP_SPINCOUNT '0' = passive, '300000' = its default spin,
'30000000000' = active), so these tests see what OpenMP does, not what our code believes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alpha.threads import available_cores, configure_threads

ROOT = Path(__file__).resolve().parents[1]
OMP_VARS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS")


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in OMP_VARS}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**clean, "OMP_DISPLAY_ENV": "VERBOSE", **env}, timeout=120)


def _spincount(stderr: str) -> str:
    line = next(x for x in stderr.splitlines() if "GOMP_SPINCOUNT" in x)
    return line.split("=")[1].strip().strip("'")


def test_import_alpha_makes_openmp_wait_passive():
    """`import alpha` before torch: libgomp loads passive; one thread (the policy's count), also
    when torch comes through an alpha module; the user's OMP_NUM_THREADS=2 wins."""
    out = _python("import alpha, torch; print(torch.get_num_threads())")
    assert out.returncode == 0, out.stderr[-2000:]
    assert _spincount(out.stderr) == "0"
    assert out.stdout.split()[-1] == "1"
    out = _python("import alpha.sampler, torch; print(torch.get_num_threads())")
    assert _spincount(out.stderr) == "0" and out.stdout.split()[-1] == "1"
    out = _python("import alpha, torch; print(torch.get_num_threads())", OMP_NUM_THREADS="2")
    assert out.stdout.split()[-1] == "2"


def test_the_count_holds_whatever_the_import_order():
    """The original Quick Start's order (transformers, hence torch, before alpha): libgomp
    spins, but the policy's one thread has no OpenMP worker to spin, and nothing is printed.
    Asking for 2 threads there warns once, in one line; a count the program set is kept."""
    quick = "import transformers, torch\nimport alpha\nprint(torch.get_num_threads())"
    out = _python(quick)
    assert out.returncode == 0, out.stderr[-2000:]
    assert _spincount(out.stderr) == "300000" and out.stdout.split()[-1] == "1"
    assert "spinning" not in out.stderr
    two = ("import torch, logging\nlogging.basicConfig()\nimport alpha\n"
           "alpha.configure_threads(2); alpha.configure_threads(2)\nprint(torch.get_num_threads())")
    out = _python(two)
    warnings = [x for x in out.stderr.splitlines() if "spinning waits" in x]
    assert len(warnings) == 1 and "OMP_WAIT_POLICY=PASSIVE" in warnings[0]
    assert out.stdout.split()[-1] == "2"
    if available_cores() > 3:  # torch's default count differs from 3: a chosen count stays
        out = _python("import torch\ntorch.set_num_threads(3)\nimport alpha\nprint(torch.get_num_threads())")
        assert out.stdout.split()[-1] == "3"


def test_the_users_environment_wins():
    """OMP_WAIT_POLICY / OMP_NUM_THREADS given by the user are kept (threads.py alone: fast)."""
    code = ("import importlib.util as u\n"
            "s = u.spec_from_file_location('threads', 'alpha/threads.py'); m = u.module_from_spec(s)\n"
            "s.loader.exec_module(m); print(m.configure_threads())\n")
    out = _python(code, OMP_WAIT_POLICY="ACTIVE", OMP_NUM_THREADS="1")
    assert out.returncode == 0, out.stderr[-2000:]
    assert _spincount(out.stderr) == "30000000000"
    assert out.stdout.split()[-1] == "1"


def test_run_py_loads_torch_only_after_alpha():
    """run.py reaches torch only through alpha, so libgomp loads passive there too."""
    out = _python("import sys, run; print('torch' in sys.modules)")
    assert out.returncode == 0, out.stderr[-2000:]
    if out.stdout.split()[-1] == "True":  # the runner imports alpha (and so torch) up front
        assert _spincount(out.stderr) == "0"


def test_available_cores_is_this_process_affinity_at_most():
    assert 1 <= available_cores() <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="threads="):
        configure_threads(bad)
