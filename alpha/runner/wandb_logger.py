"""Weights & Biases logger: the resolved config, summary metrics, a per-prompt table, trace plots.

`wandb` is imported lazily, in a background thread that `start` launches (import + init take
seconds, which then overlap generation), so building this logger costs nothing and the library
(`alpha/`) never imports it. Mode "auto" runs online when `WANDB_API_KEY` is set and offline
otherwise (upload later with `wandb sync <run_dir>/wandb/offline-run-*`). The W&B run id is
kept in the run folder (`wandb_run_id`): a resumed run logs to the same W&B run (`resume="allow"`). Every method is
guarded: a W&B failure (unreachable server, bad key, full disk) is a warning and the run goes
on; the runner has already written its local files.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import sys
import threading
from pathlib import Path

from alpha.runner.loggers import (
    ALPHA_KEYS,
    PARAM_KEYS,
    Logger,
    check_traces_for,
    flatten_summary,
    guarded,
    prompt_rows,
    trace_rows,
)

MODES = ("auto", "online", "offline", "disabled")
_TIME_NAME = re.compile(r"^\d")  # a sweep-dir leaf named by date/time only


def resolve_mode(mode: str, env: dict | None = None) -> str:
    """"auto" -> $WANDB_MODE if set, else "online" with $WANDB_API_KEY, else "offline"."""
    env = os.environ if env is None else env
    if mode != "auto":
        return mode
    if env.get("WANDB_MODE") in ("online", "offline", "disabled"):
        return env["WANDB_MODE"]
    return "online" if env.get("WANDB_API_KEY") else "offline"


RUN_ID_FILE = "wandb_run_id"  # in the run folder: a resumed run continues the same W&B run


def run_id(run_dir: str) -> str:
    """This run folder's W&B run id: the one recorded in `RUN_ID_FILE`, else a new one (8
    lowercase letters and digits, as W&B makes them; then recorded), so re-running the same command in the same folder resumes that W&B run instead
    of opening a second one."""
    path = Path(run_dir) / RUN_ID_FILE
    try:
        rid = path.read_text().strip()
    except OSError:
        rid = ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", rid):
        rid = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        path.write_text(rid + "\n")
    return rid


def sweep_group(run_dir: str) -> str | None:
    """The group shared by a sweep's runs: the sweep dir's name (None outside a sweep).

    Hydra writes `multirun.yaml` into the sweep dir, whose job folders are the run dirs; a leaf
    named by time only (`2026-01-31_12-00-00`) is prefixed with its parent folder (the task
    name, e.g. `window_size`), so groups read `window_size_2026-01-31_12-00-00`.
    """
    sweep = Path(run_dir).resolve().parent
    if not (sweep / "multirun.yaml").exists():
        return None
    if _TIME_NAME.match(sweep.name):
        return f"{sweep.parent.name}_{sweep.name}"
    return sweep.name


class WandbLogger(Logger):
    """Log a run to W&B.

    Args:
        project, entity, name, job_type: passed to `wandb.init` (None = W&B's default).
        group: runs shown together; None -> the sweep dir's name in a multirun.
        tags: W&B tags; the config's top-level `tags` list is added to them.
        mode: "auto", "online", "offline" or "disabled" (see `resolve_mode`).
        log_traces_for: number of prompts whose per-step traces become line plots.
        log_table: log the per-prompt `wandb.Table`.
        log_artifact: log files passed to `log_file` as artifacts.
        init_timeout_s: how long the first logging call waits for the background start.
    """

    def __init__(
        self, *, project: str = "alpha-sampler", entity: str | None = None,
        group: str | None = None, tags: list[str] | tuple[str, ...] = (), mode: str = "auto",
        name: str | None = None, job_type: str | None = None, log_traces_for: int = 4,
        log_table: bool = True, log_artifact: bool = True, init_timeout_s: float = 120.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"logger.mode={mode!r} is unknown; choose one of {list(MODES)}")
        if not isinstance(project, str) or not project.strip():
            raise ValueError(f"logger.project={project!r} is invalid; give a W&B project name")
        self.project, self.entity, self.group = project, entity, group
        self.tags = [str(t) for t in (tags or ())]
        self.mode, self.name, self.job_type = mode, name, job_type
        self.log_traces_for = check_traces_for(log_traces_for)
        self.log_table, self.log_artifact = bool(log_table), bool(log_artifact)
        self.init_timeout_s = float(init_timeout_s)
        self.run = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @guarded
    def start(self, *, config: dict, run_dir: str) -> None:
        """Begin the W&B run in a background thread, so its start-up overlaps generation.

        The import of `wandb`, `wandb.init` (which spawns wandb-core) and the first table
        construction take seconds; the run needs W&B only when the records are logged.
        """
        self._error = None
        self._thread = threading.Thread(target=self._init, args=(config, run_dir),
                                        name="wandb-init", daemon=True)
        self._thread.start()

    def _init(self, config: dict, run_dir: str) -> None:
        try:
            import wandb  # lazy: only runs that use W&B pay for the import

            extra = config.get("tags") or []
            tags = list(dict.fromkeys(self.tags + [str(t) for t in extra]))
            self.run = wandb.init(
                id=run_id(run_dir), resume="allow",
                project=self.project, entity=self.entity, name=self.name,
                job_type=self.job_type, group=self.group or sweep_group(run_dir),
                tags=tags or None, config=config, dir=str(run_dir), mode=resolve_mode(self.mode),
                reinit="finish_previous",
                settings=wandb.Settings(console="off", x_disable_stats=True, save_code=False,
                                        disable_git=True, silent=True),
            )
            wandb.Table(columns=["warm-up"], data=[[0]])  # loads the table/media modules now
        except Exception as err:  # noqa: BLE001 - re-raised as a warning by _ready()
            self._error = err

    def _ready(self) -> bool:
        """Wait for the background start; False (after one warning) if it failed."""
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(self.init_timeout_s)
            self._thread = None
            if thread.is_alive():
                self._error = TimeoutError(f"wandb.init took over {self.init_timeout_s} s")
            if self._error is not None:
                err, self._error = self._error, None
                raise RuntimeError(f"W&B start failed ({type(err).__name__}: {err})") from err
        return self.run is not None

    @guarded
    def log_records(self, records: list[dict]) -> None:
        if not self._ready():
            return
        import wandb

        if self.log_table:
            columns, rows = prompt_rows(records)
            self.run.log({"prompts": wandb.Table(columns=columns, data=rows)}, commit=False)
        for rec in records[: self.log_traces_for]:
            self.run.log(self._trace_charts(wandb, rec), commit=False)
        self.run.log({}, commit=True)

    def _trace_charts(self, wandb, record: dict) -> dict:
        """Line plots vs token position: the alpha terms together, each parameter alone."""
        columns, rows = trace_rows(record)
        if not rows:
            return {}
        xs = [r[0] for r in rows]
        col = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        prefix = f"trace/prompt_{record.get('index')}"
        groups = {"alpha": [k for k in ALPHA_KEYS if k in col]}
        groups.update({k: [k] for k in PARAM_KEYS if k in col})
        charts = {}
        for title, keys in groups.items():
            if keys:
                charts[f"{prefix}/{title}"] = wandb.plot.line_series(
                    xs=xs, ys=[col[k] for k in keys], keys=keys,
                    title=f"prompt {record.get('index')}: {title}", xname="token position",
                )
        return charts

    @guarded
    def log_summary(self, metrics: dict) -> None:
        if self._ready():
            self.run.summary.update(flatten_summary(metrics))

    @guarded
    def log_file(self, path: str, kind: str) -> None:
        if not self._ready() or not self.log_artifact:
            return
        import wandb

        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}-{self.run.id}")
        artifact = wandb.Artifact(safe, type=kind)
        artifact.add_file(str(path))
        self.run.log_artifact(artifact)

    @guarded
    def finish(self, *, status: str = "complete") -> None:
        if self._ready():
            offline = self.run.settings.mode == "offline"
            folder = Path(self.run.dir).parent  # <run dir>/wandb/offline-run-*/ (files/ below)
            self.run.finish(exit_code=0 if status == "complete" else 1)
            self.run = None
            if offline:
                print(f"W&B offline run saved in {folder}; upload it with: wandb sync {folder}",
                      file=sys.stderr)
