"""Record transformers 4.x's own contrastive search as test fixtures (tests/fixtures/contrastive/).

    python -m venv --system-site-packages /tmp/hf4 && /tmp/hf4/bin/pip install transformers==4.46.3
    /tmp/hf4/bin/python scripts/contrastive_fixtures.py        # rewrites the fixture file

transformers 5 removed contrastive search from `generate` (it lives on the Hub now); 4.46.3,
from the package index, still runs it (`_contrastive_search`, `_ranking_fast`). This script
imports nothing from alpha (alpha needs transformers 5): it builds tiny Qwen2 and Llama models
whose weights are set by `seeded_model` (numpy's seeded normals, parameter by parameter in name
order, so both transformers versions build the same model), runs `generate(penalty_alpha=α,
top_k=k)` on a left-padded batch of token-id prompts and records each row's tokens up to and
including the first EOS. tests/test_contrastive.py rebuilds the same models with
`seeded_model` and compares alpha's contrastive search with the record token for token.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "contrastive" / "hf_contrastive.json"
VOCAB, EOS, PAD = 96, 56, 1  # EOS: a token these models draw, so rows end at different steps
PROMPTS = [[12, 40, 7, 33, 90], [3, 3, 61, 18, 25, 77, 40, 9, 52], [88, 14, 14, 60, 2, 71, 30]]
CASES = [("qwen2", 0.6, 4), ("qwen2", 0.3, 6), ("llama", 0.6, 4), ("llama", 0.8, 2)]
NEW_TOKENS = 24


def seeded_model(arch: str, seed: int = 0):
    """A 2-layer float32 model (eager attention) with every parameter drawn from numpy's seeded
    normals in name order: norms 1 + 0.1 z, the output layer 1.5 z (peaked next-token
    distributions), everything else 0.2 z."""
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  bos_token_id=0, eos_token_id=EOS, pad_token_id=PAD, tie_word_embeddings=False)
    cfg = (Qwen2Config if arch == "qwen2" else LlamaConfig)(**common)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            z = torch.from_numpy(rng.standard_normal(tuple(p.shape))).float()
            p.copy_(1.0 + 0.1 * z if "norm" in name else (1.5 if "lm_head" in name else 0.2) * z)
    return model.eval()


def left_padded(prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, prompts))
    ids = torch.tensor([[PAD] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    return ids, mask


def record() -> dict:
    import transformers

    ids, mask = left_padded(PROMPTS)
    cases = []
    for arch, alpha, k in CASES:
        model = seeded_model(arch)
        out = model.generate(ids, attention_mask=mask, penalty_alpha=alpha, top_k=k,
                             max_new_tokens=NEW_TOKENS, eos_token_id=EOS, pad_token_id=PAD,
                             do_sample=False)
        rows = []
        for row in out[:, ids.shape[1]:].tolist():
            rows.append(row[:row.index(EOS) + 1] if EOS in row else row)
        cases.append({"arch": arch, "penalty_alpha": alpha, "top_k": k, "tokens": rows})
    return {"source": f"transformers {transformers.__version__} generate(penalty_alpha, top_k), "
                      f"torch {torch.__version__}",
            "command": "python scripts/contrastive_fixtures.py (under transformers 4.46.3)",
            "vocab": VOCAB, "eos": EOS, "pad": PAD, "prompts": PROMPTS,
            "new_tokens": NEW_TOKENS, "cases": cases}


def main() -> int:
    data = record()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} ({len(data['cases'])} cases; {data['source']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
