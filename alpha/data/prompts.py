"""Prompt sets: load a JSON Lines file (or a bundled set by name) into plain prompt records.

Each line of a prompt file is one JSON object. The file is checked line by line first, so a
malformed line or a missing field fails with the file and line number in the message; then the
rows are read through `datasets` (`load_dataset("json", ...)`).

Bundled sets live in the repository's `data/` folder (see data/README.md):
`heldout_passages` (prompt + reference), `open_prompts` (prompt only) and `arithmetic`
(prompt + answer). This module only knows local JSON Lines files and the split rule
(`select_split`, shared with hub datasets); hub datasets are `alpha/data/hub.py`, a dataset
option -> records (templates, limits) is `alpha/data/records.py`.

>>> rows = load_prompts("arithmetic", answer_field="answer", split="dev", limit=2)
>>> sorted(rows[0])
['answer', 'fields', 'index', 'prompt', 'reference']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUNDLED = {
    "heldout_passages": "heldout_passages.jsonl",
    "open_prompts": "open_prompts.jsonl",
    "arithmetic": "arithmetic.jsonl",
}
SPLITS = ("train", "all", "dev", "test")


def resolve_prompt_path(path_or_name: str | Path) -> Path:
    """A bundled set's name (see `BUNDLED`) or an existing file -> its path.

    Raises:
        ValueError: neither an existing file nor a bundled name (the message lists both kinds).
    """
    if str(path_or_name) in BUNDLED:
        return DATA_DIR / BUNDLED[str(path_or_name)]
    path = Path(path_or_name)
    if path.is_file():
        return path
    raise ValueError(
        f"dataset path={str(path_or_name)!r} is not a file; give a JSON Lines file or one of the "
        f"bundled sets {sorted(BUNDLED)}"
    )


def validate_jsonl(path: str | Path, required: tuple[str, ...], nonblank: str | None = None) -> int:
    """Check every non-blank line is UTF-8 and a JSON object holding the `required` fields as
    text, and that field `nonblank` (the prompt) is not empty.

    Returns:
        the number of rows.

    Raises:
        ValueError: `"{path}:{line}: ..."` for bytes that are not UTF-8, malformed JSON, a
            non-object line, a missing field, a field that is not a string/number or an empty
            `nonblank` field; also for a file with no rows.
    """
    n = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(
                    f"{path}:{lineno}: not UTF-8 (byte 0x{raw[err.start]:02x} at column "
                    f"{err.start + 1}); save the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(
                    f"{path}:{lineno}: malformed JSON ({err.msg} at column {err.colno}); "
                    "each line must be one JSON object"
                ) from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object, got "
                                 f"{type(row).__name__}; write one object per line")
            for name in required:
                if name not in row:
                    raise ValueError(
                        f"{path}:{lineno}: missing field {name!r} (line has {sorted(row)}); "
                        f"add it or point the field option at one of those"
                    )
                if not isinstance(row[name], (str, int, float)) or isinstance(row[name], bool):
                    raise ValueError(f"{path}:{lineno}: field {name!r} is "
                                     f"{type(row[name]).__name__}; expected text or a number")
                if name == nonblank and not str(row[name]).strip():
                    raise ValueError(f"{path}:{lineno}: field {name!r} is empty; give the "
                                     "prompt text or remove the line")
            n += 1
    if n == 0:
        raise ValueError(f"{path}: no rows; a prompt file needs at least one JSON object line")
    return n


def select_split(n: int, split: str, dev_size: int, split_seed: int | None = None):
    """Row positions of a split: train/all = every row, dev = the first `dev_size`, test = rest.

    With `split_seed` the dev rows are `dev_size` rows drawn by a seeded permutation
    (`numpy.random.default_rng(split_seed).permutation(n)[:dev_size]`) and test the others, each
    in file order; a row keeps its position as its index (and so its generation seed).
    """
    if split not in SPLITS:
        raise ValueError(f"dataset.split={split!r} is unknown; choose one of {SPLITS}")
    if dev_size < 0:
        raise ValueError(f"dev_size={dev_size} must be >= 0")
    if split_seed is None or split not in ("dev", "test"):
        if split == "dev":
            return range(min(dev_size, n))
        if split == "test":
            return range(min(dev_size, n), n)
        return range(n)
    import numpy as np

    if isinstance(split_seed, bool) or not isinstance(split_seed, int):
        raise ValueError(f"dataset.split_seed={split_seed!r} is invalid: use an integer or null")
    perm = np.random.default_rng(split_seed).permutation(n)
    chosen = perm[:dev_size] if split == "dev" else perm[dev_size:]
    return sorted(int(i) for i in chosen)


def load_prompts(
    path_or_name: str | Path,
    *,
    prompt_field: str = "prompt",
    reference_field: str | None = None,
    answer_field: str | None = None,
    split: str = "train",
    limit: int | None = None,
    dev_size: int = 50,
    split_seed: int | None = None,
) -> list[dict[str, Any]]:
    """Load prompt records from a JSON Lines file or a bundled set, via `datasets`.

    Args:
        path_or_name: a `.jsonl` file, or a bundled set name (`heldout_passages`,
            `open_prompts`, `arithmetic`).
        prompt_field: the field holding the prompt text.
        reference_field: the field holding the reference continuation, or None.
        answer_field: the field holding the gold answer, or None.
        split: `train`/`all` (every row), `dev` (first `dev_size` rows) or `test` (the rest).
        limit: keep at most this many rows of the split (None = all).
        dev_size: rows in the dev split.
        split_seed: draw the dev rows by a seeded permutation instead of taking the first
            (`select_split`); None keeps the first-rows rule.

    Returns:
        one dict per row, in file order: `{"index", "prompt", "reference", "answer",
        "fields"}`; `index` is the row's position in the file, `reference`/`answer` are None
        when their field is not asked for (answers are returned as text), `fields` is the
        whole row (for prompt templates that use other fields).

    Raises:
        ValueError: unknown name/path, bad split or limit, malformed line or missing field
            (the message names the file and line).
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit={limit} must be >= 0 or None (all rows)")
    path = resolve_prompt_path(path_or_name)
    fields = tuple(f for f in (prompt_field, reference_field, answer_field) if f)
    n = validate_jsonl(path, fields, nonblank=prompt_field)
    rows = select_split(n, split, dev_size, split_seed)
    if limit is not None:
        rows = rows[:limit]

    import datasets

    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # a local file: no "Generating train split" bars
    try:
        ds = datasets.load_dataset("json", data_files=str(path), split="train").select(rows)
    finally:
        if not quiet:
            datasets.enable_progress_bars()
    return [
        {
            "index": rows[i],
            "prompt": str(ex[prompt_field]),
            "reference": None if reference_field is None else str(ex[reference_field]),
            "answer": None if answer_field is None else str(ex[answer_field]),
            "fields": dict(ex),
        }
        for i, ex in enumerate(ds)
    ]
