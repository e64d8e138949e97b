"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then
renamed over it (`os.replace` is atomic on one filesystem), so a reader, a copy taken meanwhile
or an interruption never sees half a file; on a write error the old file stays as it was."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` (str: UTF-8) to `path` through `path.tmp` and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
