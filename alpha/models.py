"""Load a causal LM and its tokenizer from a local folder or a hub id, with one-line errors.

Knows `from_pretrained` and devices; knows nothing about configs (the runner passes plain
values) or about sampling. Hub ids and local folders take the same path: `from_pretrained`.
Offline (`HF_HUB_OFFLINE=1`) a hub id that is not in the local cache fails at once with a
message that says how to get past it, instead of a long traceback from deep inside the hub
client.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from alpha.checkpoint import check_checkpoint, check_tokenizer_fits

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEVICES = ("auto", "cpu", "cuda")
ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2")


def hub_offline() -> bool:
    """True when the hub client is told to stay offline (`HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE`)."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(f.strip().upper() in ("1", "ON", "YES", "TRUE") for f in flags)


def check_device(device: str) -> None:
    """ValueError unless `device` is auto, cpu, cuda or cuda:N (the one check of the setting)."""
    if device not in DEVICES and not str(device).startswith("cuda:"):
        raise ValueError(f"device={device!r} is unknown; use one of {list(DEVICES)} or cuda:N")


def check_dtype(dtype: str) -> None:
    """ValueError unless `dtype` is auto or a key of DTYPES (the one check of the setting)."""
    if dtype != "auto" and dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is unknown; use auto or one of {list(DTYPES)}")


def resolve_device(device: str) -> torch.device:
    """`auto` -> cuda when available, else cpu; `cpu`/`cuda` as asked (cuda must exist)."""
    check_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but no CUDA device is visible; use device=cpu or auto")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """`auto` -> float32 on CPU, bfloat16 on a GPU that supports it (float16 otherwise)."""
    check_dtype(dtype)
    if dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return DTYPES[dtype]


def _looks_local(name: str) -> bool:
    """A path-like name (absolute, ./, ~, or more than one '/') is never a hub id."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name


def _hub_error(name: str, err: Exception) -> ValueError:
    if hub_offline():
        return ValueError(
            f"model {name}: no such folder ({Path(name).expanduser().absolute()}), and as a hub "
            "id it is not in the local hub cache (HF_HUB_OFFLINE=1); point model.path at a "
            "save_pretrained folder, or set HF_HUB_OFFLINE=0 to download it"
        )
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ValueError(
        f"model {name} could not be loaded from the hub ({first}); check the name and your "
        "connection, or point model.path at a local folder"
    )


def check_finite_weights(model, source: str) -> None:
    """ValueError naming the first parameter that holds NaN or inf (a corrupt or badly converted
    checkpoint would otherwise sample garbage or fail deep inside the sampler)."""
    for pname, p in model.named_parameters():
        if not torch.isfinite(p).all():
            bad = int((~torch.isfinite(p)).sum())
            raise ValueError(f"{source}: weight {pname} holds {bad} NaN/inf values; the checkpoint "
                             "is corrupt: restore or re-convert it (a catalogue model: python -m "
                             "alpha.fetch NAME)")


def load_model_and_tokenizer(
    name_or_path: str,
    *,
    device: str = "auto",
    dtype: str = "auto",
    attn_implementation: str = "sdpa",
    use_safetensors: bool = True,
    revision: str | None = None,
):
    """Load `AutoModelForCausalLM` + `AutoTokenizer`, in eval mode, on `device`.

    Args:
        name_or_path: a local `save_pretrained` folder or a hub id (e.g. "Qwen/Qwen2.5-0.5B-Instruct").
        device: auto | cpu | cuda | cuda:N.
        dtype: auto | float32 | bfloat16 | float16 (auto: float32 on CPU, bf16/fp16 on GPU).
        attn_implementation: sdpa | eager | flash_attention_2.
        use_safetensors: refuse pickled `.bin` weights (default True).
        revision: hub revision (branch, tag or commit); ignored for local folders.

    Returns:
        `(model, tokenizer)`; the tokenizer pads on the left (batched decoding needs it).
        `trust_remote_code` is always False: only architectures transformers ships are loaded.

    Raises:
        ValueError: a missing local folder, a hub id that is unavailable (offline or not found),
            an unknown device/dtype/attention implementation, weights holding NaN or inf.

    >>> model, tok = load_model_and_tokenizer("models/tiny-shakespeare", device="cpu")  # doctest: +SKIP
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if attn_implementation not in ATTN_IMPLEMENTATIONS:
        raise ValueError(
            f"model.attn_implementation={attn_implementation!r} is unknown; use one of "
            f"{list(ATTN_IMPLEMENTATIONS)}"
        )
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    name = str(name_or_path)
    local = Path(name).expanduser()
    tokenizer, weights = None, name
    if local.is_dir():
        name = str(local)
        # missing/corrupt config, weights, tokenizer: one line each; its tokenizer is reused
        info = check_checkpoint(local)
        tokenizer, weights = info.tokenizer, str(info.weights)
    elif local.exists() or _looks_local(name):
        what = "is a file, not a folder" if local.exists() else f"no such folder ({local.absolute()})"
        raise ValueError(
            f"model.path={name!r}: {what}; point model.path at a save_pretrained folder "
            "(config.json + weights) or use a hub id"
        )
    common = dict(revision=revision or "main", trust_remote_code=False)
    try:
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(name, **common)
        model = AutoModelForCausalLM.from_pretrained(
            name, dtype=torch_dtype, attn_implementation=attn_implementation,
            use_safetensors=use_safetensors, **common,
        )
    except (OSError, ValueError) as err:
        if local.is_dir():
            first = str(err).strip().splitlines()[0]
            raise ValueError(
                f"model.path={name!r} could not be loaded ({first}); it must hold a "
                "save_pretrained checkpoint (set model.use_safetensors=false for .bin weights)"
            ) from err
        if isinstance(err, ValueError):
            raise
        raise _hub_error(name, err) from err
    check_tokenizer_fits(tokenizer, model.get_input_embeddings().num_embeddings, source=name)
    check_finite_weights(model, weights)
    tokenizer.padding_side = "left"
    log.info("loaded %s (%s, %s, %s)", name, type(model).__name__, torch_dtype, dev)
    return model.to(dev).eval(), tokenizer
