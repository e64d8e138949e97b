"""DRY, "don't repeat yourself" (llama.cpp's `dry`, from koboldcpp PR 982), batched by rows.

For each row, over its last `penalty_last_n` real tokens (prompt included, as llama.cpp's server
accepts the prompt into the sampler) h_0 .. h_{L-1}:

1. restart limit: the newest sequence breaker in the window (a token that is a single-token
   breaker, or a head token followed by its tail tokens) caps how far back a repeat may reach:
   rep_limit = its distance from the end minus the tail's length (no breaker: L). Below
   `allowed_length` nothing is penalised.
2. for every earlier position j, n_j = the length of the longest common suffix of h_0..h_j and
   h_0..h_{L-1} (at most rep_limit);
3. the token h_{j+1} that followed such a suffix would extend the repeat: it gets the largest
   n_j >= allowed_length over its occurrences;
4. its logit drops by multiplier · base^(n - allowed_length) (the exponent capped where
   base^x would overflow float32), except for single-token breakers.

Sequence breakers are strings (llama.cpp's defaults: newline, colon, double quote, asterisk),
turned into token sequences from the tokenizer as llama.cpp does it: a token whose text contains
the whole string is a single-token breaker; a token whose text ends with the string's beginning
is a head whose tail is the tokenisation of the rest (at most 20 tokens).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from transformers import TemperatureLogitsWarper

from alpha import validation as V
from alpha.baselines import ProcessorSampler, _register, _temp
from alpha.protocol import SamplerStep

DEFAULT_BREAKERS = ("\n", ":", '"', "*")
FLOAT_MAX_LOG = 88.7228391  # log of float32's largest value (llama.cpp's cap on the exponent)
MAX_CHARS, MAX_TAIL = 40, 20

Breakers = dict[int, list[tuple[int, ...]]]  # head token -> its tails (() = single-token breaker)


def process_breakers(tokenizer, strings, max_tail: int = MAX_TAIL) -> Breakers:
    """llama.cpp's `get_overlapping_token_sequences` for every breaker string, on `tokenizer`."""
    words = [tokenizer.decode([i]) for i in range(len(tokenizer))]
    out: Breakers = {}
    for s in strings:
        s = s[:MAX_CHARS]
        if not s:
            raise ValueError("sampler.sequence_breakers has an empty string; drop it")
        before = sum(map(len, out.values()))
        for tid, word in enumerate(words):
            if s in word:
                _add(out, tid, ())
                continue
            pos = word.find(s[0])
            while pos != -1:
                i = 1
                while i < len(s) and pos + i < len(word) and word[pos + i] == s[i]:
                    i += 1
                if i == len(s) or pos + i == len(word):  # the word ends inside the string
                    tail = tokenizer.encode(s[i:], add_special_tokens=False)[:max_tail]
                    _add(out, tid, tuple(tail))
                pos = word.find(s[0], pos + 1)
        if sum(map(len, out.values())) == before:
            raise ValueError(f"sampler.sequence_breakers: {s!r} matches no token of this "
                             "tokenizer's vocabulary; drop it or use another string")
    return out


def _add(out: Breakers, head: int, tail: tuple[int, ...]) -> None:
    if tail not in out.setdefault(head, []):
        out[head].append(tail)


def rep_limit(h: list[int], breakers: Breakers) -> int:
    """How far back a repeat may reach: stops at the newest complete breaker in `h`."""
    n = len(h)
    for i in range(n):  # i tokens from the end
        tails = breakers.get(h[n - 1 - i])
        if not tails:
            continue
        longest = -1
        for tail in tails:
            k = len(tail)
            if longest < k <= i and all(tail[o] == h[n - i + o] for o in range(k)):
                longest = k
        if longest >= 0:
            return i - longest
    return n


def max_repeats(h: list[int], limit: int, allowed: int) -> dict[int, int]:
    """token -> the longest repeat (>= allowed) that emitting it would extend (steps 2 and 3)."""
    a = np.asarray(h)
    n = len(a)
    out: dict[int, int] = {}
    rev = a[::-1]  # rev[m] = h[n-1-m]
    for j in range(n - 1):  # the suffix ending at position j
        k = n - 1 - j
        same = rev[:n - k] == rev[k:]  # h[n-1-m] == h[j-m] for m < j + 1
        run = int(np.argmin(same)) if not same.all() else len(same)
        length = min(run, limit)
        if length >= allowed:
            tok = int(a[j + 1])
            out[tok] = max(out.get(tok, 0), length)
    return out


def dry_penalties(h: list[int], *, multiplier: float, base: float, allowed: int,
                  last_n: int, breakers: Breakers) -> dict[int, float]:
    """token -> the amount DRY subtracts from its logit, for one row's history `h`."""
    h = h[-last_n:]
    if len(h) <= allowed:
        return {}
    limit = rep_limit(h, breakers)
    if limit < allowed:
        return {}
    cap = int(FLOAT_MAX_LOG / math.log(base)) if base > 1.000001 else 0
    out = {}
    for tok, length in max_repeats(h, limit, allowed).items():
        if () in breakers.get(tok, []):
            continue  # a single-token breaker is never penalised
        exp = length - allowed
        if cap > 0 and exp > cap:
            exp = cap
        out[tok] = multiplier * base ** exp
    return out


class DRYSampler:
    """DRY in front of a temperature draw (module docstring); one history per row, read from
    the engine's `input_ids` and `key_mask` (padding is not history).

    Args:
        multiplier: penalty scale, > 0 (llama.cpp: 0 = off; suggested 0.8).
        base: growth per extra repeated token, >= 1 (suggested 1.75).
        allowed_length: repeats this long go unpenalised, >= 1 (suggested 2).
        penalty_last_n: how many trailing tokens are searched, >= 1.
        sequence_breakers: strings that end a repeat's reach.
        temperature: applied after the penalty, > 0.
    """

    needs_attention = False

    def __init__(self, multiplier: float = 0.8, base: float = 1.75, allowed_length: int = 2,
                 penalty_last_n: int = 512, sequence_breakers=DEFAULT_BREAKERS,
                 temperature: float = 1.0):
        self.multiplier = float(V.number("sampler.multiplier", multiplier, low=0.0, low_open=True))
        self.base = float(V.number("sampler.base", base, low=1.0))
        self.allowed = V.whole("sampler.allowed_length", allowed_length, low=1)
        self.last_n = V.whole("sampler.penalty_last_n", penalty_last_n, low=1)
        if isinstance(sequence_breakers, str) or not isinstance(sequence_breakers, (list, tuple)) \
                or not all(isinstance(s, str) and s for s in sequence_breakers):
            raise ValueError(f"sampler.sequence_breakers={sequence_breakers!r} is invalid: use a "
                             "list of non-empty strings, e.g. ['\\n', ':', '\"', '*']")
        self.strings = tuple(sequence_breakers)
        self.breakers: Breakers | None = None if self.strings else {}
        self._source = None
        self.temperature = _temp(temperature)
        self.draw = ProcessorSampler([TemperatureLogitsWarper(self.temperature)],
                                     {"temperature": self.temperature})

    def bind_tokenizer(self, tokenizer) -> None:
        """Turn the breaker strings into token sequences (once per tokenizer; the engine calls
        it). A breaker that no token of the vocabulary can spell is refused in one line."""
        if self._source is not tokenizer:
            self.breakers = process_breakers(tokenizer, self.strings)
            self._source = tokenizer

    def reset(self, batch_size: int) -> None:
        pass

    def select_rows(self, index: torch.Tensor) -> None:
        pass

    def penalised(self, logits: torch.Tensor, input_ids: torch.Tensor,
                  key_mask: torch.Tensor | None) -> torch.Tensor:
        """`(B, V)` logits with each row's DRY penalties subtracted (a new tensor)."""
        if self.breakers is None:
            raise ValueError("DRY needs the tokenizer for its sequence breakers: call "
                             "sampler.bind_tokenizer(tokenizer) (alpha.generate does)")
        out = logits.float().clone()
        ids = input_ids.tolist()
        real = None if key_mask is None else key_mask[:, -input_ids.shape[1]:].tolist()
        for r, row in enumerate(ids):
            h = row if real is None else [t for t, ok in zip(row, real[r], strict=True) if ok]
            pen = dry_penalties(h, multiplier=self.multiplier, base=self.base,
                                allowed=self.allowed, last_n=self.last_n, breakers=self.breakers)
            if pen:
                toks = torch.tensor(list(pen), device=out.device)
                out[r, toks] -= torch.tensor(list(pen.values()), device=out.device)
        return out

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        x = self.penalised(logits, input_ids, key_mask)
        res = self.draw.step(x, input_ids, generators=generators)
        res.trace["dry_penalised"] = (x < logits.float()).sum(-1).float()
        return SamplerStep(tokens=res.tokens, trace=res.trace)


@_register("dry")
def build_dry(multiplier: float = 0.8, base: float = 1.75, allowed_length: int = 2,
              penalty_last_n: int = 512, sequence_breakers=DEFAULT_BREAKERS,
              temperature: float = 1.0) -> DRYSampler:
    return DRYSampler(multiplier, base, allowed_length, penalty_last_n, sequence_breakers,
                      temperature)
