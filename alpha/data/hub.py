"""Hub datasets: `datasets.load_dataset` rows -> prompt records, failing fast offline.

A hub `dataset/` option names `name` (+ `subset`, `hub_split`, `data_files`) and the field
mapping; with `prefix_tokens` each paragraph is cut into a token prefix (the prompt) and the
next `continuation_tokens` tokens (null: the rest) as the reference, by the one cutter
(`alpha.data.continuation`). The same mapping reads rows from elsewhere (a package copy). Rows are split with the same rule as the
bundled sets (`alpha.data.prompts.select_split`), and each record keeps its position before
the split as `index`, so a prompt keeps its generator seed whichever split it lands in.
Knows nothing about Hydra or the runner: the caller gives plain dicts and a tokenizer factory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from alpha.data.prompts import select_split


def datasets_offline() -> bool:
    """HF_HUB_OFFLINE or HF_DATASETS_OFFLINE is set."""
    from alpha.models import hub_offline

    return hub_offline() or os.environ.get("HF_DATASETS_OFFLINE", "").upper() in ("1", "ON", "TRUE")


def hub_rows(ds: dict) -> list[dict]:
    """Rows of a hub dataset (`load_dataset(name, subset, split=hub_split)`), failing fast offline."""
    import datasets

    name, subset, split = ds["name"], ds.get("subset"), ds.get("hub_split", "test")
    files = ds.get("data_files")  # for builders that read local files (json, csv, parquet, text)
    try:
        return list(datasets.load_dataset(name, subset, split=split, data_files=files))
    except (OSError, ValueError) as err:  # ConnectionError is an OSError
        if datasets_offline():
            raise ValueError(f"dataset {name} is not available offline; set HF_HUB_OFFLINE=0 "
                             "HF_DATASETS_OFFLINE=0 or use a bundled dataset") from err
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"dataset {name} (subset={subset}, split={split}) could not be loaded: "
                         f"{first}") from err


def hub_reachable(timeout: float = 3.0) -> bool:
    """The hub answers within `timeout` s (False when told offline; `alpha.netcheck`'s probe),
    so a run with a package fallback does not sit through `datasets`' ~30 s of retries."""
    from alpha.netcheck import hf_endpoint, unreachable

    return not datasets_offline() and unreachable(hf_endpoint(), timeout) is None


def prefix_rows(rows: list[dict], field: str, tokenizer, prefix: int, cont: int | None,
                min_cont: int | None = None) -> list[dict]:
    """Passages cut by the one cutter (`alpha.data.continuation.split_passages`) into a
    `prefix`-token prompt ("text") and the next `cont` tokens (None or 0: the rest of the
    passage) as "reference". Headings ("= ... ="), blank rows and passages with fewer than
    `min_cont` reference tokens (default: `cont`, else 1) are dropped."""
    from alpha.data.continuation import split_passages

    texts = [(r.get(field) or "").strip() for r in rows]
    keep = [t for t in texts if t and not t.startswith("=")]
    cont = int(cont) if cont else None
    least = int(min_cont or cont or 1)
    return [{"text": p, "reference": ref}
            for _, p, ref in split_passages(keep, tokenizer, prefix, cont, least)]


def _field(row: dict, name: str | None, what: str, i: int, keys) -> Any:
    if name is None:
        return None
    if name not in row:
        raise ValueError(f"dataset row {i} has no field {name!r} (dataset.{what}_field); "
                         f"its fields are {sorted(keys)}; set dataset.{what}_field to one of them")
    return row[name]


def hub_records(ds: dict, *, limit: int | None, tokenizer_fn: Callable | None = None,
                rows: list[dict] | None = None) -> list[dict]:
    """Prompt records of a hub dataset option (or of `rows` read elsewhere with the same fields,
    e.g. a package copy): field mapping, token prefixes, split, limit.

    `tokenizer_fn()` gives the tokenizer that cuts `prefix_tokens` prefixes (called only then).
    """
    rows = hub_rows(ds) if rows is None else rows
    ref_field = ds.get("reference_field")
    if ds.get("prefix_tokens"):
        rows = prefix_rows(rows, ds["prompt_field"], tokenizer_fn(), int(ds["prefix_tokens"]),
                           ds.get("continuation_tokens"), ds.get("min_continuation_tokens"))
        ref_field = "reference"
        if ds["prompt_field"] != "text":
            rows = [{**r, ds["prompt_field"]: r["text"]} for r in rows]
    # index = position before the split (as for bundled sets), so a prompt keeps its seed
    keep = select_split(len(rows), ds.get("split", "all"), int(ds.get("dev_size", 50)),
                        ds.get("split_seed"))
    keep = keep[:limit] if limit is not None else keep
    return [{"index": i, "prompt": str(_field(rows[i], ds["prompt_field"], "prompt", i, rows[i])),
             "reference": _field(rows[i], ref_field, "reference", i, rows[i]),
             "answer": _field(rows[i], ds.get("answer_field"), "answer", i, rows[i]),
             "fields": rows[i]}
            for i in keep]
