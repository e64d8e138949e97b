"""Check a local `save_pretrained` checkpoint folder before loading it.

`check_checkpoint(path)` catches the usual ways a local model folder is broken (missing
folder, missing or corrupt config / weights / tokenizer files) and a tokenizer that does not
fit the model (more token ids than embedding rows), with one-line messages that name the file
and the fix. It reads headers and configs only; it never loads the weights into a model. The
tokenizer it loads is returned (`CheckpointInfo.tokenizer`) so a loader need not load it twice.
`check_tokenizer_fits(tokenizer, vocab_size, source=...)` is the same vocabulary check for any
already-loaded pair (hub models too). Loading itself is `alpha.models`' job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


@dataclass(frozen=True)
class CheckpointInfo:
    """What `check_checkpoint` found: the folder, its weights file and sizes."""

    path: Path
    weights: Path
    vocab_size: int  # embedding rows (config.vocab_size)
    tokenizer_size: int  # len(tokenizer), special tokens included
    eos_token_id: int | list[int] | None
    tokenizer: Any = field(default=None, repr=False, compare=False)  # the loaded one: reuse it


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: corrupt JSON ({err}); re-save the checkpoint with "
                         "save_pretrained or restore the file from git") from None


def _check_safetensors(path: Path) -> None:
    """Open the safetensors header and check the file holds every tensor it declares."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            keys = list(f.keys())
    except Exception as err:  # safetensors raises its own SafetensorError
        raise ValueError(f"{path}: corrupt safetensors file ({err}); re-save the checkpoint "
                         "or restore the file (git lfs/checkout)") from None
    if not keys:
        raise ValueError(f"{path}: holds no tensors; re-save the checkpoint")


def check_tokenizer_fits(tokenizer, vocab_size: int, *, source: str = "model") -> None:
    """Raise ValueError if the tokenizer can emit ids the embedding has no row for."""
    n = len(tokenizer)
    if n > vocab_size:
        raise ValueError(
            f"{source}: tokenizer has {n} tokens but the model's embedding has only "
            f"{vocab_size} rows (config.vocab_size); use the tokenizer saved with this model"
        )
    eos = tokenizer.eos_token_id
    if eos is not None and eos >= vocab_size:
        raise ValueError(f"{source}: tokenizer eos_token_id={eos} is outside the model's "
                         f"vocabulary ({vocab_size}); use the tokenizer saved with this model")


def check_checkpoint(path: str | Path) -> CheckpointInfo:
    """Validate a local checkpoint folder (config, weights, tokenizer, their fit).

    Raises:
        ValueError: the folder is missing; a file is missing or corrupt (named in the
            message); the tokenizer has more tokens than the embedding has rows.
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"model path={str(path)!r} is not a folder; give a save_pretrained "
                         "folder (e.g. models/tiny-shakespeare) or a hub name")
    if not (path / "config.json").is_file():
        raise ValueError(f"{path}: no config.json; this is not a save_pretrained folder")
    config = _read_json(path / "config.json")
    vocab_size = config.get("vocab_size") or config.get("text_config", {}).get("vocab_size")
    if not isinstance(vocab_size, int) or vocab_size <= 0:
        raise ValueError(f"{path / 'config.json'}: vocab_size={vocab_size!r}; expected a "
                         "positive integer")
    weights = next((path / w for w in WEIGHT_FILES if (path / w).is_file()), None)
    if weights is None:
        raise ValueError(f"{path}: no weights file (looked for {list(WEIGHT_FILES)}); "
                         "re-save the model with save_pretrained")
    if weights.suffix == ".safetensors":
        _check_safetensors(weights)
    elif weights.name.endswith(".index.json"):
        for shard in sorted(set(_read_json(weights).get("weight_map", {}).values())):
            if not (path / shard).is_file():
                raise ValueError(f"{path / shard}: shard listed in {weights.name} is missing")
    if not any((path / t).is_file() for t in TOKENIZER_FILES):
        raise ValueError(f"{path}: no tokenizer files (looked for {list(TOKENIZER_FILES)}); "
                         "save the tokenizer with tokenizer.save_pretrained(path)")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as err:
        raise ValueError(f"{path}: tokenizer files do not load ({type(err).__name__}: "
                         f"{str(err)[:200]}); re-save the tokenizer") from None
    check_tokenizer_fits(tokenizer, vocab_size, source=str(path))
    return CheckpointInfo(path=path, weights=weights, vocab_size=vocab_size,
                          tokenizer_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                          tokenizer=tokenizer)
