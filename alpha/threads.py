"""The CPU thread policy: passive OpenMP waits, and one torch thread per core this process may use.

torch's CPU build runs its intra-op parallelism on GNU OpenMP (libgomp). By default libgomp's
idle threads spin (GOMP_SPINCOUNT 300,000) before they sleep. On a machine whose cores are busy
with other work, a spinning thread holds a core that the thread it waits for needs, and it gets
none of the scheduler's wake-up preference a sleeping thread gets; the many small parallel
regions of token-by-token generation then each wait for a scheduler time slice. On the loaded
2-core box the shipped tiny model generated ~10x slower with torch's 2 threads than with 1;
with OMP_WAIT_POLICY=PASSIVE the same 2 threads were as fast as 1 thread or faster, so the
thread count stays at the cores available (same command, same machine: same thread count,
whatever else is running). docs/threads.md has the numbers; scripts/bench_threads.py measures.

libgomp reads OMP_WAIT_POLICY once, when torch loads it, so the policy must be applied before
the first `import torch`: `import alpha` does it when alpha is the first to load torch, and
run.py and the benchmark scripts import alpha before torch. An explicit OMP_WAIT_POLICY,
GOMP_SPINCOUNT or OMP_NUM_THREADS in the environment wins.
"""

from __future__ import annotations

import math
import os
import sys

WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")  # either one set by the user: leave the wait alone


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


def configure_threads(threads: int | None = None) -> int:
    """Apply the CPU thread policy and return torch's intra-op thread count.

    threads: an explicit count (e.g. run.py's `cpu_threads`); None = OMP_NUM_THREADS if set,
        else `available_cores()`.
    Before torch is imported this also sets OMP_WAIT_POLICY=PASSIVE (unless the environment sets
    OMP_WAIT_POLICY or GOMP_SPINCOUNT); after, the wait policy can no longer change in-process.
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads={threads!r} must be None (the policy's choice) or an integer >= 1")
    if "torch" not in sys.modules and not any(v in os.environ for v in WAIT_VARS):
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    import torch

    n = threads or env_threads() or available_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
