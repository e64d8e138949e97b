"""Loader of gsm8k_cot_local.yaml: a local GSM8K JSONL as the harness's `test` split.

The harness calls `load_gsm8k(**metadata, **dataset_kwargs)`; the file is the metadata key
`data_file` (CLI: --metadata '{"data_file": "..."}'), else $ALPHA_GSM8K_JSONL. Each line holds
`question` and `answer` (GSM8K's solution ending in "#### N"), as in GSM8K's own test.jsonl.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "ALPHA_GSM8K_JSONL"


def read_items(path: Path) -> list[dict]:
    """The `question`/`answer` of every line; one clear line for a missing file or field."""
    items = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        for key in ("question", "answer"):
            if not isinstance(row.get(key), str):
                raise ValueError(f"{path}:{n} has no string field {key!r}; each line needs "
                                 f"'question' and 'answer' ('... #### N')")
        items.append({"question": row["question"], "answer": row["answer"]})
    if not items:
        raise ValueError(f"{path} holds no items; give a GSM8K JSONL with one item per line")
    return items


def load_gsm8k(data_file: str | None = None, **_):
    """`DatasetDict({"test": ...})` of the local GSM8K JSONL."""
    import datasets

    data_file = data_file or os.environ.get(ENV)
    if not data_file:
        raise ValueError(f"gsm8k_cot_local needs a GSM8K JSONL: pass --metadata "
                         f"'{{\"data_file\": \"/path/test.jsonl\"}}' or set {ENV}")
    path = Path(data_file).expanduser()
    if not path.is_file():
        raise ValueError(f"data_file={data_file} is not a file; point it at a GSM8K JSONL "
                         f"(question, answer per line)")
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(read_items(path))})
