"""Batched, KV-cached decoding that drives any `TokenSampler`.

One explicit loop: left-pad the prompts, prefill once into a `DynamicCache`, then feed one
token per row per step with the right attention mask and position ids. When the sampler needs
attention, `AttentionCapture` supplies the last query's attention row (`(B, H, S)`) from the
chosen layer(s) while the model keeps running SDPA. Rows that finish (EOS, stop string or
length) are pruned from the batch, the cache and the sampler (`select_rows`).

Scores: the engine also keeps each generated token's log-probability under the model's raw
next-token distribution (float32 `log_softmax` of the logits, before any sampler warping: no
temperature, penalty or filtering), one logsumexp and one gather per step. `perplexity` reads
them instead of running the model again (`evaluation.options.perplexity_source`).

Reproducibility: row i draws only from its own `torch.Generator`, seeded by `row_seed(seed,
prompt_index)` = the first 8 bytes (little endian, top bit cleared) of
`sha256(f"{seed}:{prompt_index}")`. A prompt's text therefore does not depend on its batch or
its batch-mates (up to float rounding of padded batched matmuls, see docs/performance.md).

Shared prefix: a batch whose prompts share >= 32 leading tokens (a few-shot prompt) prefills
that prefix once and each row's suffix after it (`alpha.shared_prefix`; `prefix_cache=False`
turns it off).

This module knows nothing about how a sampler chooses tokens.
"""

from __future__ import annotations

import hashlib
import inspect
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache, StaticCache

from alpha.attention_capture import AttentionCapture, Capture
from alpha.padding import left_pad
from alpha.protocol import TokenSampler
from alpha.shared_prefix import prefill, prefix_cache_supported, shared_prefix_length
from alpha.uncertainty import (
    attention_entropy_varentropy,
    sanitize_logits,
    token_entropy_varentropy,
)

FINISH_REASONS = ("eos", "stop", "length")
CACHE_IMPLEMENTATIONS = ("dynamic", "static")


@dataclass
class GenerationResult:
    """What `generate` returns, one entry per prompt in input order.

    Attributes:
        texts: generated text (special tokens skipped; cut before a stop string).
        token_ids: generated token ids (the EOS token included when one ended the row).
        finish_reasons: "eos", "stop" or "length" per prompt.
        traces: per prompt, trace name -> one float per generated token (see `TRACE_KEYS`).
        prompt_lengths: prompt length in tokens (after chat template and truncation).
        prompt_indices: the index each prompt's generator was seeded with.
        timing: `wall_time_s`, `generated_tokens`, `tokens_per_s` for the whole call.
        token_logprobs: per prompt, log p(token | prompt, earlier tokens) in nats of each id in
            `token_ids` (EOS and stop-string tokens included), under the raw model logits;
            None when `generate(record_logprobs=False)`.
    """

    texts: list[str]
    token_ids: list[list[int]]
    finish_reasons: list[str]
    traces: list[dict[str, list[float]]]
    prompt_lengths: list[int]
    prompt_indices: list[int]
    timing: dict[str, float] = field(default_factory=dict)
    token_logprobs: list[list[float]] | None = None


# ---------------------------------------------------------------- seeds and small helpers


def row_seed(seed: int, prompt_index: int) -> int:
    """63-bit seed of one row's generator, a pure function of `(seed, prompt_index)`."""
    digest = hashlib.sha256(f"{seed}:{prompt_index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def row_generators(seed: int, indices: Sequence[int], device) -> list[torch.Generator]:
    """One generator per row on `device`, seeded by `row_seed(seed, index)`."""
    gens = []
    for i in indices:
        g = torch.Generator(device=device)
        g.manual_seed(row_seed(seed, int(i)))
        gens.append(g)
    return gens


def eos_token_ids(model, tokenizer) -> list[int]:
    """All ids that end a row: `generation_config.eos_token_id` (int or list), else the
    tokenizer's EOS; empty when neither exists (rows then stop only at the length limit)."""
    gc = getattr(model, "generation_config", None)
    eos = getattr(gc, "eos_token_id", None) if gc is not None else None
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return []
    return [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])]


def pad_token_id(tokenizer) -> int:
    """The id used for left padding (padded positions are masked out, so any id is safe)."""
    if tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    if tokenizer.eos_token_id is not None:
        warnings.warn(f"tokenizer has no pad token; padding with its EOS token id "
                      f"{tokenizer.eos_token_id} (padded positions are masked out)", stacklevel=3)
        return int(tokenizer.eos_token_id)
    warnings.warn("tokenizer has neither a pad nor an EOS token; padding with id 0 "
                  "(padded positions are masked out)", stacklevel=3)
    return 0


def context_length(model) -> int | None:
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    n = getattr(cfg, "max_position_embeddings", None)
    return n if isinstance(n, int) and n > 0 else None


def _forward_kwargs(model, cache) -> dict:
    """Cache keyword (`cache` in transformers >= 5.x, else `past_key_values`) and
    `logits_to_keep=1` where supported (prefill then computes one row of logits, not T)."""
    params = inspect.signature(model.forward).parameters
    kw = {"cache" if "cache" in params else "past_key_values": cache, "use_cache": True}
    if "logits_to_keep" in params:
        kw["logits_to_keep"] = 1
    return kw


# ---------------------------------------------------------------- input checks and encoding


def check_vocab(model, tokenizer) -> None:
    """Refuse a tokenizer whose ids the model cannot embed."""
    n_emb = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > n_emb:
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens but the model embeds only {n_emb}; "
                         f"load the tokenizer that belongs to this model")


def encode_prompts(tokenizer, prompts: Sequence[str], *, chat_template: bool = False,
                   max_prompt_tokens: int | None = None) -> list[list[int]]:
    """Token ids of each prompt (chat template applied when asked and available), truncated
    from the left to `max_prompt_tokens` with a warning."""
    if isinstance(prompts, str) or not isinstance(prompts, Sequence) or len(prompts) == 0:
        raise ValueError(f"prompts={prompts!r:.60} must be a non-empty list of strings")
    use_template = chat_template and bool(getattr(tokenizer, "chat_template", None))
    if chat_template and not use_template:
        warnings.warn("chat_template=True but the tokenizer has no chat template; "
                      "using the raw prompts", stacklevel=3)
    if max_prompt_tokens is not None and isinstance(getattr(tokenizer, "deprecation_warnings", None),
                                                    dict):
        # prompts are cut to max_prompt_tokens below (with our own warning): transformers'
        # "Token indices sequence length is longer than ..." line would be noise (it is shown
        # once per tokenizer; marking it shown is transformers' own switch)
        tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
    encoded = []
    for i, p in enumerate(prompts):
        if not isinstance(p, str) or not p.strip():
            raise ValueError(f"prompts[{i}]={p!r:.40} is empty or whitespace-only; "
                             f"give it text or drop it")
        if use_template:
            p = tokenizer.apply_chat_template([{"role": "user", "content": p}],
                                              add_generation_prompt=True, tokenize=False)
            ids = tokenizer(p, add_special_tokens=False)["input_ids"]
        else:
            ids = tokenizer(p)["input_ids"]
        if not ids:
            raise ValueError(f"prompts[{i}]={p!r:.40} encodes to no tokens; give it other text")
        if max_prompt_tokens is not None and len(ids) > max_prompt_tokens:
            warnings.warn(f"prompts[{i}] has {len(ids)} tokens; keeping its last "
                          f"{max_prompt_tokens} so prompt + max_new_tokens fits the model's "
                          f"context", stacklevel=3)
            ids = ids[-max_prompt_tokens:]
        encoded.append(list(ids))
    return encoded


def resolve_sampler(sampler, sampler_config) -> TokenSampler:
    if sampler is not None and sampler_config is not None:
        raise ValueError("give either sampler= or sampler_config=, not both")
    if sampler is not None:
        if not isinstance(sampler, TokenSampler):
            raise ValueError(f"sampler={type(sampler).__name__} does not implement TokenSampler "
                             f"(needs_attention, reset, select_rows, step)")
        return sampler
    from alpha.config import SamplerConfig
    from alpha.sampler import AdaptiveEntropixSampler

    return AdaptiveEntropixSampler(sampler_config if sampler_config is not None else SamplerConfig())


# ---------------------------------------------------------------- the decode loop


@dataclass
class _Batch:
    """Live decoding state of the rows still running; every tensor has B' rows."""

    rows: torch.Tensor  # (B',) int64 position of each live row in the batch's input order
    ids: torch.Tensor  # (B', T) prompt + generated
    mask: torch.Tensor  # (B', T) 1 = real token
    pos: torch.Tensor  # (B',) position id of the last token
    trace: torch.Tensor | None  # (B', K, max_new_tokens) float32, filled up to the step
    gens: list[torch.Generator]
    logprob: torch.Tensor | None = None  # (B', max_new_tokens) float32, filled up to the step

    def select(self, keep: torch.Tensor) -> None:
        self.rows, self.ids, self.mask, self.pos = (
            self.rows[keep], self.ids[keep], self.mask[keep], self.pos[keep])
        self.trace = None if self.trace is None else self.trace[keep]
        self.logprob = None if self.logprob is None else self.logprob[keep]
        self.gens = [self.gens[i] for i in keep.tolist()]

    def record_logprobs(self, step: int, logits: torch.Tensor, tokens: torch.Tensor) -> None:
        """Each row's chosen token's log-probability under the raw logits, when kept."""
        if self.logprob is not None:  # raw logits (samplers never write into them): no warping
            self.logprob[:, step] = token_logprobs(logits, tokens)


class _Finisher:
    """Decides which rows are done after a step and stores their outputs."""

    def __init__(self, tokenizer, eos: list[int], stop_strings, prompt_len: int, device):
        self.tokenizer, self.prompt_len = tokenizer, prompt_len
        self.eos = torch.tensor(eos or [-1], dtype=torch.long, device=device)
        self.stops = [s for s in (stop_strings or []) if s]
        self.tail = max((len(s) for s in self.stops), default=0) + 4
        # row -> (ids, reason, trace (K, n) | None, log-probs (n,) | None)
        self.out: dict[int, tuple[list[int], str, list[list[float]] | None,
                                  list[float] | None]] = {}

    def done(self, b: _Batch, tokens: torch.Tensor, last_step: bool) -> tuple[torch.Tensor, list]:
        """`(B',)` bool of rows that finished and the reason of each row (None if running)."""
        is_eos = torch.isin(tokens, self.eos)  # (B',)
        reasons = ["eos" if e else None for e in is_eos.tolist()]
        if self.stops:
            start = max(self.prompt_len, b.ids.shape[1] - self.tail)  # generated tokens only
            for i, r in enumerate(reasons):
                tail = self.tokenizer.decode(b.ids[i, start:].tolist(), skip_special_tokens=True)
                if r is None and any(s in tail for s in self.stops):
                    reasons[i] = "stop"
        if last_step:
            reasons = [r or "length" for r in reasons]
        return torch.tensor([r is not None for r in reasons], device=tokens.device), reasons

    def retire(self, b: _Batch, tokens: torch.Tensor, last_step: bool) -> torch.Tensor | None:
        """Store the rows that finished with `tokens`; the rows to keep `(B'',)` (empty: all
        done), or None when every row runs on."""
        finished, reasons = self.done(b, tokens, last_step)
        if not finished.any():
            return None
        self.store(b, finished, reasons)
        return (~finished).nonzero().flatten()

    def store(self, b: _Batch, finished: torch.Tensor, reasons: list) -> None:
        for i in finished.nonzero().flatten().tolist():
            ids = b.ids[i, self.prompt_len:].tolist()
            trace = None if b.trace is None else b.trace[i, :, :len(ids)].tolist()
            lp = None if b.logprob is None else b.logprob[i, :len(ids)].tolist()
            self.out[int(b.rows[i])] = (ids, reasons[i], trace, lp)

    def text(self, ids: list[int], reason: str) -> str:
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        if reason == "stop":
            cut = min((text.find(s) for s in self.stops if s in text), default=len(text))
            text = text[:cut]
        return text


def _step_trace(trace: dict[str, torch.Tensor], n: int) -> tuple[list[str], torch.Tensor | None]:
    names = sorted(trace)
    if not names:
        return names, None
    return names, torch.stack([trace[k].float().reshape(n) for k in names], 1)  # (B', K)


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """`(B,)` log softmax(logits)[token] of each row: one logsumexp, one gather (no `(B, V)`
    log-softmax is written). logits: `(B, V)` float32 raw model logits; tokens: `(B,)` int64."""
    return logits.gather(1, tokens[:, None])[:, 0] - torch.logsumexp(logits, dim=-1)


def select_cache_rows(cache, keep: torch.Tensor) -> None:
    """Keep the cache rows `keep` `(B',)`: DynamicCache's own `batch_select_indices`; a
    StaticCache's layers (which have none) get new backing tensors of the kept rows, marked as
    static addresses again (a compiled decode step sees one more batch size)."""
    if isinstance(cache, DynamicCache):
        cache.batch_select_indices(keep)
        return
    for layer in cache.layers:
        if not getattr(layer, "is_initialized", False):
            continue
        layer.keys, layer.values = layer.keys[keep], layer.values[keep]
        layer.batch_size = int(keep.numel())
        if not torch.compiler.is_compiling():
            torch._dynamo.mark_static_address(layer.keys)
            torch._dynamo.mark_static_address(layer.values)


def compiled_decode(model, options: dict | None = None):
    """`_forward` with the model's forward `torch.compile`d (one per model and options, kept on
    the model): the decode step under a static cache, whose shapes change only when rows finish.
    `options` go to torch.compile (e.g. {"mode": "reduce-overhead"} for CUDA graphs, or a
    `backend`); default {"dynamic": True}."""
    opts = {"dynamic": True, **(options or {})}
    key = repr(sorted(opts.items(), key=lambda kv: kv[0]))
    cache = model.__dict__.setdefault("_alpha_compiled", {})
    if key not in cache:
        cache[key] = torch.compile(model.forward, **opts)
    fn = cache[key]

    def decode(model, **kw):
        with torch.no_grad():
            return fn(**kw)

    return decode


def _forward(model, **kw):
    """Model calls run without autograd; sampler steps do not (a solver may need gradients)."""
    with torch.no_grad():
        return model(**kw)


def step_signals(logits: torch.Tensor, attention: torch.Tensor | None,
                 key_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """The step's uncertainty, whatever the sampler (`record_signals`), each `(B,)` float32:
    `u_entropy` / `u_varentropy` of softmax(raw logits) in bits / bits², and `u_attn_entropy` /
    `u_attn_varentropy` of the captured attention row, normalised by log2 of the real keys
    (`alpha.uncertainty`). The adaptive sampler's alpha is a weighted sum of the four after
    dividing the first two by log2 V and (log2 V)²."""
    h, vh = token_entropy_varentropy(sanitize_logits(logits))
    out = {"u_entropy": h, "u_varentropy": vh}
    if attention is not None:
        ha, vha = attention_entropy_varentropy(attention, key_mask)
        out.update(u_attn_entropy=ha.to(h.device), u_attn_varentropy=vha.to(h.device))
    return out


def _generate_batch(model, tokenizer, seqs, indices, *, sampler, cap, seed, max_new_tokens,
                    eos, pad_id, stop_strings, streamer, prefix_cache, record_logprobs=True,
                    record_signals=False, cache_implementation="dynamic", decode_fn=None,
                    fixed_batch=False, branching=False):
    device = next(model.parameters()).device
    ids, mask = left_pad(seqs, pad_id, device)
    pos_ids = (mask.cumsum(-1) - 1).clamp(min=0)  # (B, T)
    decodes = getattr(sampler, "decodes", False)  # a decoder that needs the model (contrastive)
    b = _Batch(rows=torch.arange(len(seqs), device=device), ids=ids, mask=mask,
               pos=pos_ids[:, -1], trace=None,
               gens=[None] * len(seqs) if decodes else row_generators(seed, indices, device),
               logprob=ids.new_zeros(len(seqs), max_new_tokens, dtype=torch.float32)
               if record_logprobs else None)
    fin = _Finisher(tokenizer, eos, stop_strings, ids.shape[1], device)
    if decodes:
        from alpha.contrastive import TRACE, decode_batch

        rows_run = decode_batch(model, sampler, b, fin, forward=_forward,
                                cache_kwargs=_forward_kwargs, max_new_tokens=max_new_tokens,
                                streamer=streamer)
        return fin, list(TRACE), rows_run
    # branching: the model runs one row per distinct prompt / token history (`fork`); `src`
    # maps each sample row to its prefilled row, `rep` to its row in the model's batch
    model_seqs, src = _distinct(seqs, device) if branching else (seqs, None)
    rep = src
    max_len = ids.shape[1] + max_new_tokens
    cache = (StaticCache(config=model.config, max_cache_len=max_len)
             if cache_implementation == "static" else DynamicCache(config=model.config))
    extra = {**_forward_kwargs(model, cache),
             **(cap.forward_kwargs() if cap else {"output_attentions": False})}
    sampler.reset(len(seqs))
    p = (shared_prefix_length(model_seqs) if prefix_cache and prefix_cache_supported(model, cache)
         else 0)
    m_ids, m_mask, m_pos = ((ids, mask, pos_ids) if src is None else
                            (t[_firsts(src)] for t in (ids, mask, pos_ids)))
    out, shared = prefill(_forward, model, model_seqs, m_ids, m_mask, m_pos, prefix_len=p,
                          pad_id=pad_id, cache=cache, extra=extra, cap=cap)
    decode_rows, n_model = 0, len(model_seqs)  # rows the model ran in decode steps; its batch
    names: list[str] = []
    alive = torch.ones(len(seqs), dtype=torch.bool, device=device)  # fixed_batch's live rows
    for step in range(max_new_tokens):
        logits = out.logits[:, -1, :].float()  # (B', V)
        attention = cap.read(out) if cap else None  # (B', H, S)
        if attention is not None and attention.shape[-1] > b.mask.shape[1]:
            attention = attention[..., :b.mask.shape[1]]  # a static cache's unfilled columns
        if rep is not None:  # one model row per distinct history -> every sample row
            logits = logits[rep]
            attention = None if attention is None else attention[rep]
        if shared is not None and attention is not None:
            attention = shared.sampler_attention(attention, b.rows if src is None else src[b.rows])
        key_mask = b.mask.bool()
        signals = step_signals(logits, attention, key_mask) if record_signals else {}
        res = sampler.step(logits, b.ids, attention=attention, key_mask=key_mask,
                           generators=b.gens)
        tokens = res.tokens.to(device=device, dtype=torch.long).reshape(-1)  # (B',)
        b.record_logprobs(step, logits, tokens)
        names, st = _step_trace({**res.trace, **signals}, len(tokens))
        if st is not None:  # written into a (B', K, max_new_tokens) buffer: no per-step cat
            if b.trace is None:
                b.trace = st.new_zeros(st.shape[0], st.shape[1], max_new_tokens)
            b.trace[:, :, step] = st
        b.ids = torch.cat([b.ids, tokens[:, None]], 1)
        b.mask = torch.cat([b.mask, torch.ones_like(b.mask[:, :1])], 1)
        b.pos = b.pos + 1
        if streamer is not None:
            streamer.put(tokens.cpu())
        last = step == max_new_tokens - 1
        if fixed_batch:  # finished rows stay in the batch, running on unread: one shape
            finished, reasons = fin.done(b, tokens, last)
            finished = finished & alive
            if finished.any():
                fin.store(b, finished, reasons)
                alive = alive & ~finished
                if not bool(alive.any()):
                    break
        elif (keep := fin.retire(b, tokens, last)) is not None:
            if keep.numel() == 0:
                break
            b.select(keep)
            if rep is None:
                select_cache_rows(cache, keep)
            else:
                rep = rep[keep]
            sampler.select_rows(keep)
            tokens = tokens[keep]
        if cap:
            cap.clear()
        rows, pos = b.rows if src is None else src[b.rows], b.pos
        kv_mask = b.mask
        if rep is not None:  # fork: one model row per distinct (history, token)
            rep, parent, tokens, first = fork(rep, tokens, logits.shape[-1])
            if parent.shape[0] != n_model or not torch.equal(
                    parent, torch.arange(n_model, device=device)):  # no fork, no end: no copy
                select_cache_rows(cache, parent)
            n_model = parent.shape[0]
            rows, pos, kv_mask = rows[first], pos[first], kv_mask[first]
        if shared is not None:
            kv_mask = shared.model_mask(rows, kv_mask)
        if cache_implementation == "static":  # the buffer's full width: one shape every step
            kv_mask = torch.nn.functional.pad(kv_mask, (0, max_len - kv_mask.shape[1]))
        decode_rows += tokens.shape[0]
        out = (decode_fn or _forward)(model, input_ids=tokens[:, None], attention_mask=kv_mask,
                       position_ids=pos[:, None], **extra)
    if streamer is not None:
        streamer.end()
    return fin, names, decode_rows


def _distinct(seqs, device) -> tuple[list, torch.Tensor]:
    """The distinct prompts (first occurrence order) and, per row, its prompt's position."""
    first: dict[tuple, int] = {}
    where = [first.setdefault(tuple(q), len(first)) for q in seqs]
    return [list(q) for q in first], torch.tensor(where, dtype=torch.long, device=device)


def _firsts(group: torch.Tensor) -> torch.Tensor:
    """`(G,)` the first row of each group id 0..G-1 in `group` `(N,)`."""
    n = group.shape[0]
    out = torch.full((int(group.max()) + 1,), n, dtype=torch.long, device=group.device)
    return out.scatter_reduce(0, group, torch.arange(n, device=group.device), "amin")


def fork(rep: torch.Tensor, tokens: torch.Tensor, vocab: int
         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Regroup sample rows after a step: rows that were one model row (`rep` `(S,)`) and drew
    the same token stay one; rows that drew different tokens fork. Returns the new `rep` `(S,)`,
    each new model row's parent row `(U,)` (cache rows to keep, repeated where a row forks), its
    token `(U,)` and one sample row of it `(U,)`."""
    keys, new_rep = torch.unique(rep * vocab + tokens, return_inverse=True)  # sorted
    return new_rep, keys // vocab, keys % vocab, _firsts(new_rep)


def generate(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    sampler: TokenSampler | None = None,
    sampler_config=None,
    max_new_tokens: int = 256,
    seed: int = 0,
    prompt_indices: Sequence[int] | None = None,
    stop_strings: Sequence[str] | None = None,
    chat_template: bool = False,
    capture: Capture = "last",
    prefix_cache: bool = True,
    batch_size: int | None = None,
    streamer=None,
    ignore_eos: bool = False,
    record_logprobs: bool = True,
    record_signals: bool = False,
    cache_implementation: str = "dynamic",
    compile_decode: bool | dict = False,
    fixed_batch: bool = False,
    branching: bool = False,
) -> GenerationResult:
    """Generate a continuation of every prompt with a token sampler.

    Args:
        model: a Hugging Face causal LM (any dtype/device; the sampler gets float32 logits).
        tokenizer: its tokenizer (pad token optional: EOS is used, with a warning).
        prompts: non-empty list of non-blank strings.
        sampler: a `TokenSampler`; default `AdaptiveEntropixSampler(sampler_config)`.
        sampler_config: a `SamplerConfig` for the default sampler (not with `sampler`).
        max_new_tokens: > 0. Prompts are cut from the left (warning) so that prompt +
            max_new_tokens fits `max_position_embeddings`.
        seed: base seed; row generators come from `(seed, prompt_index)` (`row_seed`).
        prompt_indices: one int per prompt (default 0..N-1), e.g. dataset row ids, so a
            resumed or re-batched run gives the same text.
        stop_strings: a row stops once its generated text contains one (text cut before it).
        chat_template: wrap each prompt as a user turn with the tokenizer's chat template.
        capture: attention row for the sampler: "last" layer, a layer index, or
            ("mean_last", N) for the mean of the last N layers.
        prefix_cache: when a batch's prompts share >= `MIN_SHARED_PREFIX` leading tokens, run
            them once (batch 1) and prefill only each row's suffix (same tokens up to float
            rounding; automatic fallback where unsupported, see `prefix_cache_supported`).
        batch_size: prompts per forward batch (default: all at once).
        streamer: a transformers streamer (`put`/`end`), only with a single prompt.
        ignore_eos: never stop at EOS (benchmarks: every row generates max_new_tokens).
        record_logprobs: keep each generated token's raw-logit log-probability
            (`token_logprobs`; one logsumexp + gather per step). False: `token_logprobs` None.
        record_signals: add the step's uncertainty to every row's trace whatever the sampler
            (`step_signals`: token entropy/varentropy and, through the attention capture this
            turns on, attention entropy/varentropy), for analyses from traces alone (issue 27).
            The tokens do not change.
        cache_implementation: "dynamic" (transformers' DynamicCache, grown by concatenation)
            or "static" (StaticCache: buffers of prompt + max_new_tokens allocated once and
            written in place, what a compiled or CUDA-graph decode step needs). Greedy tokens
            are the same; the shared-prefix prefill is off under "static" (one prefill per row).
        compile_decode: run each decode step's model forward (with the attention capture)
            `torch.compile`d: True, or a dict of torch.compile options (e.g. {"mode":
            "reduce-overhead"} on CUDA). Needs cache_implementation="static"; the prefill stays
            eager. The step traces as one graph on Llama, Qwen2 and Gemma3 (tests).
        fixed_batch: keep finished rows in the batch (their further tokens are never read)
            instead of dropping them, so every decode step has one shape: what a CUDA graph
            needs (one capture instead of one per batch size met). Costs their compute.
        branching: rows whose token histories are identical (k samples of one prompt, e.g. a
            gated sampler's shared greedy opening) run as one model row, forked (its cache row
            repeated) at the step where their tokens part: each distinct prefix is computed
            once. Tokens, traces and log-probs are those of the plain engine (every sample row
            keeps its own generator and sampler state); `timing["decode_rows"]` counts the
            rows the model ran in decode steps. Not with fixed_batch.

    Returns:
        GenerationResult, one entry per prompt in input order.

    >>> res = generate(model, tok, ["Once upon a time"], max_new_tokens=20, seed=0)  # doctest: +SKIP
    >>> res.texts[0], res.finish_reasons[0], res.traces[0]["temperature"][:3]       # doctest: +SKIP
    """
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens <= 0:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} must be a positive int (e.g. 256)")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
        raise ValueError(f"batch_size={batch_size!r} must be a positive int or None (all at once)")
    if not isinstance(prefix_cache, bool):
        raise ValueError(f"prefix_cache={prefix_cache!r} must be True or False")
    if cache_implementation not in CACHE_IMPLEMENTATIONS:
        raise ValueError(f"cache_implementation={cache_implementation!r} is unknown; choose one "
                         f"of {', '.join(CACHE_IMPLEMENTATIONS)}")
    if not isinstance(fixed_batch, bool):
        raise ValueError(f"fixed_batch={fixed_batch!r} must be True or False")
    if compile_decode is not False and cache_implementation != "static":
        raise ValueError("compile_decode needs cache_implementation='static' (a dynamic cache "
                         "changes shape every step); set both or neither")
    if not isinstance(branching, bool):
        raise ValueError(f"branching={branching!r} must be True or False")
    if branching and fixed_batch:
        raise ValueError("branching and fixed_batch both set: branching changes the model's "
                         "batch every step, fixed_batch keeps it fixed; set one of them")
    if not isinstance(record_signals, bool):
        raise ValueError(f"record_signals={record_signals!r} must be True or False")
    sampler = resolve_sampler(sampler, sampler_config)
    if getattr(sampler, "decodes", False):
        used = [name for name, on in (("record_signals", record_signals), ("branching", branching),
                                      ("fixed_batch", fixed_batch),
                                      ("compile_decode", compile_decode is not False),
                                      ("cache_implementation=static",
                                       cache_implementation == "static")) if on]
        if used:
            raise ValueError(f"sampler={type(sampler).__name__} runs its own decode loop; "
                             f"{', '.join(used)} is not available with it: leave it at the default")
    check_vocab(model, tokenizer)
    if hasattr(sampler, "bind_tokenizer"):  # e.g. alpha_lexical's exempt-token mask
        sampler.bind_tokenizer(tokenizer)
    ctx = context_length(model)
    if ctx is not None and max_new_tokens >= ctx:
        raise ValueError(f"max_new_tokens={max_new_tokens} leaves no room for a prompt in the "
                         f"model's context of {ctx} tokens; use max_new_tokens < {ctx}")
    seqs = encode_prompts(tokenizer, prompts, chat_template=chat_template,
                          max_prompt_tokens=None if ctx is None else ctx - max_new_tokens)
    indices = list(range(len(seqs))) if prompt_indices is None else [int(i) for i in prompt_indices]
    if len(indices) != len(seqs):
        raise ValueError(f"prompt_indices has {len(indices)} entries for {len(seqs)} prompts; "
                         f"give one index per prompt")
    if streamer is not None and len(seqs) != 1:
        raise ValueError(f"streamer needs exactly one prompt, got {len(seqs)}")
    eos, pad_id = [] if ignore_eos else eos_token_ids(model, tokenizer), pad_token_id(tokenizer)
    bs = batch_size or len(seqs)
    outs: list[tuple[list[int], str, dict[str, list[float]], str, list[float] | None]] = []
    t0, decode_rows = time.perf_counter(), 0
    cap = (AttentionCapture(model, capture) if sampler.needs_attention or record_signals
           else None)
    try:
        if cap:
            cap.install()
        for start in range(0, len(seqs), bs):
            chunk = slice(start, start + bs)
            fin, names, rows_run = _generate_batch(
                model, tokenizer, seqs[chunk], indices[chunk], sampler=sampler, cap=cap, seed=seed,
                prefix_cache=prefix_cache,
                max_new_tokens=max_new_tokens, eos=eos, pad_id=pad_id,
                stop_strings=stop_strings, streamer=streamer, record_logprobs=record_logprobs,
                record_signals=record_signals, cache_implementation=cache_implementation,
                decode_fn=None if compile_decode is False else compiled_decode(
                    model, None if compile_decode is True else compile_decode),
                fixed_batch=fixed_batch, branching=branching)
            decode_rows += rows_run
            for r in range(len(seqs[chunk])):
                ids, reason, trace, lp = fin.out[r]
                tr = {} if trace is None else {k: trace[j] for j, k in enumerate(names)}
                outs.append((ids, reason, tr, fin.text(ids, reason), lp))
    finally:
        if cap:
            cap.remove()
    wall = time.perf_counter() - t0
    n_tok = sum(len(o[0]) for o in outs)
    return GenerationResult(
        texts=[o[3] for o in outs], token_ids=[o[0] for o in outs],
        finish_reasons=[o[1] for o in outs], traces=[o[2] for o in outs],
        prompt_lengths=[len(s) for s in seqs], prompt_indices=indices,
        timing={"wall_time_s": wall, "generated_tokens": n_tok,
                "tokens_per_s": n_tok / wall if wall > 0 else 0.0, "decode_rows": decode_rows},
        token_logprobs=[o[4] for o in outs] if record_logprobs else None)
