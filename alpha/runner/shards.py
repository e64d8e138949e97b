"""Data-parallel runs: `accelerate launch --multi_gpu --num_processes N run.py ...` (or torchrun).

Each process (rank) generates its shard of the prompts by dataset row: the one-process run's
batches (rows in chunks of batch_size), chunk j on rank j % N. Generators are seeded from
(seed, prompt index) (`alpha.generation.row_seed`), so a row's text does not depend on which
rank made it or on N, and since each rank runs the same batches as one process, the forward
passes (and so the traces, to the bit) are the same too. Layout inside the run folder:

    <run>/run_config.json                  fingerprint, written once by rank 0
    <run>/shards/rank-K/shard.json         the fingerprint this shard was generated under
    <run>/shards/rank-K/generations.jsonl  rank K's rows, appended + fsync'ed per batch
    <run>/shards/rank-K/timing.jsonl       rank K's batch wall times
    <run>/generations.jsonl, metrics.json  written by rank 0 after the merge

Resume is the one-process rule per shard: re-running the same command (same hydra.run.dir)
skips every prompt index already in the rank's shard file or in `<run>/generations.jsonl` (a
one-process run or an earlier merge), so only the missing rows are generated, with any N.
After a barrier rank 0 merges (`merge_rows`: pure, order-stable by prompt index, refuses a
shard of another config, duplicate and missing indices), evaluates once, writes metrics.json
and logs once; the other ranks get its result.

Coordination is torch.distributed over gloo (CPU tensors, also on GPU machines): only barriers
and small broadcasts, no gradients. RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT
come from the launcher (accelerate launch and torchrun both set them).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from alpha.runner import experiment as ex
from alpha.runner.atomic import write_atomic

log = logging.getLogger(__name__)

SHARDS = "shards"
SHARD_META = "shard.json"
BARRIER_TIMEOUT = timedelta(hours=6)  # a rank may wait this long for the slowest one
SAME = ("text", "token_ids")  # fields two copies of a row must agree on


def world() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment; (0, 1) for a plain `python run.py`."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_sharded() -> bool:
    return world()[1] > 1


def is_main() -> bool:
    return world()[0] == 0


def shard_records(records: list[dict], rank: int, world_size: int, batch_size: int) -> list[dict]:
    """Rank `rank`'s prompts: the one-process run's batches (dataset rows in chunks of
    batch_size) dealt round-robin, chunk j to rank j % N. Each rank then runs exactly the
    batches one process would, so even the float-level traces match; a rank gets no rows when
    there are fewer chunks than ranks."""
    chunks = [records[i:i + batch_size] for i in range(0, len(records), batch_size)]
    return [r for chunk in chunks[rank::world_size] for r in chunk]


def shard_dir(out: Path, rank: int) -> Path:
    return Path(out) / SHARDS / f"rank-{rank}"


# ------------------------------------------------------------------------------ the merge (pure)


def read_rows(path: Path) -> list[dict]:
    """Rows of a JSON Lines file in file order, without a torn last line; never writes."""
    if not Path(path).exists():
        return []
    data = Path(path).read_bytes()
    data = data[:data.rfind(b"\n") + 1]
    return [ex._parse_row(Path(path), n, line)
            for n, line in enumerate(data.splitlines(), start=1) if line.strip()]


def merge_rows(fingerprint: dict, indices: list[int], finished: dict[int, dict],
               shards: list[tuple[str, dict, list[dict]]]) -> dict[int, dict]:
    """All rows of a run, by prompt index: `finished` (the run's generations.jsonl) plus each
    shard's rows. Order-stable: the result is keyed by index, callers write it sorted.

    Args:
        fingerprint: the run's fingerprint (run_config.json).
        indices: the prompt indices this run must have.
        finished: rows already in `<run>/generations.jsonl`, by index.
        shards: (name, the shard's fingerprint, its rows in file order) per shard folder.

    Raises:
        ValueError (one line): a shard of another config, an index in two shards (or twice in
        one), a shard row that differs from the finished row of the same index, missing indices.
    """
    want = json.loads(json.dumps(fingerprint, default=str))
    merged = dict(finished)
    seen: dict[int, str] = {}
    for name, shard_fp, rows in shards:
        diff = ex.config_diff(shard_fp, want)
        if diff:
            shown = ", ".join(diff[:5]) + (", ..." if len(diff) > 5 else "")
            raise ValueError(f"{name} was generated under another config (differs in: {shown}); "
                             "move it out of the run folder or use another hydra.run.dir")
        for row in rows:
            i = int(row["index"])
            if i in seen:
                raise ValueError(f"prompt index {i} is in {seen[i]} and in {name}; shards must not "
                                 "overlap: remove the stray shard folder and re-run")
            seen[i] = name
            old = merged.get(i)
            if old is not None and any(old.get(k) != row.get(k) for k in SAME):
                raise ValueError(f"prompt index {i} in {name} differs from the row in "
                                 f"{ex.GENERATIONS}; the shard is not from this run: remove it")
            if old is None:
                merged[i] = row
    missing = [i for i in indices if i not in merged]
    if missing:
        shown = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
        raise ValueError(f"{len(missing)} of {len(indices)} prompts have no row after the merge "
                         f"(indices {shown}); a rank stopped early: re-run the same command "
                         "(same hydra.run.dir) to generate only those")
    return merged


def read_shards(out: Path) -> list[tuple[str, dict, list[dict]]]:
    """(name, fingerprint, rows) of every `<run>/shards/rank-*` folder, in rank order."""
    root = Path(out) / SHARDS
    folders = sorted(root.glob("rank-*"), key=lambda p: (len(p.name), p.name)) if root.exists() else []
    found = []
    for d in folders:
        if not d.is_dir() or ".old-" in d.name:
            continue
        meta = d / SHARD_META
        fp = json.loads(meta.read_text()).get("fingerprint", {}) if meta.exists() else {}
        found.append((f"{SHARDS}/{d.name}", fp, read_rows(d / ex.GENERATIONS)))
    return found


# ------------------------------------------------------------------------------ the processes


def _dist():
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo", timeout=BARRIER_TIMEOUT)
        rank, _ = world()
        local = int(os.environ.get("LOCAL_RANK", rank))
        import torch

        if torch.cuda.is_available():  # device=auto/cuda -> this rank's own GPU
            torch.cuda.set_device(local % torch.cuda.device_count())
    return dist


def _on_main(fn) -> Any:
    """Run `fn` on rank 0 and hand its value (or its ValueError) to every rank."""
    dist = _dist()
    box: list[Any] = [None]
    if is_main():
        try:
            box[0] = ("ok", fn())
        except ValueError as err:
            box[0] = ("error", str(err))
            dist.broadcast_object_list(box, src=0)
            raise
    dist.broadcast_object_list(box, src=0)
    status, value = box[0]
    if status == "error":
        raise SystemExit(2)  # rank 0 printed the one-line reason
    return value


def prepare(spec: ex.ExperimentSpec) -> ex.ExperimentSpec:
    """`prepare_output_dir` for one process; for N ranks, all use rank 0's run folder (Hydra's
    time-named folders can differ by a second between processes), prepared once by rank 0."""
    if not is_sharded():
        ex.prepare_output_dir(spec)
        return spec
    out = _on_main(lambda: str(ex.prepare_output_dir(spec)))
    if out != spec.output_dir:
        log.info("rank %d uses rank 0's run folder %s", world()[0], out)
    return replace(spec, output_dir=out)


def _own_shard(out: Path, spec: ex.ExperimentSpec, rank: int) -> Path:
    """This rank's shard folder, with its fingerprint recorded (another config's: refused, or
    set aside as rank-K.old-N with force=true)."""
    d = shard_dir(out, rank)
    fingerprint = json.loads(json.dumps(spec.fingerprint, default=str))
    meta = d / SHARD_META
    if meta.exists():
        diff = ex.config_diff(json.loads(meta.read_text()).get("fingerprint", {}), fingerprint)
        if not diff:
            return d
        if not spec.force:
            raise ValueError(f"{SHARDS}/{d.name} in {out} was generated under another config "
                             f"(differs in: {', '.join(diff[:5])}); use another hydra.run.dir or "
                             "force=true to set it aside")
        n = 1
        while d.with_name(f"{d.name}.old-{n}").exists():
            n += 1
        os.replace(d, d.with_name(f"{d.name}.old-{n}"))
    d.mkdir(parents=True, exist_ok=True)
    write_atomic(meta, json.dumps({"fingerprint": fingerprint, "rank": rank}, indent=2) + "\n")
    return d


def run_sharded(spec: ex.ExperimentSpec, *, model, tokenizer, sampler, records: list[dict],
                logger=None, oracle: tuple | None = None, generate_fn=None) -> ex.ExperimentResult:
    """This rank's share of `run_experiment`: generate the shard, wait for all, rank 0 merges,
    evaluates, logs; every rank returns rank 0's `ExperimentResult`. `spec` comes from
    `prepare` (rank 0's folder, already fingerprinted)."""
    from alpha.runner.loggers import NullLogger

    dist = _dist()
    rank, n = world()
    records = ex._normalise(records)
    out = Path(spec.output_dir)
    finished = {int(r["index"]): r for r in read_rows(out / ex.GENERATIONS)}  # rank 0 rewrites it only after the barrier
    d = _own_shard(out, spec, rank)
    done = ex.read_finished(d / ex.GENERATIONS)  # this rank's file: a torn last line is cut
    mine = shard_records(records, rank, n, spec.batch_size)
    todo, redo = ex.pending_batches(mine, {**finished, **done}, spec.batch_size)
    redo = [i for i in redo if i in done]  # a partial batch of this rank's own file runs again whole
    if redo:
        ex.drop_rows(d / ex.GENERATIONS, redo)
    todo = [r for r in todo if r["index"] not in finished]
    log.info("rank %d of %d: %d prompts to generate (%d already done)", rank, n, len(todo),
             len(mine) - len(todo))
    run_batch = generate_fn or ex._engine(model, tokenizer, sampler, spec, d / ex.TIMING)
    bar = ex._progress(len(todo), 0, spec.progress and rank == 0)
    gen_path = d / ex.GENERATIONS

    def save(rows: list[dict]) -> None:
        ex.append_rows(gen_path, rows)
        bar.update(len(rows))

    ex.generate_with_backoff(run_batch, todo, spec.batch_size, save)
    bar.close()
    dist.barrier()

    def merge_and_finish():
        shards = read_shards(out)
        merged = merge_rows(spec.fingerprint, [r["index"] for r in records], finished, shards)
        wall = max([ex._wall_time(shard_dir(out, k) / ex.TIMING) for k in range(n)] or [0.0])
        lg = logger or NullLogger()
        lg.start(config=spec.config, run_dir=str(out))
        return ex._finish(spec, out, merged, [r["index"] for r in records], model, tokenizer,
                          oracle, lg, wall)

    return _on_main(merge_and_finish)
