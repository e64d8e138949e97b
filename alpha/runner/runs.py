"""Run folders (or W&B runs) -> `Run` records, and their grouping into configurations.

A run folder is a Hydra run folder: `.hydra/config.yaml`, `.hydra/overrides.yaml`,
`metrics.json` (and `generations.jsonl` for per-prompt statistics). A configuration is the
set of a run's command-line overrides minus `seed` (or the values of `--by` dotted keys);
`label_configs` names each by the overrides that differ between configurations. Used by
make_tables (alpha/runner/tables.py), its statistics (stat_tables.py), plots and the tuner.
"""

from __future__ import annotations

import json
import lzma
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

SEED_KEYS = ("seed",)
_PATHLIKE = re.compile(r"(dir|path|output|hydra)", re.I)  # config keys never used as row labels


@dataclass
class Run:
    """One run: where it came from, what it changed, and its metrics (None if unusable)."""

    source: str
    overrides: dict[str, str]  # override key -> value, seed included
    config: dict
    metrics: dict | None = None
    problem: str | None = None
    higher: dict[str, bool | None] = field(default_factory=dict)


# ---------------------------------------------------------------------------- reading runs


def flatten(cfg, prefix=""):
    """Nested dict -> {"a.b": value}."""
    out = {}
    for key, value in (cfg or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _parse_overrides(lines: list[str]) -> dict[str, str]:
    """["sampler.x=1", "seed=0", "+a=b"] -> {"sampler.x": "1", "seed": "0", "a": "b"}."""
    out = {}
    for line in lines or []:
        key, _, value = str(line).partition("=")
        out[key.lstrip("+~")] = value
    return out


def _metric_means(metrics_json: dict) -> tuple[dict[str, float], dict[str, bool | None]]:
    """metrics.json -> ({name: mean}, {name: higher_is_better}); null means are left out."""
    means, higher = {}, {}
    for name, entry in (metrics_json.get("metrics") or {}).items():
        entry = entry if isinstance(entry, dict) else {"mean": entry}
        value = entry.get("mean")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            means[name] = float(value)
            higher[name] = entry.get("higher_is_better")
    return means, higher


def read_run(run_dir: Path) -> Run:
    """Read one Hydra run folder; a problem (no/invalid/partial metrics.json) is recorded."""
    hydra = run_dir / ".hydra"
    config = yaml.safe_load((hydra / "config.yaml").read_text()) or {}
    ov_file = hydra / "overrides.yaml"
    overrides = _parse_overrides(yaml.safe_load(ov_file.read_text()) if ov_file.exists() else [])
    run = Run(str(run_dir), overrides, config)
    path = run_dir / "metrics.json"
    if not path.exists():
        run.problem = "no metrics.json (the run failed or is still running)"
        return run
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        run.problem = f"metrics.json is not valid JSON ({err})"
        return run
    if data.get("status") != "complete":
        run.problem = f"status={data.get('status')!r} (partial run), not 'complete'"
        return run
    run.metrics, run.higher = _metric_means(data)
    return run


def find_runs(paths: list[str]) -> list[Run]:
    """Every Hydra run folder (one holding `.hydra/config.yaml`) under the given paths."""
    runs = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise ValueError(f"path {raw!r} does not exist; pass a multirun or run folder")
        dirs = sorted({p.parent.parent for p in root.rglob(".hydra/config.yaml")})
        runs += [read_run(d) for d in dirs]
    if not runs:
        raise ValueError(
            f"no runs under {', '.join(paths)}: expected Hydra run folders holding "
            ".hydra/config.yaml and metrics.json (e.g. multirun/<task>/<time>/ from "
            "`python run.py -m experiment=NAME`)"
        )
    return runs


def read_wandb(project: str, group: str | None = None) -> list[Run]:
    """Runs of a W&B project (entity/project) through the public API; needs to be online."""
    if not os.environ.get("WANDB_API_KEY") and not (Path.home() / ".netrc").exists():
        raise ValueError(
            f"reading W&B project {project!r} needs an API key (set WANDB_API_KEY or run "
            "`wandb login`); offline runs: pass their run folders instead"
        )
    import wandb

    try:
        found = list(wandb.Api().runs(project, filters={"group": group} if group else None))
    except Exception as err:  # noqa: BLE001 - wandb raises several types for a bad path
        raise ValueError(
            f"W&B project {project!r} could not be read ({type(err).__name__}: {err}); "
            "check the entity/project spelling and your access"
        ) from err
    if not found:
        raise ValueError(f"W&B project {project!r} has no runs" + (f" in group {group!r}"
                                                                   if group else ""))
    return [_wandb_run(r) for r in found]


def _wandb_run(remote) -> Run:
    summary = dict(remote.summary._json_dict)
    metrics = {k[: -len("/mean")]: {"mean": v,
                                    "higher_is_better": _hib(summary.get(k[:-5] + "/higher_is_better"))}
               for k, v in summary.items() if k.endswith("/mean")}
    means, higher = _metric_means({"metrics": metrics})
    run = Run(f"wandb:{remote.path}", {}, dict(remote.config), means, None, higher)
    if remote.state != "finished":
        run.metrics, run.problem = None, f"state={remote.state!r}, not 'finished'"
    return run


def _hib(value):
    return None if value is None else bool(value)



def read_rows(folder: Path) -> list[dict]:
    """The rows of a run folder's generations.jsonl, or of generations.jsonl.xz (a run collected
    into the repository, scripts/collect_runs.py). FileNotFoundError when it has neither;
    ValueError (one line, naming the file) when the .xz is truncated or corrupt."""
    path = Path(folder) / "generations.jsonl"
    packed = path.with_name(path.name + ".xz")
    if not path.exists() and not packed.exists():
        raise FileNotFoundError(f"{path} (or .xz) is missing")
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        try:
            text = lzma.decompress(packed.read_bytes()).decode("utf-8")
        except (lzma.LZMAError, EOFError) as err:
            raise ValueError(f"{packed} is truncated or corrupt ({err}); collect the run again "
                             "from its run folder: python scripts/collect_runs.py SRC DEST"
                             ) from None
    # "\n" only: str.splitlines also breaks at U+2028/U+0085, which JSON keeps raw in strings
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def read_generations(run: Run) -> list[dict]:
    """The per-prompt rows of one run folder (checked against metrics.json's n_prompts)."""
    if run.source.startswith("wandb:"):
        raise ValueError("--reference needs run folders with generations.jsonl; W&B runs "
                         "carry no per-prompt rows here")
    path = Path(run.source) / "generations.jsonl"
    try:
        rows = read_rows(Path(run.source))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: --reference pairs prompts from each run's "
                         f"generations.jsonl") from None
    n = json.loads((Path(run.source) / "metrics.json").read_text()).get("n_prompts")
    if n is not None and n != len(rows):
        raise ValueError(f"{path} holds {len(rows)} rows but metrics.json n_prompts={n} (rows "
                         f"of another num_prompts share the folder); re-run into a fresh folder")
    return rows



# ---------------------------------------------------------------------------- grouping


def config_key(run: Run, by: list[str] | None) -> tuple[tuple[str, str], ...]:
    """The configuration a run belongs to: overrides (or `by` keys / config) minus the seed."""
    if by:
        flat = flatten(run.config)
        return tuple((k, str(flat.get(k))) for k in by)
    if run.overrides or not run.source.startswith("wandb:"):
        return tuple(sorted((k, v) for k, v in run.overrides.items() if k not in SEED_KEYS))
    flat = flatten(run.config)
    return tuple(sorted((k, str(v)) for k, v in flat.items()
                        if k not in SEED_KEYS and not _PATHLIKE.search(k)))


def natural(text: str):
    """Sort key that orders numbers numerically: "w=10" after "w=2"."""
    parts = re.split(r"(-?\d+(?:\.\d+)?)", text)
    return [(0, float(p), "") if re.fullmatch(r"-?\d+(?:\.\d+)?", p) else (1, 0.0, p)
            for p in parts if p]


def label_configs(keys: list[tuple]) -> dict[tuple, str]:
    """Row label per configuration: only the key=value pairs that differ between them."""
    all_keys = {k for key in keys for k, _ in key}
    varying = {k for k in all_keys if len({dict(key).get(k) for key in keys}) > 1}
    labels = {}
    for key in keys:
        parts = [f"{k}={v}" for k, v in key if k in varying]
        labels[key] = ", ".join(parts) or (", ".join(f"{k}={v}" for k, v in key) or "default")
    return labels


def long_frame(runs: list[Run], by: list[str] | None = None) -> pd.DataFrame:
    """Usable runs as rows (config, seed, metric, value)."""
    keys = [config_key(r, by) for r in runs]
    labels = label_configs(list(dict.fromkeys(keys)))
    rows = []
    for run, key in zip(runs, keys, strict=True):
        seed = run.overrides.get("seed", str(flatten(run.config).get("seed")))
        rows += [{"config": labels[key], "seed": seed, "metric": m, "value": v,
                  "source": run.source} for m, v in run.metrics.items()]
    return pd.DataFrame(rows, columns=["config", "seed", "metric", "value", "source"])


def run_groups(runs: list[Run], by: list[str] | None = None) -> dict[str, list[Run]]:
    """Usable runs by row label (the labels of the main table), in the table's order."""
    good = [r for r in runs if not r.problem]
    keys = [config_key(r, by) for r in good]
    labels = label_configs(list(dict.fromkeys(keys)))
    groups: dict[str, list[Run]] = {}
    for run, key in zip(good, keys, strict=True):
        groups.setdefault(labels[key], []).append(run)
    return dict(sorted(groups.items(), key=lambda kv: natural(kv[0])))


