"""Which code wrote a run: the git commit of the checkout `alpha` was imported from.

A run folder's `run_config.json` keeps, beside its fingerprint, the code of every start that
wrote to it (`code`: one entry per distinct version, oldest first), so a committed result says
which commit made it, and a run resumed under other code says so too. Outside a git checkout
(an installed wheel) the entry holds the package version only.
"""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata

from alpha.runner import ROOT


@cache
def code_version() -> dict:
    """`{"package": version, "commit": sha or None, "dirty": bool or None}`; "dirty": the
    checkout's tracked files differ from the commit (git status, untracked files ignored)."""
    try:
        version = metadata.version("alpha-sampler")
    except metadata.PackageNotFoundError:
        version = None
    out = {"package": version, "commit": None, "dirty": None}
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return out
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return out
    out["commit"] = head.stdout.strip()
    out["dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    return out


def with_current(history: list | None) -> list:
    """`history` (a run folder's earlier entries) with this process's version appended unless
    it is already the last one."""
    history = list(history or [])
    current = code_version()
    return history if history and history[-1] == current else [*history, current]
