"""The CPU thread policy: one torch thread per process unless asked, and passive OpenMP waits.

Token-by-token generation with a small model is thousands of tiny parallel regions per second,
each ending in a barrier. With several intra-op threads on cores that other work also wants, a
region waits for whichever of its threads the scheduler has parked; with one thread there is no
barrier and no OpenMP worker at all. So the default is one thread per process (`threads=None`
with no OMP_NUM_THREADS), whatever else runs: the same command computes the same floats on a
quiet and on a busy machine, and a data-parallel rank (torchrun sets OMP_NUM_THREADS=1) computes
what one process does. Scale a CPU run with processes (data parallel, a joblib sweep), or give a
machine you have to yourself more threads: `cpu_threads=N` / `configure_threads(N)` /
OMP_NUM_THREADS=N. docs/threads.md has the measurements (scripts/bench/bench_threads.py).

Import order does not matter for the count: `import alpha` applies it whether or not torch was
imported first (a count torch already had changed from its default is left alone; before torch,
as OMP_NUM_THREADS=1 in the environment, since `import alpha` itself loads no torch). It matters
for the wait policy of extra threads: libgomp reads OMP_WAIT_POLICY once, when torch loads it,
so `import alpha` before torch sets PASSIVE (idle workers sleep instead of spinning 300,000
rounds). When torch came first with the default spin and more than one thread is asked for,
`configure_threads` warns once, in one line. An explicit OMP_WAIT_POLICY, GOMP_SPINCOUNT or
OMP_NUM_THREADS in the environment wins.
"""

from __future__ import annotations

import logging
import math
import os
import sys

log = logging.getLogger(__name__)

WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")  # either one set by the user: leave the wait alone
_state = {"passive": False, "warned": False}  # set PASSIVE before torch loaded; spin warning given


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota if any."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:  # "max 100000" or "200000 100000" (2 cores)
            quota, period = f.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def env_threads() -> int | None:
    """OMP_NUM_THREADS as an int (its first level), or None when unset or not a positive integer."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def spinning_waits() -> bool:
    """True when libgomp loaded (or will load) with its default spinning wait: torch came before
    any PASSIVE setting and the environment names no wait policy."""
    return not _state["passive"] and not any(v in os.environ for v in WAIT_VARS)


def _passive_before_torch() -> None:
    """OMP_WAIT_POLICY=PASSIVE for the libgomp torch will load, unless torch (and so libgomp) is
    loaded already or the environment names a wait policy."""
    if "torch" not in sys.modules and not any(v in os.environ for v in WAIT_VARS):
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        _state["passive"] = True


def configure_threads(threads: int | None = None) -> int:
    """Apply the CPU thread policy and return torch's intra-op thread count.

    threads: an explicit count (e.g. run.py's `cpu_threads`); None = OMP_NUM_THREADS if set,
        else 1.
    Before torch is imported this also sets OMP_WAIT_POLICY=PASSIVE (unless the environment sets
    OMP_WAIT_POLICY or GOMP_SPINCOUNT); after, the wait policy can no longer change in-process,
    and asking for more than one thread then warns once that OpenMP's idle workers spin.
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads={threads!r} must be None (the policy's choice) or an integer >= 1")
    _passive_before_torch()
    import torch

    n = threads or env_threads() or 1
    if n > 1 and spinning_waits() and not _state["warned"]:
        _state["warned"] = True
        log.warning("torch was loaded before alpha with OpenMP's spinning waits: %d threads can run "
                    "far slower than 1 on a busy machine; import alpha first or set "
                    "OMP_WAIT_POLICY=PASSIVE before Python starts (docs/threads.md)", n)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def configure_on_import() -> None:
    """`import alpha`'s call. Torch already loaded: the policy's count unless the program chose one
    (anything but torch's default of one per core). Torch not loaded yet (`import alpha` itself
    loads no torch; its names load on first use): the policy goes into the environment that libgomp
    reads when torch loads it, OMP_WAIT_POLICY=PASSIVE and OMP_NUM_THREADS=1 unless the user set
    them, so torch starts with one thread whichever alpha module (or the program) imports it, and
    child processes inherit the same policy."""
    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != available_cores():
            return
        configure_threads()
        return
    _passive_before_torch()
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"
