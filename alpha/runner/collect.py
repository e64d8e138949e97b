"""A finished run's raw files copied into the repository, generations as xz (scripts/collect_runs.py,
Study 4's study.py): generations.jsonl.xz (byte-equal to the run's generations.jsonl after
`xz -d`), metrics.json, run_config.json, .hydra/config.yaml, .hydra/overrides.yaml and
human_metrics.json when scored, so `make_tables.py` (which reads the .xz through
`alpha.runner.runs.read_rows`) recomputes a study's tables and CIs from the repository alone.

`restore` is the way back: a collected run unpacked into a run folder (generations.jsonl
decompressed, the small files copied), so a study resumed on a new machine, or in a session that
starts from a fresh clone, reuses every run already committed instead of generating it again (the
runner sees a complete run of the same fingerprint and reuses its metrics; the tuner counts it
as a finished trial).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
from pathlib import Path

from alpha.runner.atomic import write_atomic

FILES = ("metrics.json", "run_config.json", ".hydra/config.yaml", ".hydra/overrides.yaml",
         "human_metrics.json")


def finished_runs(src: Path) -> tuple[list[Path], list[Path]]:
    """(finished, unfinished) run folders below `src`, sorted."""
    done, open_ = [], []
    for m in sorted(src.rglob("metrics.json")):
        status = json.loads(m.read_text()).get("status")
        (done if status == "complete" and (m.parent / "generations.jsonl").exists()
         else open_).append(m.parent)
    return done, open_


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def collected_digest(dest: Path) -> str | None:
    """sha256 of the generations a collected run holds (after decompression); None when it has
    none, or a truncated or corrupt copy (collected again then)."""
    f = dest / "generations.jsonl.xz"
    if not f.exists():
        return None
    try:
        return _digest(lzma.decompress(f.read_bytes()))
    except (lzma.LZMAError, EOFError):
        return None


def _stale_files(run: Path, dest: Path) -> list[str]:
    """The small files (FILES) the run has and DEST lacks or holds with other bytes: e.g. a
    human_metrics.json scored after the run was first collected."""
    return [name for name in FILES if (run / name).exists() and not (
        (dest / name).exists() and (dest / name).read_bytes() == (run / name).read_bytes())]


def is_collected(run: Path, dest: Path) -> bool:
    """DEST already holds this run's generations, byte for byte, and its small files."""
    return (collected_digest(dest) == _digest((run / "generations.jsonl").read_bytes())
            and not _stale_files(run, dest))


def collect(run: Path, dest: Path) -> bool:
    """Copy one run; False when DEST already holds the same generations and small files."""
    raw = (run / "generations.jsonl").read_bytes()
    stale = _stale_files(run, dest)
    same = collected_digest(dest) == _digest(raw)
    if same and not stale:
        return False
    dest.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run / name, dest / name)
    if same:
        return True
    # the generations last and whole: a temporary file renamed into place, so a reader (or a
    # copy taken meanwhile, or an interruption) never sees a half-written .xz
    write_atomic(dest / "generations.jsonl.xz", lzma.compress(raw, preset=9))
    return True


def collected_runs(dest: Path) -> list[Path]:
    """Collected run folders below `dest` (holding generations.jsonl.xz and metrics.json)."""
    return sorted(x.parent for x in dest.rglob("generations.jsonl.xz")
                  if (x.parent / "metrics.json").exists())


def restore(dest: Path, run: Path) -> bool:
    """Unpack the collected run `dest` into the run folder `run`; False (nothing written) when
    `run` already holds generations (a run folder is never overwritten: its own rows, finished
    or not, are newer than any copy). The generations are written last, whole, through a
    temporary file, so an interrupted restore leaves a folder without rows (restored again)."""
    if (run / "generations.jsonl").exists():
        return False
    raw = lzma.decompress((dest / "generations.jsonl.xz").read_bytes())
    for name in FILES:
        if (dest / name).exists():
            (run / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dest / name, run / name)
    write_atomic(run / "generations.jsonl", raw)
    return True
