"""One run per run folder: an advisory lock on `<run dir>/.lock`, held for the whole run.

Two runs in one folder would both generate every prompt and both append to `timing.jsonl`
(cost metrics come out wrong). The first run takes an exclusive `fcntl.flock` on `.lock` and
writes who it is (pid, host, start time, command) into it; a second run finds the lock taken
and fails with one line naming the holder. The kernel drops a flock when its process dies, so
a lock file left by a killed run never blocks (the stale owner text is simply overwritten).
The lock is re-entrant within a process (the runner takes it, then the run loop). Where
`fcntl` is missing (Windows) folders are not locked.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

LOCK = ".lock"
_held: dict[str, list] = {}  # resolved folder -> [open lock file, depth]


def owner_line(info: dict) -> str:
    """The holder of a lock as text: `pid 123 on host h since 2026-01-31 12:00:00 (python run.py ...)`."""
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} since {since} "
            f"({info.get('command', '?')})")


def _read_owner(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def acquire(folder: str | Path) -> None:
    """Take the folder's lock (re-entrant in this process); ValueError naming the holder when
    another process has it."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: run unlocked
        return
    folder = Path(folder)
    key = str(folder.resolve())
    if key in _held:
        _held[key][1] += 1
        return
    path = folder / LOCK
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while the lock is held
    except OSError:  # an unwritable folder: the run folder check reports it in one line
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise ValueError(
            f"output_dir={str(folder)!r} is in use by another run: {owner_line(_read_owner(path))}; "
            "wait for it to finish (or stop it), or choose another folder with hydra.run.dir=..."
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                         "command": shlex.join(["python", *sys.argv])}) + "\n")
    fh.flush()
    _held[key] = [fh, 1]


def release(folder: str | Path) -> None:
    """Give back one level of the folder's lock; the last one unlocks it."""
    key = str(Path(folder).resolve())
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _held[key]
        entry[0].close()  # closing the file drops the flock


@contextmanager
def run_folder_lock(folder: str | Path):
    """`with run_folder_lock(out): ...` holds the folder's lock for the block."""
    acquire(folder)
    try:
        yield
    finally:
        release(folder)
