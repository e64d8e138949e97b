"""Models kept between the jobs of one process: a Hydra sweep loads its model once, not per job.

`python run.py -m ...` (Hydra's basic launcher, the tuner's sweeps) runs every job in one
process, and each job used to load the generating model and the evaluation oracle from disk
again (~12 s a Study 1 trial of ~105 s; minutes for a large model). `load(role, kwargs)` keeps
the last model loaded for each role ("model", "oracle"): a job asking for the same load
arguments of the same unchanged folder gets the same objects; anything else loads afresh and
replaces it (one model per role in memory, as before). What a run does to a model is undone
when the run ends (attention capture restores the attention implementation; a compiled forward
is kept on the model by design, keyed by its options), so a reused model behaves as a fresh one:
tests/test_model_cache.py runs two jobs in one process and compares with separate processes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

_LOADED: dict[str, tuple[str, tuple]] = {}


def _folder_state(path: str) -> list:
    """Names, sizes and modification times of a local folder's files ([] for a hub id): a
    checkpoint rewritten between jobs (a training job saving) is loaded again."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return []
    return sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns)
                  for f in folder.iterdir() if f.is_file())


def load(role: str, kwargs: dict, loader: Callable[..., tuple]) -> tuple:
    """`loader(**kwargs)`'s `(model, tokenizer)`, reused while the role's last load had the same
    arguments and its folder is unchanged."""
    key = json.dumps([kwargs, _folder_state(str(kwargs.get("name_or_path", "")))],
                     sort_keys=True, default=str)
    hit = _LOADED.get(role)
    if hit is not None and hit[0] == key:
        return hit[1]
    _LOADED.pop(role, None)  # free the old one before loading the next
    loaded = loader(**kwargs)
    _LOADED[role] = (key, loaded)
    return loaded


def clear() -> None:
    """Forget every kept model."""
    _LOADED.clear()
