"""Per run: mean of the adaptive sampler's traced parameters over every generated token, and how
much punctuation the texts carry (vs the human continuations), for experiments/quality_gap/.
With --reference RUN[,RUN2] (folder names among the runs): the paired difference in punctuation per
100 words (pooled over prompts, paired bootstrap CI and sign-flip permutation p, as
make_tables.py does for rep-n) of every other run against it.

    PYTHONPATH=. python experiments/quality_gap/summarise.py multirun/quality_gap/*
    PYTHONPATH=. python experiments/quality_gap/summarise.py D/top_p D/alpha --reference top_p,alpha
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

from alpha.evaluation.paired import align, paired_pooled

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


def punct_components(run: Path) -> tuple[list[int], np.ndarray]:
    """Prompt indices and `(n, 2)` [punctuation marks, words] per prompt."""
    rows = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    comps = np.array([[len(PUNCT.findall(r["text"])), len(r["text"].split())] for r in rows])
    return [r["index"] for r in rows], comps


def punct_diff(run: Path, ref: Path) -> str:
    """Δ punctuation per 100 words, run - ref, paired over prompts: 'Δ [CI] (perm p)'."""
    ia, ca = punct_components(run)
    ib, cb = punct_components(ref)
    pa, pb = align(ia, ib)
    r = paired_pooled(ca[pa], cb[pb], lambda s: 100 * s[:, 0] / s[:, 1])
    return f"{r.diff:+.2f} [{r.ci95[0]:+.2f}, {r.ci95[1]:+.2f}] (perm p {r.perm_p:.3g}, n {r.n})"


def main(argv: list[str]) -> int:
    ref = None
    if "--reference" in argv:
        at = argv.index("--reference")
        ref, argv = argv[at + 1], argv[:at] + argv[at + 2:]
    paths = argv
    results = {Path(p).name: summarise(Path(p)) for p in paths}
    by_name = {Path(p).name: Path(p) for p in paths}
    for one in ref.split(",") if ref else []:
        if one not in by_name:
            raise SystemExit(f"--reference {one!r} is not one of the runs {sorted(by_name)}")
        for name, path in by_name.items():
            results[name][f"Δ punct vs {one}"] = ("-" if name == one
                                                  else punct_diff(path, by_name[one]))
    cols = list(dict.fromkeys(k for r in results.values() for k in r))
    print("| run | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    return 0


def _cell(v) -> str:
    return "-" if v is None else v if isinstance(v, str) else f"{v:.3f}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
