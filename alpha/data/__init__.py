"""Prompt data: bundled JSON Lines sets, hub datasets, prompt templates, one split rule.

    prompts.py   load_prompts: a JSON Lines file or bundled set (validated line by line)
    hub.py       hub datasets via `datasets.load_dataset`, offline errors
    records.py   load_records: a `dataset/` option -> prompt records (source registry, template)
    sources.py   the catalogue of real models and sets inside packages on the index (alpha.fetch)
    continuation.py  the one prefix cutter: a token prefix as the prompt, the rest as reference
    gsm8k_cot.py     GSM8K chain-of-thought prompts and lm-eval-harness scoring

`datasets` is imported only when rows are actually read.
"""

from alpha.data.prompts import (
    BUNDLED,
    DATA_DIR,
    SPLITS,
    load_prompts,
    resolve_prompt_path,
    select_split,
    validate_jsonl,
)
from alpha.data.records import apply_template, dataset_limit, load_records

__all__ = [
    "BUNDLED",
    "DATA_DIR",
    "SPLITS",
    "apply_template",
    "dataset_limit",
    "load_prompts",
    "load_records",
    "resolve_prompt_path",
    "select_split",
    "validate_jsonl",
]
