"""Pilot for Study 1's dev objective: MAUVE of finished runs under three feature models, five
k-means seeds each (features computed once per run). Usage (README: the runs it read):
    python experiments/open_ended/pilot_mauve_features.py RUNS_DIR   # RUNS_DIR/<run>/generations.jsonl
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

from alpha.evaluation.embeddings import last_hidden_features, sentence_embeddings
from alpha.evaluation.mauve_score import mauve_from_features
from alpha.models import load_model_and_tokenizer

torch.set_num_threads(1)
runs = sorted(p for p in Path(sys.argv[1]).iterdir() if (p / "generations.jsonl").is_file())
rows = {p.name: [json.loads(line) for line in (p / "generations.jsonl").read_text().splitlines()] for p in runs}
home = Path.home() / ".cache/alpha-sampler/models"
gem = load_model_and_tokenizer(str(next(home.glob("gemma3-270m-*"))), device="cpu", dtype="float32")
smol = load_model_and_tokenizer(str(next(home.glob("smollm2-135m-*"))), device="cpu", dtype="float32")
refs = [r["reference"] for r in next(iter(rows.values()))]
feats = {"minilm": lambda t: sentence_embeddings("minilm", t, batch_size=16),
         "oracle": lambda t: last_hidden_features(gem[0], gem[1], t, batch_size=16, max_length=512),
         "generator": lambda t: last_hidden_features(smol[0], smol[1], t, batch_size=16, max_length=512)}
for feat, fn in feats.items():
    q = fn(refs)
    for name, recs in rows.items():
        p = fn([r["text"] for r in recs])
        vals = [mauve_from_features(p, q, seed=s).value for s in range(5)]
        print(feat, name, " ".join(f"{v:.3f}" for v in vals), f"mean {np.mean(vals):.3f} sd {np.std(vals, ddof=1):.3f}", flush=True)
