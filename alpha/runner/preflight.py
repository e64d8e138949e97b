"""Checks a run makes before it loads anything: devices, the hub, the model's config, W&B.

Each check costs well under a second and turns what would fail minutes (or tens of seconds of
retries) later into one `ValueError` line naming the setting and the fix:

- `check_device`: `device=cuda` on a machine without CUDA, before any hub access;
- `check_hub`: when some part of the config needs the Hugging Face hub (a hub model id that is
  neither a local folder nor in the HF cache, a hub dataset, the evaluation oracle), one short
  probe of `HF_ENDPOINT` (through the environment's proxy, if any: connect, then a TLS handshake
  or the first bytes of an HTTP answer); unreachable -> one line, instead
  of the hub client's retries (28-55 s and a dozen log lines) after the generator has loaded;
- `check_model_config`: `max_new_tokens` against the context and `capture` against the layer
  count, read from the checkpoint's config.json (`AutoConfig`, no weights);
- `wandb_reachable`: whether an online W&B run can reach its server (the logger falls back to
  offline with one line instead of waiting ~90 s).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

from alpha.netcheck import TIMEOUT_S, hf_endpoint, unreachable

LOCAL_BUILDERS = ("json", "csv", "parquet", "text", "arrow", "pandas", "xml", "sql",
                  "generator", "imagefolder", "audiofolder", "videofolder", "webdataset")


def _cached(repo_id: str, revision: str | None) -> bool:
    return _config_folder(repo_id, revision) is not None


def hub_parts(model_kw: dict, dataset: dict, oracle_kw: dict | None,
              *, cached_too: bool = False) -> list[str]:
    """The parts of a run that need the hub: model/oracle hub ids (those in the HF cache only
    with `cached_too`), and a hub dataset (not a local folder, not a packaged builder such as
    json over local files, not one with a package-index `source` to fall back on)."""
    parts = []
    for what, kw in (("model.path", model_kw), ("evaluation.oracle", oracle_kw)):
        name = (kw or {}).get("name_or_path")
        if name and not Path(name).expanduser().exists() and (
                cached_too or not _cached(name, kw.get("revision"))):
            parts.append(f"{what}={name}")
    name = dataset.get("name")
    if (name and not dataset.get("path") and not dataset.get("source")  # source: a package copy
            and name not in LOCAL_BUILDERS and not Path(name).exists()):
        parts.append(f"dataset.name={name}")
    return parts


def go_offline() -> None:
    """Offline mode for the rest of this process (and its children): the hub client then reads
    its cache without trying the network."""
    import huggingface_hub.constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    huggingface_hub.constants.HF_HUB_OFFLINE = True  # read at call time by transformers


def check_hub(model_kw: dict, dataset: dict, oracle_kw: dict | None,
              timeout: float = TIMEOUT_S) -> None:
    """Probe the hub once when parts of the run use it. Unreachable: a ValueError in one line
    when some part is not in the HF cache; when all are cached, one line and offline mode (the
    hub client would otherwise retry for tens of seconds before reading its cache).
    Offline mode (HF_HUB_OFFLINE=1) skips the check: the loaders then fail at once themselves."""
    from alpha.data.hub import datasets_offline

    if datasets_offline():
        return
    if not hub_parts(model_kw, dataset, oracle_kw, cached_too=True):
        return
    why = unreachable(hf_endpoint(), timeout)
    if not why:
        return
    parts = hub_parts(model_kw, dataset, oracle_kw)
    if parts:
        raise ValueError(
            f"{', '.join(parts)} need the Hugging Face hub (no such local folder), but "
            f"{hf_endpoint()} is unreachable ({why}); point model.path (or evaluation.oracle) at a local folder, use a bundled "
            "dataset, or set HF_HUB_OFFLINE=1 if they are in your HF cache"
        )
    print(f"the Hugging Face hub ({hf_endpoint()}) is unreachable ({why}); using the models in "
          "your HF cache (set HF_HUB_OFFLINE=1 to skip this check)", file=sys.stderr)
    go_offline()


def check_device(device: str) -> None:
    """`cuda`/`cuda:N` asked for on a machine without CUDA: one line (alpha.models' check)."""
    from alpha.models import resolve_device

    resolve_device(device)


def _config_folder(name: str, revision: str | None) -> str | None:
    """The folder holding the model's config.json: the local folder, or its HF cache snapshot
    (read without touching the network); None when neither exists."""
    if (Path(name).expanduser() / "config.json").is_file():
        return str(Path(name).expanduser())
    if Path(name).expanduser().exists():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(name, "config.json", revision=revision or "main")
    except Exception:  # noqa: BLE001 - an odd id: not cached
        return None
    return str(Path(hit).parent) if isinstance(hit, str) else None


def check_model_config(model_kw: dict, *, max_new_tokens: int, capture, needs_attention: bool,
                       what: str = "model.path") -> None:
    """`max_new_tokens` and `capture` against the checkpoint's config.json (no weights loaded),
    from the local folder or the HF cache; skipped for a hub id not yet downloaded."""
    from transformers import AutoConfig

    from alpha.attention_capture import capture_layers, num_layers
    from alpha.generation import context_length

    name = model_kw.get("name_or_path")
    folder = _config_folder(name, model_kw.get("revision")) if name else None
    if folder is None:
        return
    try:
        cfg = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError):
        return  # the loader reports a broken checkpoint in its own words
    shim = SimpleNamespace(config=cfg)
    ctx = context_length(shim)
    if ctx is not None and max_new_tokens >= ctx:
        raise ValueError(f"max_new_tokens={max_new_tokens} does not fit {what}={name}: its "
                         f"context is {ctx} tokens (prompt included); use max_new_tokens < {ctx}")
    if needs_attention:
        try:
            capture_layers(capture, num_layers(shim))
        except ValueError as err:
            raise ValueError(f"{err} ({what}={name})") from None


def wandb_unreachable(timeout: float = TIMEOUT_S) -> str | None:
    """Why the W&B server (`WANDB_BASE_URL`, default https://api.wandb.ai) cannot be reached."""
    url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    why = unreachable(url, timeout)
    return None if why is None else f"{url}: {why}"
