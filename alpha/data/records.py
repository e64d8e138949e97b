"""A `dataset/` option (plain dict) -> the prompt records a run generates from.

One entry point, `load_records`: a bundled/local JSON Lines set (`path`, through
`alpha.data.prompts.load_prompts`), a hub dataset (`name`, through `alpha.data.hub`; with a
`source` too, the package copy when the hub is unreachable) or a catalogue set from the package
index (`source`, through `alpha.data.sources`), then the prompt format (`prompt_format`: e.g.
GSM8K 8-shot chain of thought, which also sets stop strings), then the prompt template, then a
never-empty check. Which builder reads an option is decided by a registry by name
(`DATASET_SOURCES`: "path", "name", "source", first key set wins). Each record says where it
came from (`origin`). Paths arrive resolved (the runner knows the repository root; this module
does not).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alpha.data import gsm8k_cot
from alpha.registry import Registry

log = logging.getLogger(__name__)
DATASET_SOURCES = Registry("dataset source")


@dataclass(frozen=True)
class PromptFormat:
    """How a record's text becomes the prompt (`dataset.prompt_format`)."""

    build: Callable[[str], str] | None  # None: the text as it is
    stop_strings: tuple[str, ...] = ()  # generation stops at these (text cut before them)
    chat_template: bool = True  # False: never wrapped in a chat template (few-shot text)


PROMPT_FORMATS = {
    "plain": PromptFormat(None),
    # a prefix of human text to continue: never wrapped in a chat template, even for chat models
    "continuation": PromptFormat(None, (), False),
    # lm-eval-harness gsm8k_cot: 8 exemplars, "Q: ...\nA:", raw text even for chat models
    "gsm8k_cot8": PromptFormat(gsm8k_cot.fewshot_prompt, gsm8k_cot.STOP_STRINGS, False),
    # gsm8k_cot_zeroshot ("Let's think step by step."), in the model's chat template if it has one
    "gsm8k_cot_zeroshot": PromptFormat(gsm8k_cot.zero_shot_prompt, gsm8k_cot.STOP_STRINGS, True),
}


def prompt_format(ds: dict) -> PromptFormat:
    """The option's `prompt_format` (default plain); an unknown name lists the formats."""
    name = ds.get("prompt_format") or "plain"
    if name not in PROMPT_FORMATS:
        raise ValueError(f"dataset.prompt_format={name!r} is unknown; choose one of "
                         f"{sorted(PROMPT_FORMATS)}")
    return PROMPT_FORMATS[name]


def stop_strings(ds: dict) -> Sequence[str]:
    """The stop strings of the option's prompt format."""
    return prompt_format(ds).stop_strings


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
        split_seed=ds.get("split_seed"),
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
    """The hub dataset; with `source` set too, its package copy when the hub is unreachable
    (the rows keep the hub's field names, `alpha.data.sources.read_rows`)."""
    from alpha.data.hub import hub_reachable, hub_records

    if ds.get("source") and not hub_reachable():
        return _from_source(ds, limit=limit, tokenizer_fn=tokenizer_fn, rows="file")
    try:
        records = hub_records(ds, limit=limit, tokenizer_fn=tokenizer_fn)
    except ValueError as err:  # reachable host, failing hub (a proxy, a silent server)
        if not ds.get("source"):
            raise
        log.warning("%s; using the package copy (dataset.source=%s)", err, ds["source"])
        return _from_source(ds, limit=limit, tokenizer_fn=tokenizer_fn, rows="file")
    return [{**r, "origin": f"hub:{ds['name']}"} for r in records]


@DATASET_SOURCES.register("source")
def _from_source(ds: dict, *, limit: int | None, tokenizer_fn: Callable | None = None,
                 rows: str = "records") -> list[dict]:
    """A catalogue set fetched from the package index (`alpha.data.sources`): its records
    (fields text, answer, reference) or, with rows="file", the file's own rows."""
    from alpha.data import sources
    from alpha.data.hub import hub_records
    from alpha.fetch import FetchError

    name = ds["source"]
    read = sources.read_rows if rows == "file" else sources.read_records
    try:
        data = read(name)
    except FetchError as err:
        raise ValueError(str(err)) from None
    spec = ", ".join(p.spec for p in sources.get_source(name).parts)
    return [{**r, "origin": f"package:{name} ({spec})"}
            for r in hub_records(ds, limit=limit, tokenizer_fn=tokenizer_fn, rows=data)]


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
        raise ValueError("the dataset option has neither path (bundled file), name (hub id) nor "
                         "source (a set of `python -m alpha.fetch --list`)")
    records = DATASET_SOURCES.build(source, ds, limit=dataset_limit(ds, num_prompts),
                                    tokenizer_fn=tokenizer_fn)
    build = prompt_format(ds).build
    if build is not None:
        records = [{**r, "prompt": build(r["prompt"])} for r in records]
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
    if num_prompts is not None and len(records) < num_prompts and (
            ds.get("limit") is None or ds["limit"] >= num_prompts):
        log.warning("num_prompts=%d but the dataset's split %r has %d prompts: running all %d",
                    num_prompts, ds.get("split"), len(records), len(records))
    return records


def expand_samples(records: list[dict], num_samples: int) -> list[dict]:
    """Each prompt `num_samples` times, adjacent (one batch shares its prompt prefix): sample j
    of the prompt with index i gets index i * num_samples + j (its generator's seed comes from
    (seed, that index): the same whatever else is in the batch), `problem` i and `sample` j.
    One sample returns the records unchanged."""
    if num_samples == 1:
        return records
    out = []
    for pos, rec in enumerate(records):
        i = int(rec.get("index", pos))
        out += [{**rec, "index": i * num_samples + j, "problem": i, "sample": j}
                for j in range(num_samples)]
    return out
