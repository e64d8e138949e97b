"""One experiment run: prompts -> batched generation -> generations.jsonl -> evaluation -> metrics.json.

Knows the run-folder formats of `docs/design.md`, the engine (`alpha.generate`), the evaluator
(`alpha.evaluation.evaluate_records`) and the logger interface. Knows nothing about Hydra: the
runner glue (`run.py` + `alpha/runner/config.py`) hands it plain values, a built sampler and a loaded model.

Robustness, by design:
- each finished batch is appended to `generations.jsonl` and fsync'ed, so a crash loses at most
  the batch in flight; re-running in the same folder skips finished prompt indices (a torn last
  line from a SIGKILL is dropped). Generators are seeded from (seed, prompt index), so a resumed
  run writes the same rows as an uninterrupted one;
- `run_config.json` fingerprints what decides the generations (model, sampler, dataset, seed,
  max_new_tokens, dtype); a folder holding another config's results is refused unless `force`;
  beside it, `code`: the git commit (and whether the checkout was modified) of every start
  that wrote to the folder (`alpha/runner/code_version.py`);
- out-of-memory on a batch halves the batch and retries (logged), down to one prompt;
- Ctrl-C keeps the finished batches, writes `metrics.json` with status "partial" and re-raises;
- a resumed run with nothing left to generate whose `metrics.json` is complete and records the
  same evaluation (metric list, resolved options, oracle, seed) of the same rows (sha256 of the
  rows as written, per-prompt metrics included) is not evaluated again: its metrics are reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from alpha.runner.atomic import write_atomic
from alpha.runner.code_version import with_current

log = logging.getLogger(__name__)

GENERATIONS = "generations.jsonl"
METRICS = "metrics.json"
RUN_CONFIG = "run_config.json"
TIMING = "timing.jsonl"


def check_counts(**values: Any) -> None:
    """The one rule for seed (integer >= 0), batch_size and max_new_tokens (integers >= 1)."""
    from alpha import validation as V

    for name, v in values.items():
        V.whole(name, v, low=0 if name == "seed" else 1)


@dataclass
class ExperimentSpec:
    """What one run does, as plain values (the runner fills it from the Hydra config).

    Attributes:
        output_dir: the run folder (created if missing; must be writable).
        evaluation: `{"metrics": [...], "options": {...}, "headline": name}` and optionally
            `"oracle"` (its config name or mapping; recorded so a changed oracle re-evaluates).
        seed: generation seed; prompt i's generator comes from (seed, i).
        batch_size: prompts per batch (halved on out-of-memory).
        max_new_tokens: new tokens per prompt.
        chat_template: wrap prompts in the tokenizer's chat template.
        capture: attention row source for the sampler ("last", a layer index, or
            ("mean_last", N)); passed to `alpha.generate`.
        prefix_cache: prefill a batch's shared prompt prefix once (`alpha.generate`'s switch;
            same tokens up to float rounding, so not part of the fingerprint).
        record_signals: add each step's token and attention entropy/varentropy to the traces
            whatever the sampler (`alpha.generate`'s switch; in the fingerprint when on).
        cache_implementation: "dynamic" or "static" KV cache (`alpha.generate`'s; same greedy
            tokens, so not part of the fingerprint).
        compile_decode: torch.compile the decode step's model forward (static cache only).
        fixed_batch: keep finished rows in the batch (one shape every step; CUDA graphs).
        branching: a prompt's samples run as one model row until their tokens part
            (`alpha.generate`'s; same generations, so not part of the fingerprint).
        fingerprint: the config values that decide the generations; a folder whose
            `run_config.json` holds a different fingerprint is refused unless `force`.
        config: the full resolved config (stored in run_config.json, given to the logger).
        force: reuse a folder holding another config's results (old files renamed `*.old-N`).
        progress: show a progress bar.
        stop_strings: a row stops once its text contains one (the dataset's prompt format).
        provenance: where the model came from (written to metrics.json with the records'
            `origin`s as `dataset_origin`).
    """

    output_dir: str
    evaluation: dict
    seed: int = 0
    batch_size: int = 8
    max_new_tokens: int = 128
    chat_template: bool = False
    capture: Any = "last"
    prefix_cache: bool = True
    record_signals: bool = False
    cache_implementation: str = "dynamic"
    compile_decode: bool = False
    fixed_batch: bool = False
    branching: bool = False
    fingerprint: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    force: bool = False
    progress: bool = True
    stop_strings: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        check_counts(seed=self.seed, batch_size=self.batch_size, max_new_tokens=self.max_new_tokens)
        if not self.evaluation.get("headline"):
            raise ValueError("evaluation.headline is missing; name the metric run.py returns")
        if self.evaluation["headline"] not in list(self.evaluation.get("metrics") or []):
            raise ValueError(
                f"evaluation.headline={self.evaluation['headline']!r} is not among "
                f"evaluation.metrics={list(self.evaluation.get('metrics') or [])}; add it there"
            )


@dataclass
class ExperimentResult:
    """What a finished run returns (metrics.json holds the same)."""

    headline: str
    value: float
    metrics: dict
    n_prompts: int
    output_dir: str


# ------------------------------------------------------------------------------ run folder


def dir_problem(path: str | Path) -> str | None:
    """Why `path` cannot be a run folder (created here if missing), or None when it can."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        probe = Path(path) / f".write_test.{os.getpid()}"  # own name: data-parallel ranks probe at once
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        return err.strerror or str(err)
    return None


def prepare_output_dir(spec: ExperimentSpec) -> Path:
    """Create the folder, check it is writable, and check/record the config fingerprint."""
    out = Path(spec.output_dir)
    problem = dir_problem(out)
    if problem:
        raise ValueError(
            f"output_dir={str(out)!r} is not writable ({problem}); choose another "
            "folder with hydra.run.dir=... (or hydra.sweep.dir=... for -m)"
        )
    _check_fingerprint(out, spec)
    return out


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def config_diff(old: dict, new: dict) -> list[str]:
    """Dotted keys whose values differ between two nested dicts (sorted)."""
    a, b = _flat(old), _flat(new)
    return sorted(k for k in set(a) | set(b) if a.get(k, "<missing>") != b.get(k, "<missing>"))


def describe_diff(diff: list[str], shown: int = 5) -> str:
    """Differing keys for a message: config keys first (e.g. model.path), then the local file
    signatures (`files.*`, which follow from them) summarised as one count."""
    keys = [k for k in diff if not k.startswith("files.")]
    files = [k for k in diff if k.startswith("files.")]
    parts = keys[:shown] + (["..."] if len(keys) > shown else [])
    if files:
        more = f" and {len(files) - 2} more local files" if len(files) > 2 else ""
        parts.append(", ".join(files[:2]) + more)
    return ", ".join(parts)


def _has_rows(path: Path) -> bool:
    """generations.jsonl exists and holds at least one non-blank line."""
    if not path.exists():
        return False
    with open(path, "rb") as f:
        return any(line.strip() for line in f)


def _set_aside(out: Path, names: tuple[str, ...] = (GENERATIONS, METRICS, RUN_CONFIG, TIMING)
               ) -> None:
    """Rename this folder's results to `*.old-N` (force=true keeps them, out of the way)."""
    n = 1
    while any((out / f"{name}.old-{n}").exists() for name in (GENERATIONS, METRICS, RUN_CONFIG)):
        n += 1
    for name in names:
        if (out / name).exists():
            os.replace(out / name, out / f"{name}.old-{n}")
    log.warning("force=true: earlier results in %s renamed to *.old-%d", out, n)


def _check_fingerprint(out: Path, spec: ExperimentSpec) -> None:
    path = out / RUN_CONFIG
    fingerprint = json.loads(json.dumps(spec.fingerprint, default=str))  # normalised like the file
    record = {"fingerprint": fingerprint, "config": spec.config}
    if path.exists():
        saved = json.loads(path.read_text())
        diff = config_diff(saved.get("fingerprint", {}), fingerprint)
        if not diff:  # the same run resumed: its code is recorded if it writes (`_record_code`)
            return
        if not _has_rows(out / GENERATIONS):  # a failed start: nothing to keep, reuse the folder
            log.info("%s holds no generations; recording this run's config over the old one", out)
        elif not spec.force:
            raise ValueError(
                f"output_dir={str(out)!r} holds results of a different config (differs in: "
                f"{describe_diff(diff)}); use another folder (hydra.run.dir=...) or add "
                "force=true to set them aside as *.old-N"
            )
        else:
            _set_aside(out)
    elif _has_rows(out / GENERATIONS):
        if not spec.force:
            raise ValueError(
                f"output_dir={str(out)!r} holds a generations.jsonl without run_config.json, so "
                "its config is unknown; use another folder or add force=true to set it aside"
            )
        _set_aside(out)
    record["code"] = with_current(None)
    write_atomic(path, json.dumps(record, indent=2, default=str) + "\n")


def _record_code(out: Path) -> None:
    """Add this process's code to the run's `run_config.json` (`code`, oldest first) when it is
    not the last entry: called by a resumed run just before it writes generations or metrics, so
    a finished run that is only reused (a re-run sweep, a restored study) records no new code."""
    path = out / RUN_CONFIG
    saved = json.loads(path.read_text())
    code = with_current(saved.get("code"))
    if code != saved.get("code"):
        write_atomic(path, json.dumps({**saved, "code": code}, indent=2, default=str) + "\n")


def _parse_row(path: Path, lineno: int, line: bytes) -> dict:
    """One generations.jsonl row, or a one-line ValueError naming file:line and the fix."""
    try:
        row = json.loads(line.decode("utf-8"))
        int(row["index"])
        return row
    except UnicodeDecodeError:
        why = "binary data, not UTF-8 text"
    except json.JSONDecodeError as err:
        why = f"not JSON: {err.msg} at column {err.colno}"
    except (KeyError, TypeError, ValueError):
        why = "a row without an integer 'index'"
    raise ValueError(f"{path}:{lineno}: {why}; move the file aside (its finished rows are then "
                     "generated again) or add force=true, which sets it aside as *.old-N") from None


def read_finished(path: Path) -> dict[int, dict]:
    """Rows already in `generations.jsonl`, by prompt index; a torn last line is cut off.

    A run killed mid-write leaves a last line without its newline (or unparsable); that line
    is truncated from the file so appending continues cleanly.
    """
    if not path.exists():
        return {}
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1  # everything after the last newline is torn
    rows: dict[int, dict] = {}
    for n, line in enumerate(data[:keep].splitlines(), start=1):
        if line.strip():
            row = _parse_row(path, n, line)
            rows[int(row["index"])] = row
    if keep != len(data):
        log.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run",
                    path, len(data) - keep)
        with open(path, "r+b") as f:
            f.truncate(keep)
    return rows


def pending_batches(records: list[dict], done: dict[int, dict], batch_size: int
                    ) -> tuple[list[dict], list[int]]:
    """The records still to generate, as whole batches, and the finished rows to generate again.

    Batches are `records` in chunks of `batch_size`, as an uninterrupted run forms them. A batch
    with only some rows finished (a kill mid-write, or an earlier run with fewer prompts) is run
    again whole: a row's floats depend on the padded batch it ran in, so generating only its
    missing rows would give other traces than an uninterrupted run.

    Returns:
        (todo, redo): the records of every batch not wholly in `done` (a concatenation of whole
        batches), and the indices in `done` that belong to those batches.
    """
    todo, redo = [], []
    for i in range(0, len(records), batch_size):
        chunk = records[i:i + batch_size]
        have = [r["index"] for r in chunk if r["index"] in done]
        if len(have) < len(chunk):
            todo += chunk
            redo += have
    return todo, redo


def drop_rows(path: Path, indices: list[int]) -> None:
    """Rewrite the JSON Lines file `path` without the rows of `indices` (the rest byte for byte)."""
    drop = set(indices)
    lines = path.read_bytes().splitlines(keepends=True)
    keep = [ln for ln in lines if not ln.strip() or int(json.loads(ln)["index"]) not in drop]
    log.warning("%s: generating the %d finished rows of a batch cut short again, so the batch runs "
                "as an uninterrupted run would", path, len(lines) - len(keep))
    write_atomic(path, b"".join(keep))


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append rows as JSON Lines and fsync, so a finished batch survives a crash."""
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


# ------------------------------------------------------------------------------ generation


def _trace_row(trace: dict) -> dict:
    """One prompt's per-step trace as {name: [float, ...]} (GenerationResult.traces[i])."""
    return {k: [float(x) for x in v] for k, v in trace.items()}


def make_rows(records: list[dict], result: Any) -> list[dict]:
    """One `generations.jsonl` row per record from a `GenerationResult`."""
    rows = []
    for i, rec in enumerate(records):
        ids = [int(t) for t in result.token_ids[i]]
        rows.append({
            "index": rec["index"],
            "prompt": rec["prompt"],
            "reference": rec.get("reference"),
            "answer": rec.get("answer"),
            "text": result.texts[i],
            "token_ids": ids,
            **({} if result.token_logprobs is None else
               {"token_logprobs": [float(x) for x in result.token_logprobs[i]]}),
            "num_tokens": len(ids),
            "finish_reason": result.finish_reasons[i],
            "trace": _trace_row(result.traces[i]),
            "metrics": {},
            **{k: rec[k] for k in ("problem", "sample") if k in rec},  # num_samples > 1
        })
    return rows


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def generate_with_backoff(generate_fn: Callable, records: list[dict], batch_size: int,
                          on_rows: Callable[[list[dict]], None]) -> int:
    """Generate `records` in batches; on out-of-memory halve the batch and retry.

    Returns the batch size in use at the end (later batches keep the reduced size).
    Raises the out-of-memory error when a single prompt does not fit.
    """
    pos = 0
    while pos < len(records):
        batch = records[pos:pos + batch_size]
        try:
            rows = generate_fn(batch)
        except (torch.OutOfMemoryError, RuntimeError) as err:
            if not _is_oom(err) or batch_size == 1:
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            batch_size = max(1, batch_size // 2)
            log.warning("out of memory on a batch of %d prompts; retrying with batch_size=%d",
                        len(batch), batch_size)
            continue
        on_rows(rows)
        pos += len(batch)
    return batch_size


# ------------------------------------------------------------------------------ the run


def _normalise(records: list[dict]) -> list[dict]:
    out = []
    for i, rec in enumerate(records):
        if "prompt" not in rec or not isinstance(rec["prompt"], str):
            raise ValueError(f"prompt record {i} has no string 'prompt' field; check "
                             "dataset.prompt_field")
        out.append({**rec, "index": int(rec.get("index", i))})
    if not out:
        raise ValueError("no prompts to run (the dataset is empty after split/limit); check "
                         "dataset.split, dataset.limit and num_prompts")
    if len({r["index"] for r in out}) != len(out):
        raise ValueError("prompt indices are not unique; each record needs its own 'index'")
    return out


def _engine(model, tokenizer, sampler, spec: ExperimentSpec, timing_path: Path) -> Callable:
    from alpha.generation import generate

    def run(batch: list[dict]) -> list[dict]:
        t0 = time.perf_counter()
        result = generate(
            model, tokenizer, [r["prompt"] for r in batch], sampler=sampler,
            max_new_tokens=spec.max_new_tokens, seed=spec.seed,
            prompt_indices=[r["index"] for r in batch], chat_template=spec.chat_template,
            capture=spec.capture, stop_strings=list(spec.stop_strings) or None,
            prefix_cache=spec.prefix_cache, record_signals=spec.record_signals,
            cache_implementation=spec.cache_implementation, compile_decode=spec.compile_decode,
            fixed_batch=spec.fixed_batch, branching=spec.branching,
        )
        rows = make_rows(batch, result)
        append_rows(timing_path, [{"n": len(batch), "wall_time_s": time.perf_counter() - t0}])
        return rows

    return run


def _progress(total: int, done: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, unit="prompt", desc="generating",
                disable=not enabled, dynamic_ncols=True)


def _wall_time(path: Path) -> float:
    if not path.exists():
        return 0.0
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return float(sum(x["wall_time_s"] for x in lines))


def _evaluate(rows: list[dict], spec: ExperimentSpec, model, tokenizer, oracle, wall: float):
    from alpha.evaluation import evaluate_records

    ev = spec.evaluation
    oracle_model, oracle_tok = oracle if oracle is not None else (None, None)
    return evaluate_records(
        rows, metrics=list(ev["metrics"]), model=model, tokenizer=tokenizer, oracle=oracle_model,
        oracle_tokenizer=oracle_tok, options=dict(ev.get("options") or {}), seed=spec.seed,
        wall_time_s=wall, progress=spec.progress,
    )


def _headline(aggregates: dict, name: str) -> float:
    entry = aggregates.get(name) or {}
    value = entry.get("mean")
    if value is None or not math.isfinite(float(value)):
        log.warning("headline metric %s is undefined for this run (%s)", name, entry.get("note"))
        return float("nan")
    return float(value)


def run_experiment(
    spec: ExperimentSpec,
    *,
    model,
    tokenizer,
    sampler,
    records: list[dict],
    logger=None,
    oracle: tuple | None = None,
    generate_fn: Callable[[list[dict]], list[dict]] | None = None,
) -> ExperimentResult:
    """Run (or resume) one experiment in `spec.output_dir` and return its headline metric.

    Args:
        spec: run settings.
        model, tokenizer: the generating model (eval mode, on its device).
        sampler: a `TokenSampler` (e.g. `alpha.build_sampler("alpha")`).
        records: prompts as dicts with "prompt" and optional "index", "reference", "answer".
        logger: an `alpha.runner.loggers.Logger` (None: log nothing beyond the run folder).
        oracle: optional `(model, tokenizer)` for oracle-based metrics.
        generate_fn: replaces the engine call (batch of records -> rows); for tests.

    Returns:
        ExperimentResult with the headline metric's mean (NaN when undefined).

    Raises:
        ValueError: unwritable folder, folder of another config, no prompts, bad spec.
        KeyboardInterrupt: after saving what finished (metrics.json status "partial").
    """
    from alpha.runner.lock import run_folder_lock

    records = _normalise(records)
    origins = sorted({str(r["origin"]) for r in records if r.get("origin")})
    if origins:  # hub or package copy: metrics.json says which
        spec.provenance = {**spec.provenance, "dataset_origin": ", ".join(origins)}
    with run_folder_lock(spec.output_dir):  # one run per folder (a second one fails in one line)
        return _run(spec, model, tokenizer, sampler, records, logger, oracle, generate_fn)


def _run(spec, model, tokenizer, sampler, records, logger, oracle, generate_fn) -> ExperimentResult:
    from alpha.runner.loggers import NullLogger

    out = prepare_output_dir(spec)
    logger = logger or NullLogger()
    gen_path, timing_path = out / GENERATIONS, out / TIMING
    try:
        done = read_finished(gen_path)
    except ValueError:
        if not spec.force:
            raise
        _set_aside(out, (GENERATIONS, METRICS, TIMING))  # unreadable rows: start them afresh
        done = {}
    todo, redo = pending_batches(records, done, spec.batch_size)
    if redo:
        drop_rows(gen_path, redo)
        for i in redo:
            del done[i]
    _check_finished_rows(spec, [done[r["index"]] for r in records if r["index"] in done], gen_path)
    if done:
        log.info("resuming in %s: %d of %d prompts already generated", out, len(records) - len(todo),
                 len(records))
    if todo:  # this start generates (redo's rows are in todo's batches): record its code
        _record_code(out)
    logger.start(config=spec.config, run_dir=str(out))
    run_batch = generate_fn or _engine(model, tokenizer, sampler, spec, timing_path)
    bar = _progress(len(records), len(records) - len(todo), spec.progress)

    def save(rows: list[dict]) -> None:
        append_rows(gen_path, rows)
        done.update({r["index"]: r for r in rows})
        bar.update(len(rows))

    try:
        generate_with_backoff(run_batch, todo, spec.batch_size, save)
    except BaseException as err:
        bar.close()
        try:  # what the file holds (a signal may land between the append and `done`)
            done.update(read_finished(gen_path))
        except (OSError, ValueError):
            pass
        n = sum(1 for r in records if r["index"] in done)
        status = "partial" if isinstance(err, KeyboardInterrupt) else "failed"
        try:
            write_atomic(out / METRICS, json.dumps({"status": status, "n_prompts": n,
                                                     "n_total": len(records), "headline": None,
                                                     "metrics": {}}, indent=2) + "\n")
        except OSError as write_err:  # e.g. the disk that stopped the run is still full
            log.warning("could not write %s (%s)", out / METRICS, write_err.strerror or write_err)
        logger.finish(status=status)
        raise
    bar.close()
    return _finish(spec, out, done, [r["index"] for r in records], model, tokenizer, oracle,
                   logger, _wall_time(timing_path))


def _check_finished_rows(spec: ExperimentSpec, rows: list[dict], path: Path) -> None:
    """A resumed run's finished rows can be evaluated as configured (e.g. they carry
    token_logprobs for perplexity_source=generation): fail before generating the rest."""
    if not rows:
        return
    from alpha.evaluation import check_records

    try:
        check_records(rows, list(spec.evaluation["metrics"]), spec.evaluation.get("options"))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def evaluation_record(spec: ExperimentSpec, rows: list[dict], oracle) -> dict:
    """What decides this run's metrics, as metrics.json stores it: metric list, resolved
    options (defaults filled in), oracle, seed, and a sha256 of the evaluated rows as written
    (per-prompt metrics included, so rows rewritten by an unfinished evaluation differ)."""
    from dataclasses import asdict

    from alpha.evaluation import EvalOptions

    ev = spec.evaluation
    text = "\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False, default=float) for r in rows)
    oracle_model = oracle[0] if oracle is not None else None
    return {"metrics": list(dict.fromkeys(ev["metrics"])),
            "options": asdict(EvalOptions.from_dict(ev.get("options"))),
            "oracle": ev.get("oracle"), "oracle_model": getattr(oracle_model, "name_or_path", None),
            "seed": spec.seed, "rows_sha256": hashlib.sha256(text.encode()).hexdigest()}


def _reusable(path: Path, record: dict) -> dict | None:
    """metrics.json's metrics when it is complete and records this very evaluation, else None
    (missing, partial, written before evaluations were recorded, or anything differs)."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if old.get("status") != "complete" or old.get("evaluation") != record:
        return None
    return old.get("metrics")


def _finish(spec, out: Path, done: dict[int, dict], indices: list[int], model, tokenizer, oracle,
            logger, wall: float):
    """Evaluate this run's prompts; rewrite generations.jsonl in index order with per-prompt
    metrics (rows of other prompts already in the folder, e.g. from a larger num_prompts, are
    kept as they are); write metrics.json; hand everything to the logger. When metrics.json
    already holds this evaluation of these rows (`_reusable`), its metrics are kept as they are."""
    rows = [done[i] for i in indices]
    record = evaluation_record(spec, rows, oracle)
    aggregates = _reusable(out / METRICS, record)
    if aggregates is not None:
        log.info("%s: metrics.json already holds this evaluation of these %d rows; reusing it "
                 "(delete metrics.json to evaluate again)", out, len(rows))
    else:
        _record_code(out)
        report = _evaluate(rows, spec, model, tokenizer, oracle, wall)
        for row, per in zip(rows, report.per_prompt, strict=True):
            row["metrics"] = per
        text = "".join(json.dumps(done[i], ensure_ascii=False) + "\n" for i in sorted(done))
        write_atomic(out / GENERATIONS, text)
        aggregates = report.aggregates
        record = evaluation_record(spec, rows, oracle)  # the rows now carry their new metrics
    name = spec.evaluation["headline"]
    value = _headline(aggregates, name)
    summary = {"status": "complete", "n_prompts": len(rows),
               "headline": {"name": name, "value": None if math.isnan(value) else value},
               "metrics": aggregates, **spec.provenance,
               "evaluation": record}
    write_atomic(out / METRICS, json.dumps(summary, indent=2, default=float) + "\n")
    logger.log_records(rows)
    logger.log_summary(aggregates)
    logger.log_file(str(out / GENERATIONS), "generations")
    logger.log_file(str(out / METRICS), "metrics")
    logger.finish(status="complete")
    return ExperimentResult(name, value, aggregates, len(rows), str(out))
