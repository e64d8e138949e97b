"""A `dataset/` option (plain dict) -> the prompt records a run generates from.

One entry point, `load_records`: a bundled/local JSON Lines set (`path`, through
`alpha.data.prompts.load_prompts`) or a hub dataset (`name`, through `alpha.data.hub`), then
the prompt template, then a never-empty check. Which builder reads an option is decided by a
registry by name (`DATASET_SOURCES`: "path" -> JSON Lines, "name" -> hub), so another source
(e.g. a fetched GSM8K file) is one `@register_dataset_source` away. Paths arrive resolved (the
runner knows the repository root; this module does not).
"""

from __future__ import annotations

from collections.abc import Callable

from alpha.registry import Registry

DATASET_SOURCES = Registry("dataset source")


def dataset_limit(ds: dict, num_prompts: int | None) -> int | None:
    """The smaller of dataset.limit and num_prompts (None when neither is set)."""
    limits = [n for n in (ds.get("limit"), num_prompts) if n is not None]
    return min(limits) if limits else None


def prompt_kwargs(ds: dict, path: str, limit: int | None) -> dict:
    """Keyword arguments of `alpha.data.load_prompts` from a bundled `dataset/` option."""
    return dict(
        path_or_name=path, prompt_field=ds.get("prompt_field", "prompt"),
        reference_field=ds.get("reference_field"), answer_field=ds.get("answer_field"),
        split=ds.get("split", "all"), limit=limit, dev_size=int(ds.get("dev_size", 50)),
    )


def apply_template(records: list[dict], template: str | None) -> list[dict]:
    """Format each prompt with `dataset.prompt_template` ({prompt} = the prompt field's text)."""
    if not template or template == "{prompt}":
        return records
    out = []
    for rec in records:
        fields = {**rec.get("fields", {}), "prompt": rec["prompt"]}
        try:
            prompt = template.format(**fields)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"dataset.prompt_template={template!r} cannot be filled ({err!r}); "
                             f"it may use {sorted(fields)}") from err
        out.append({**rec, "prompt": prompt})
    return out


@DATASET_SOURCES.register("path")
def _from_file(ds: dict, *, limit: int | None, tokenizer_fn: Callable | None = None) -> list[dict]:
    from alpha.data.prompts import load_prompts

    return load_prompts(**prompt_kwargs(ds, str(ds["path"]), limit))


@DATASET_SOURCES.register("name")
def _from_hub(ds: dict, *, limit: int | None, tokenizer_fn: Callable | None = None) -> list[dict]:
    from alpha.data.hub import hub_records

    return hub_records(ds, limit=limit, tokenizer_fn=tokenizer_fn)


def load_records(ds: dict, *, num_prompts: int | None = None,
                 tokenizer_fn: Callable | None = None) -> list[dict]:
    """The prompt records of a `dataset/` option (bundled file or hub dataset), never empty.

    Args:
        ds: the option as a plain dict; `path` (already resolved) or hub `name`.
        num_prompts: the run's cap on prompts (with `ds["limit"]`, the smaller wins).
        tokenizer_fn: gives the tokenizer that cuts hub `prefix_tokens` prompts.
    """
    source = next((key for key in DATASET_SOURCES.names() if ds.get(key)), None)
    if source is None:
        raise ValueError("the dataset option has neither path (bundled file) nor name (hub id)")
    records = DATASET_SOURCES.build(source, ds, limit=dataset_limit(ds, num_prompts),
                                    tokenizer_fn=tokenizer_fn)
    records = [{k: v for k, v in r.items() if k != "fields"}
               for r in apply_template(records, ds.get("prompt_template"))]
    for rec in records:  # hub rows and templates: by dataset row, before any model loads
        if not str(rec.get("prompt") or "").strip():
            raise ValueError(f"dataset row {rec.get('index')} has an empty prompt "
                             f"(dataset.prompt_field={ds.get('prompt_field', 'prompt')!r}); "
                             "drop the row or point prompt_field at a text field")
    if not records:
        raise ValueError(f"dataset gave no prompts after split={ds.get('split')!r}, "
                         f"limit={ds.get('limit')}, num_prompts={num_prompts}; widen them")
    return records
