"""The shipped checkpoint models/tiny-shakespeare and `alpha.checkpoint.check_checkpoint`.

References: transformers' own loading (`AutoModelForCausalLM`/`AutoTokenizer`, offline),
transformers' loss on held-out passages (re-measures the model card's perplexity against the
unigram baseline it reports), the committed held-out passages' own words for the word check.
Bad inputs tried: missing folder, a file instead of a folder, no config.json, corrupt
config.json, missing weights, truncated safetensors, missing tokenizer, a tokenizer with more
tokens than the embedding has rows.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest
import torch
from conftest import ASSETS, TINY_MODEL_DIR, make_tiny_model

from alpha.checkpoint import check_checkpoint, check_tokenizer_fits

WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")


@pytest.fixture(scope="module")
def shipped():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(TINY_MODEL_DIR).eval()
    return model, AutoTokenizer.from_pretrained(TINY_MODEL_DIR)


@pytest.fixture(scope="module")
def heldout():
    with open(TINY_MODEL_DIR.parents[1] / "data" / "heldout_passages.jsonl") as fh:
        return [json.loads(line) for line in fh]


def test_folder_is_a_complete_small_save_pretrained_checkpoint():
    info = check_checkpoint(TINY_MODEL_DIR)
    assert info.weights.name == "model.safetensors"
    assert info.weights.stat().st_size <= 20 * 2**20  # the repo's per-file limit
    for name in ("config.json", "generation_config.json", "tokenizer.json",
                 "tokenizer_config.json", "README.md", "metrics.json", "training_log.jsonl"):
        assert (TINY_MODEL_DIR / name).is_file(), name
    assert info.tokenizer_size <= info.vocab_size


def test_loads_offline_with_eos_pad_and_generates(shipped):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    model, tok = shipped
    assert type(model).__name__ in ("Qwen2ForCausalLM", "LlamaForCausalLM")
    assert 1e6 < sum(p.numel() for p in model.parameters()) < 5e6
    assert tok.eos_token_id is not None and tok.pad_token_id is not None
    assert model.generation_config.eos_token_id == tok.eos_token_id
    assert tok.padding_side == "left"
    x = tok(["My lord,", "Good morrow to you"], return_tensors="pt", padding=True)
    y = model.generate(**x, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    n = x["input_ids"].shape[1]
    assert y.shape[0] == 2 and n < y.shape[1] <= n + 6
    assert all(tok.decode(row[n:], skip_special_tokens=True).strip() for row in y)


def test_autotokenizer_tokenizes_like_training(shipped, heldout):
    """AutoTokenizer's ids == tokenizer.json's own ids (what the training script encoded)."""
    from tokenizers import Tokenizer

    _, tok = shipped
    raw = Tokenizer.from_file(str(TINY_MODEL_DIR / "tokenizer.json"))
    for r in heldout[:20]:
        text = r["prompt"] + r["reference"]
        assert tok(text)["input_ids"] == raw.encode(text, add_special_tokens=False).ids


def test_heldout_perplexity_far_below_the_reported_unigram_baseline(shipped, heldout):
    model, tok = shipped
    meta = json.loads((TINY_MODEL_DIR / "metrics.json").read_text())
    nll, n = 0.0, 0
    with torch.no_grad():
        for r in heldout[:24]:
            ids = tok(r["prompt"] + r["reference"], return_tensors="pt")["input_ids"]  # (1, T)
            nll += model(input_ids=ids, labels=ids).loss.item() * (ids.shape[1] - 1)
            n += ids.shape[1] - 1
    ppl = math.exp(nll / n)
    assert ppl < meta["unigram_val_ppl"] / 3
    assert ppl == pytest.approx(meta["val_ppl"], rel=0.35)  # the card's figure, re-measured


def test_low_temperature_continuations_are_mostly_real_words(shipped, heldout):
    """Sampled words (T=0.7) mostly occur in the held-out passages: not byte soup or one token."""
    model, tok = shipped
    known = {w for r in heldout for w in WORD_RE.findall((r["prompt"] + r["reference"]).lower())}
    torch.manual_seed(0)
    words, distinct_tokens = [], set()
    for r in heldout[-4:]:
        x = tok(r["prompt"], return_tensors="pt")
        y = model.generate(**x, do_sample=True, temperature=0.7, top_k=0, max_new_tokens=40,
                           pad_token_id=tok.pad_token_id)
        new = y[0, x["input_ids"].shape[1]:]
        distinct_tokens |= set(new.tolist())
        words += WORD_RE.findall(tok.decode(new, skip_special_tokens=True).lower())
    assert len(words) >= 40 and len(distinct_tokens) >= 30
    assert sum(w in known for w in words) / len(words) >= 0.7


# ---------------------------------------------------------------- bad checkpoints
@pytest.fixture
def good_dir(tmp_path, tiny_tokenizer) -> Path:
    """A small valid checkpoint: tiny random Qwen2 (vocab 512) + the 512-token test tokenizer."""
    d = tmp_path / "ckpt"
    make_tiny_model("qwen2").save_pretrained(d)
    tiny_tokenizer.save_pretrained(d)
    check_checkpoint(d)
    return d


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(ValueError, match=r"model path='.*nowhere' is not a folder"):
        check_checkpoint(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"is not a folder"):
        check_checkpoint(tmp_path / "file")


@pytest.mark.parametrize("damage, match", [
    (lambda d: (d / "config.json").unlink(), r"no config\.json"),
    (lambda d: (d / "config.json").write_text('{"vocab_size": 5'), r"config\.json: corrupt JSON"),
    (lambda d: (d / "model.safetensors").unlink(), r"no weights file"),
    (lambda d: (d / "model.safetensors").write_bytes(
        (d / "model.safetensors").read_bytes()[:1000]), r"model\.safetensors: corrupt safetensors"),
    (lambda d: (d / "tokenizer.json").unlink(), r"no tokenizer files"),
    (lambda d: (d / "tokenizer.json").write_text("{not json"), r"tokenizer files do not load"),
])
def test_damaged_checkpoint_names_the_file(good_dir, damage, match):
    damage(good_dir)
    with pytest.raises(ValueError, match=match):
        check_checkpoint(good_dir)


def test_tokenizer_larger_than_embedding_is_refused(tmp_path, tiny_tokenizer):
    n = len(tiny_tokenizer)  # 455: the test BPE stops short of its 512 target
    d = tmp_path / "mismatch"
    make_tiny_model("qwen2", vocab_size=256).save_pretrained(d)  # 256 embedding rows
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(ASSETS / "tokenizer" / f, d / f)
    with pytest.raises(ValueError, match=rf"tokenizer has {n} tokens but the model's embedding "
                                         r"has only 256 rows"):
        check_checkpoint(d)


def test_check_tokenizer_fits_accepts_padded_embeddings(tiny_tokenizer):
    n = len(tiny_tokenizer)
    check_tokenizer_fits(tiny_tokenizer, n)
    check_tokenizer_fits(tiny_tokenizer, 640)  # embeddings padded past the vocab are fine
    with pytest.raises(ValueError, match=rf"qwen: tokenizer has {n} tokens"):
        check_tokenizer_fits(tiny_tokenizer, n - 1, source="qwen")
