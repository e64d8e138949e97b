"""Checks a run makes before it loads anything: devices, the hub, the model's config, W&B.

Each check costs well under a second and turns what would fail minutes (or tens of seconds of
retries) later into one `ValueError` line naming the setting and the fix:

- `check_device`: `device=cuda` on a machine without CUDA, before any hub access;
- `check_hub`: when some part of the config needs the Hugging Face hub (a hub model id that is
  neither a local folder nor in the HF cache, a hub dataset, the evaluation oracle), one short
  TCP connect to `HF_ENDPOINT` (or the proxy that serves it); unreachable -> one line, instead
  of the hub client's retries (28-55 s and a dozen log lines) after the generator has loaded;
- `check_model_config`: `max_new_tokens` against the context and `capture` against the layer
  count, read from the checkpoint's config.json (`AutoConfig`, no weights);
- `wandb_reachable`: whether an online W&B run can reach its server (the logger falls back to
  offline with one line instead of waiting ~90 s).
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

TIMEOUT_S = 3.0  # one connect; a reachable endpoint answers in milliseconds
LOCAL_BUILDERS = ("json", "csv", "parquet", "text", "arrow", "pandas", "xml", "sql",
                  "generator", "imagefolder", "audiofolder", "videofolder", "webdataset")


def _connect(host: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return err.strerror or type(err).__name__


def unreachable(url: str, timeout: float = TIMEOUT_S) -> str | None:
    """Why `url`'s server (or the proxy the environment routes it through) cannot be reached by
    one TCP connect within `timeout` seconds, or None when it can. Name lookup is bounded by
    the same timeout (it runs in a helper thread)."""
    parts = urlparse(url)
    host, scheme = parts.hostname or "", parts.scheme or "https"
    port = parts.port or (443 if scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        p = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = p.hostname or host, p.port or 8080
    result: list[str | None] = [f"no answer within {timeout:.0f} s"]
    worker = threading.Thread(target=lambda: result.__setitem__(0, _connect(host, port, timeout)),
                              daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return result[0]


def hf_endpoint() -> str:
    """The hub the hub client talks to (`HF_ENDPOINT`, default https://huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _cached(repo_id: str, revision: str | None) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, "config.json", revision=revision or "main")
    except Exception:  # noqa: BLE001 - an odd id: not cached
        return False
    return isinstance(hit, str)


def hub_parts(model_kw: dict, dataset: dict, oracle_kw: dict | None) -> list[str]:
    """The parts of a run that need the hub: model/oracle hub ids not in the HF cache, and a
    hub dataset (not a local folder, not a packaged builder such as json over local files)."""
    parts = []
    for what, kw in (("model.path", model_kw), ("evaluation.oracle", oracle_kw)):
        name = (kw or {}).get("name_or_path")
        if name and not Path(name).expanduser().exists() and not _cached(name, kw.get("revision")):
            parts.append(f"{what}={name}")
    name = dataset.get("name")
    if name and not dataset.get("path") and name not in LOCAL_BUILDERS and not Path(name).exists():
        parts.append(f"dataset.name={name}")
    return parts


def check_hub(model_kw: dict, dataset: dict, oracle_kw: dict | None,
              timeout: float = TIMEOUT_S) -> None:
    """ValueError in one line when parts of the run need the hub and it cannot be reached.
    Offline mode (HF_HUB_OFFLINE=1) skips the check: the loaders then fail at once themselves."""
    from alpha.data.hub import datasets_offline

    if datasets_offline():
        return
    parts = hub_parts(model_kw, dataset, oracle_kw)
    if not parts:
        return
    why = unreachable(hf_endpoint(), timeout)
    if why:
        raise ValueError(
            f"{', '.join(parts)} need the Hugging Face hub, but {hf_endpoint()} is unreachable "
            f"({why}); point model.path (or evaluation.oracle) at a local folder, use a bundled "
            "dataset, or set HF_HUB_OFFLINE=1 if they are in your HF cache"
        )


def check_device(device: str) -> None:
    """`cuda`/`cuda:N` asked for on a machine without CUDA: one line (alpha.models' check)."""
    from alpha.models import resolve_device

    resolve_device(device)


def check_model_config(model_kw: dict, *, max_new_tokens: int, capture, needs_attention: bool,
                       what: str = "model.path") -> None:
    """`max_new_tokens` and `capture` against the checkpoint's config.json (no weights loaded).
    Skipped for hub ids that are not local (their config comes with the weights)."""
    from transformers import AutoConfig

    from alpha.attention_capture import capture_layers, num_layers
    from alpha.generation import context_length

    name = model_kw.get("name_or_path")
    if not name or not (Path(name).expanduser() / "config.json").is_file():
        return
    try:
        cfg = AutoConfig.from_pretrained(name, trust_remote_code=False)
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
