"""Per run: mean of the adaptive sampler's traced parameters over every generated token, and how
much punctuation the texts carry (vs the human continuations), for experiments/quality_gap/.

    PYTHONPATH=. python experiments/quality_gap/summarise.py multirun/quality_gap/*
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

KEYS = ["temperature", "rep_penalty", "top_k", "top_p", "candidate_size", "final_entropy"]
PUNCT = re.compile(r"[.,;:!?]")


def summarise(run: Path) -> dict:
    rows = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    traced = {k: [v for r in rows for v in (r.get("trace") or {}).get(k, [])] for k in KEYS}
    out = {k: sum(v) / len(v) for k, v in traced.items() if v}
    words = sum(len(r["text"].split()) for r in rows)
    out["punct_per_100_words"] = 100 * sum(len(PUNCT.findall(r["text"])) for r in rows) / words
    refs = [r["reference"] for r in rows if r.get("reference")]
    if refs:  # human continuations (continuation datasets only)
        out["ref_punct_per_100_words"] = (100 * sum(len(PUNCT.findall(t)) for t in refs)
                                          / sum(len(t.split()) for t in refs))
    if traced["rep_penalty"]:
        out["share_penalty_gt_1.05"] = (sum(v > 1.05 for v in traced["rep_penalty"])
                                        / len(traced["rep_penalty"]))
    return out


def main(paths: list[str]) -> int:
    results = {Path(p).name: summarise(Path(p)) for p in paths}
    cols = list(dict.fromkeys(k for r in results.values() for k in r))
    print("| run | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(f"{r[c]:.3f}" if c in r else "-" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
