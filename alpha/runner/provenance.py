"""Committed results pinned to the configs that made them (experiments/provenance.yaml).

Each entry names a committed result folder, the command that regenerates it, and what that
command composes: `runs` (the run.py overrides of each config family; the sweep values are the
experiment's own) and/or `tune` (a conf/tune/*.yaml with its command-line dotlist; every method's
run config and search space, and the tuning settings). `digest(entry)` hashes, for each composed
config, what decides its numbers: the run fingerprint (model, sampler, dataset, seed, tokens,
local file signatures, catalogue sha256), the evaluation (metrics, options, oracle), the prompt
count and batch size. When a default or an option under a committed result changes, today's
digest differs from the recorded one and `check` says which result to re-run, with its command.

An entry marked `stale:` (made by an older default, its numbers kept for the record) is not
compared; its folder's README (or its parent's) must carry the words "made by an older default".
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omegaconf import OmegaConf

from alpha.runner import ROOT

FILE = ROOT / "experiments" / "provenance.yaml"
STALE_MARK = "made by an older default"


def _decisive(c: dict) -> dict:
    """What decides a run's committed numbers, from its composed (unresolved) config."""
    from alpha.runner.config import fingerprint

    ev = c.get("evaluation") or {}
    return {"fingerprint": fingerprint(c),
            "evaluation": {k: ev.get(k) for k in ("metrics", "options", "oracle", "headline")},
            "num_prompts": c.get("num_prompts"), "batch_size": c.get("batch_size")}


def _tune_parts(path: str, dotlist: list[str]) -> dict:
    from dataclasses import asdict

    from alpha.runner.tuning import compose, load_config

    cfg = load_config(path, dotlist)
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("out_dir", "results_dir")}
    if settings.get("test_dir") == "test":  # the folder every earlier study used: they still match
        settings.pop("test_dir")
    methods = {}
    for m in cfg.methods:
        c = compose([*cfg.overrides, f"sampler={m}"])
        space = (c.get("sampler") or {}).get("search_space") or {}
        methods[m] = {**_decisive(c),  # a null entry is not tuned (tuning.search_space)
                      "search_space": {k: v for k, v in space.items() if v is not None}}
    return {"settings": settings, "methods": methods}


def parts(entry: dict) -> dict:
    """Everything the entry's command composes that decides its numbers, as plain data."""
    from alpha.runner.tuning import compose

    out: dict = {}
    if entry.get("runs"):
        out["runs"] = [_decisive(compose(list(o))) for o in entry["runs"]]
    if entry.get("tune"):
        t = entry["tune"]
        out["tune"] = _tune_parts(t["config"], list(t.get("dotlist") or []))
    if not out:
        raise ValueError(f"provenance entry {entry.get('command')!r} has neither runs nor tune")
    return out


def digest(entry: dict) -> str:
    text = json.dumps(parts(entry), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load(path: Path = FILE) -> dict[str, dict]:
    data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    return data["results"]


def check(path: Path = FILE) -> list[str]:
    """One line per committed result whose configs changed since it was made (empty: none)."""
    problems = []
    for folder, entry in load(path).items():
        readme = next((d / "README.md" for d in (ROOT / folder, (ROOT / folder).parent)
                       if (d / "README.md").exists()), ROOT / folder / "README.md")
        if entry.get("stale"):
            text = readme.read_text() if readme.exists() else ""
            if STALE_MARK not in text:
                problems.append(f"{folder}: marked stale in {path.name} but its README.md does not "
                                f"say '{STALE_MARK}'")
            continue
        now = digest(entry)
        if now != entry.get("digest"):
            problems.append(f"{folder}: its configs changed since it was made (digest {now}, "
                            f"recorded {entry.get('digest')}); re-run `{entry['command']}` and "
                            f"record the new digest (python scripts/provenance.py --update "
                            f"{folder}), or mark it stale")
    return problems
