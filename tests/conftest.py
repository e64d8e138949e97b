"""Shared fixtures: a committed tiny tokenizer and tiny random models of real architectures.

Everything here is offline: HF_HUB_OFFLINE is set before transformers is imported, so an
accidental hub download fails loudly instead of hanging.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

# Tiny models run fastest on one intra-op thread; two threads on a loaded 2-core box ran ~10x
# slower (measured by the runner and sampler benchmarks). Subprocesses inherit OMP_NUM_THREADS.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(__file__).parent / "assets"
TINY_MODEL_DIR = ROOT / "models" / "tiny-shakespeare"  # the trained model the project ships


def _tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ASSETS / "tokenizer")


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """512-token byte-level BPE with eos, pad (left padding) and a chat template."""
    return _tokenizer()


def make_tiny_model(
    arch: str = "qwen2", *, vocab_size: int = 512, seed: int = 0,
    attn_implementation: str = "sdpa", **overrides,
):
    """A random-initialised float32 causal LM of a real architecture, built from a config.

    arch: "qwen2" (GQA: 4 query heads, 2 kv heads), "llama" (GQA), "gpt2" or "gemma3" (tied
        embeddings, sliding-window layers; a Gemma-3-270M in miniature).
    overrides: extra config attributes (e.g. num_hidden_layers=3).
    """
    from transformers import (
        AutoModelForCausalLM,
        Gemma3TextConfig,
        GPT2Config,
        LlamaConfig,
        Qwen2Config,
    )

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab_size, bos_token_id=0, eos_token_id=0, pad_token_id=1)
    if arch == "qwen2":
        cfg = Qwen2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2,
                          max_position_embeddings=512, **common)
    elif arch == "llama":
        cfg = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2,
                          max_position_embeddings=512, **common)
    elif arch == "gpt2":
        cfg = GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=512, **common)
    elif arch == "gemma3":
        cfg = Gemma3TextConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                               num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                               sliding_window=4, max_position_embeddings=512,
                               layer_types=["sliding_attention", "full_attention"], **common)
    else:
        raise ValueError(f"arch={arch!r}: expected qwen2, llama, gpt2 or gemma3")
    for k, v in overrides.items():
        setattr(cfg, k, v)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation=attn_implementation)
    model.generation_config.eos_token_id = 0
    model.generation_config.pad_token_id = 1
    return model.eval()



def run_tiny_sweep(tmp_path: Path, *overrides: str) -> tuple[Path, dict]:
    """`run.py -m debug=default logger=none OVERRIDES` into tmp_path/multirun (offline, one
    thread); returns the sweep folder and the environment it ran with (for follow-up scripts)."""
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "HOME": str(tmp_path)}
    sweep = tmp_path / "multirun"
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "-m", "debug=default",
                           "logger=none", *overrides, f"hydra.sweep.dir={sweep}"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return sweep, env


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:
    """A saved tiny Qwen2 checkpoint folder (weights + the shipped tokenizer) for `run.py`."""
    from transformers import AutoTokenizer

    path = tmp_path_factory.mktemp("ckpt")
    make_tiny_model("qwen2", seed=1).save_pretrained(path)
    AutoTokenizer.from_pretrained(ASSETS / "tokenizer").save_pretrained(path)
    return str(path)
