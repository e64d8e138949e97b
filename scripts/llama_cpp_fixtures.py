"""Record llama.cpp's own samplers on fixed logits as test fixtures (tests/fixtures/llama_cpp/).

    pip install --no-deps --no-binary :all: llama-cpp-python==0.3.36   # compiles llama.cpp (minutes)
    python scripts/llama_cpp_fixtures.py                               # rewrites the fixture file

No model is loaded: each sampler runs on a bare `llama_token_data_array` built from seeded
logits (V = 64, rows from peaked to flat), through llama-cpp-python's bindings of llama.cpp's
sampler API. Recorded per case: the logits, llama.cpp's kept token ids after `apply`, and for the
stateful samplers (mirostat_v2, adaptive_p) the token llama.cpp drew with its own RNG at each
step and, for adaptive-p, the probabilities it drew from; so the tests can replay llama.cpp's
choices through our samplers and compare what does not depend on the RNG. XTC runs with
probability 1 (its coin always says yes). The llama-cpp-python version and this command are
written into the file. tests/test_llama_cpp_reference.py reads it; its slow test regenerates
the records when `llama_cpp` is importable and compares them with the committed file.
"""

from __future__ import annotations

import ctypes
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "llama_cpp" / "samplers.json"
# DRY's sequence breakers need a vocabulary: GPT-2's vocab-only GGUF from the llama-cpp-python
# 0.3.36 sdist (vendor/llama.cpp/models/ggml-vocab-gpt-2.gguf), committed xz-compressed; the
# tests load the same file's tokenizer through transformers' GGUF loader.
VOCAB_XZ = ROOT / "tests" / "fixtures" / "llama_cpp" / "ggml-vocab-gpt-2.gguf.xz"
VOCAB_SHA256 = "cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac"
BREAKER_TEXTS = [
    'The cat said: "hello there" and the cat said: "hello there" and the cat said: "hello',
    "one two three four five one two three four five one two three four",
    "a *b* c d *b* c d *b* c",
    "x y z\nx y z\nx y z\nx y",
    "foo bar:baz foo bar:baz foo bar:",
    "the cat sat there, the cat sat there, and the cat sat",
    "Q: what is two and two\n\nQ: what is two and two\n\nQ: what is two and",
    "I think that I think that I think that I think",
]
BREAKER_CASES = [  # breakers, multiplier, base, allowed_length, penalty_last_n
    (["\n", ":", "\"", "*"], 0.8, 1.75, 2, 64),  # llama.cpp's defaults
    ([" the cat", "there"], 1.5, 2.0, 2, 40),  # multi-token breakers: head + tail
    (["\n\n", "Q:", "at"], 0.5, 1.2, 1, 100),  # "at" ends inside tokens (" that", " sat")
]
V, STEPS = 64, 10


def rows(seed: int, n: int = 6) -> list[list[float]]:
    """n rows of V float32 logits from peaked to flat (as float32-exact Python floats)."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(4.0, 0.5, n)[:, None]
    return (rng.standard_normal((n, V)) * scale).astype(np.float32).tolist()


def token_array(ll, logits: list[float], ids: list[int] | None = None):
    """llama.cpp's token-data array of `logits` for token ids `ids` (default 0..n-1)."""
    ids = range(len(logits)) if ids is None else ids
    data = (ll.llama_token_data * len(logits))(
        *[ll.llama_token_data(id=i, logit=x, p=0.0) for i, x in zip(ids, logits, strict=True)])
    arr = ll.llama_token_data_array(data=ctypes.cast(data, ll.llama_token_data_p),
                                    size=len(logits), selected=-1, sorted=False)
    return arr, data  # keep `data` alive while `arr` is used


def kept(arr) -> list[int]:
    return sorted(int(arr.data[i].id) for i in range(arr.size)
                  if not math.isinf(arr.data[i].logit))


def apply_once(ll, make, logits: list[float]) -> list[int]:
    smpl = make()
    arr, _data = token_array(ll, logits)
    ll.llama_sampler_apply(smpl, ctypes.byref(arr))
    out = kept(arr)
    ll.llama_sampler_free(smpl)
    return out


def stateless(ll) -> dict:
    cases = {}
    x = rows(1)
    for n in (0.5, 1.0, 2.0):
        cases[f"top_n_sigma n={n}"] = {"sampler": "top_n_sigma", "params": {"n": n}, "logits": x,
                                      "kept": [apply_once(ll, lambda n=n: ll.llama_sampler_init_top_n_sigma(n), r)
                                               for r in x]}
    for t in (0.05, 0.1, 0.2):
        cases[f"xtc threshold={t}"] = {
            "sampler": "xtc", "params": {"probability": 1.0, "threshold": t, "min_keep": 1},
            "logits": x,
            "kept": [apply_once(ll, lambda t=t: ll.llama_sampler_init_xtc(1.0, t, 1, 1234), r)
                     for r in x]}
    for p in (0.05, 0.2):
        cases[f"min_p p={p}"] = {"sampler": "min_p", "params": {"min_p": p}, "logits": x,
                                 "kept": [apply_once(ll, lambda p=p: ll.llama_sampler_init_min_p(p, 1), r)
                                          for r in x]}
    for p in (0.5, 0.9):
        cases[f"typical p={p}"] = {"sampler": "typical", "params": {"typical_p": p}, "logits": x,
                                   "kept": [apply_once(ll, lambda p=p: ll.llama_sampler_init_typical(p, 1), r)
                                            for r in x]}
    return cases


def mirostat(ll, tau: float, eta: float, seed: int) -> dict:
    steps = rows(seed, STEPS)
    smpl = ll.llama_sampler_init_mirostat_v2(seed, tau, eta)
    record = {"sampler": "mirostat_v2", "params": {"tau": tau, "eta": eta}, "logits": steps,
              "kept": [], "selected": []}
    for x in steps:
        arr, _data = token_array(ll, x)
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        record["kept"].append(sorted(int(arr.data[i].id) for i in range(arr.size)))
        record["selected"].append(int(arr.data[arr.selected].id))
    ll.llama_sampler_free(smpl)
    return record


def adaptive_p(ll, target: float, decay: float, seed: int, min_p: float = 0.0) -> dict:
    """adaptive-p alone (min_p 0) or after llama.cpp's min-p, the chain its authors recommend."""
    steps = rows(seed, STEPS)
    smpl = ll.llama_sampler_init_adaptive_p(target, decay, seed)
    first = ll.llama_sampler_init_min_p(min_p, 1) if min_p > 0 else None
    record = {"sampler": "adaptive_p", "params": {"target": target, "decay": decay,
                                                  "min_p": min_p},
              "logits": steps, "probs": [], "selected": []}
    for x in steps:
        arr, _data = token_array(ll, x)
        if first is not None:
            ll.llama_sampler_apply(first, ctypes.byref(arr))
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        probs = [0.0] * V
        for i in range(arr.size):
            probs[int(arr.data[i].id)] = float(arr.data[i].p)
        token = int(arr.data[arr.selected].id)
        record["probs"].append(probs)
        record["selected"].append(token)
        ll.llama_sampler_accept(smpl, token)
    ll.llama_sampler_free(smpl)
    if first is not None:
        ll.llama_sampler_free(first)
    return record


def histories(seed: int) -> list[list[int]]:
    """Token histories with repeats: a motif said again, partly, and noise around it."""
    rng = np.random.default_rng(seed)
    out = []
    for n in (12, 30, 48, 70):
        motif = rng.integers(0, V, size=int(rng.integers(3, 7))).tolist()
        h = rng.integers(0, V, size=3).tolist()
        while len(h) < n:
            h += motif if rng.random() < 0.6 else rng.integers(0, V, size=2).tolist()
        out.append(h[:n])
    return out


def dry(ll, multiplier: float, base: float, allowed: int, last_n: int, seed: int) -> dict:
    """DRY's penalties without sequence breakers (llama.cpp needs no vocabulary then): each
    history accepted token by token, then one apply on fixed logits; the logits it leaves."""
    hs, x = histories(seed), rows(seed, 4)
    record = {"sampler": "dry", "params": {"multiplier": multiplier, "base": base,
                                           "allowed_length": allowed, "penalty_last_n": last_n},
              "histories": hs, "logits": x, "out": []}
    for h, logits in zip(hs, x, strict=True):
        smpl = ll.llama_sampler_init_dry(None, multiplier, base, allowed, last_n, None, 0)
        for t in h:
            ll.llama_sampler_accept(smpl, t)
        arr, _data = token_array(ll, logits)
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        out = [0.0] * V
        for i in range(arr.size):
            out[int(arr.data[i].id)] = float(arr.data[i].logit)
        record["out"].append(out)
        ll.llama_sampler_free(smpl)
    return record


def vocab_file(folder: Path) -> Path:
    """The committed GPT-2 vocab GGUF, decompressed into `folder` and checked by sha256."""
    import hashlib
    import lzma

    out = folder / "ggml-vocab-gpt-2.gguf"
    out.write_bytes(lzma.decompress(VOCAB_XZ.read_bytes()))
    if hashlib.sha256(out.read_bytes()).hexdigest() != VOCAB_SHA256:
        raise ValueError(f"{VOCAB_XZ} does not decompress to the recorded GGUF (sha256)")
    return out


def tokenize(ll, vocab, text: str) -> list[int]:
    buf = (ll.llama_token * 512)()
    n = ll.llama_tokenize(vocab, text.encode(), len(text.encode()), buf, 512, False, False)
    return list(buf[:n])


def dry_breakers(ll, vocab, breakers, multiplier, base, allowed, last_n, seed) -> dict:
    """DRY with sequence breakers on GPT-2's vocabulary: each text tokenized by llama.cpp,
    accepted token by token, then one apply on seeded logits over every token of the text plus
    8 others; the logits it leaves."""
    rng = np.random.default_rng(seed)
    record = {"sampler": "dry_breakers", "params": {
        "multiplier": multiplier, "base": base, "allowed_length": allowed,
        "penalty_last_n": last_n, "sequence_breakers": breakers},
        "histories": [], "candidates": [], "logits": [], "out": []}
    for text in BREAKER_TEXTS:
        h = tokenize(ll, vocab, text)
        cands = sorted(set(h) | set(rng.integers(0, 50257, size=8).tolist()))
        x = (rng.standard_normal(len(cands)) * 2).astype(np.float32).tolist()
        strings = (ctypes.c_char_p * len(breakers))(*[b.encode() for b in breakers])
        smpl = ll.llama_sampler_init_dry(vocab, multiplier, base, allowed, last_n, strings,
                                         len(breakers))
        for t in h:
            ll.llama_sampler_accept(smpl, t)
        arr, _data = token_array(ll, x, cands)
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        out = {int(arr.data[i].id): float(arr.data[i].logit) for i in range(arr.size)}
        record["histories"].append(h)
        record["candidates"].append(cands)
        record["logits"].append(x)
        record["out"].append([out[c] for c in cands])
        ll.llama_sampler_free(smpl)
    return record


def record_all() -> dict:
    import tempfile

    import llama_cpp as ll

    cases = stateless(ll)
    with tempfile.TemporaryDirectory() as tmp:
        params = ll.llama_model_default_params()
        params.vocab_only = True
        model = ll.llama_model_load_from_file(str(vocab_file(Path(tmp))).encode(), params)
        vocab = ll.llama_model_get_vocab(model)
        for i, (breakers, mult, base, allowed, last_n) in enumerate(BREAKER_CASES):
            cases[f"dry breakers={breakers} multiplier={mult} allowed={allowed}"] = dry_breakers(
                ll, vocab, breakers, mult, base, allowed, last_n, 20 + i)
        ll.llama_model_free(model)
    for mult, base, allowed, last_n, seed in ((0.8, 1.75, 2, 64, 11), (1.5, 2.0, 3, 16, 12),
                                              (0.5, 1.0, 1, 40, 13)):
        cases[f"dry multiplier={mult} base={base} allowed={allowed} last_n={last_n}"] = dry(
            ll, mult, base, allowed, last_n, seed)
    for tau, eta, seed in ((3.0, 0.1, 7), (5.0, 0.3, 8)):
        cases[f"mirostat_v2 tau={tau} eta={eta}"] = mirostat(ll, tau, eta, seed)
    for target, decay, seed in ((0.5, 0.9, 9), (0.2, 0.5, 10)):
        cases[f"adaptive_p target={target} decay={decay}"] = adaptive_p(ll, target, decay, seed)
    for target, decay, min_p, seed in ((0.5, 0.9, 0.05, 14), (0.3, 0.7, 0.2, 15)):
        cases[f"adaptive_p min_p={min_p} target={target} decay={decay}"] = adaptive_p(
            ll, target, decay, seed, min_p)
    return {"llama_cpp_python": ll.__version__, "command": "python scripts/llama_cpp_fixtures.py",
            "vocab": V, "cases": cases}


def main() -> int:
    try:
        data = record_all()
    except ImportError:
        print("error: llama_cpp is not importable; build it first: pip install --no-deps "
              "--no-binary :all: llama-cpp-python==0.3.36", file=sys.stderr)
        return 2
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data['cases'])} cases, llama-cpp-python "
          f"{data['llama_cpp_python']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
