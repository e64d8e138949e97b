"""Mirostat v2 (Basu et al., arXiv 2007.14966; llama.cpp's `mirostat_v2`), batched, per-row μ.

Each row keeps a surprise budget μ (bits), starting at 2τ. A step, as llama.cpp's
`llama_sampler_mirostat_v2_apply` does it, on softmax(logits / T):

    keep the most probable tokens while their surprise -log2 p stays <= μ (at least one)
    renormalise, draw a token, observe its surprise s = -log2 p' under the renormalised p'
    μ <- μ - η (s - τ)

so a row that drew surprising tokens narrows its next kept set and a dull row widens it. The
draw uses the row's own generator (the engine's per-row seeds); llama.cpp draws with its own
RNG, so the reference test replays llama.cpp's choices and compares kept sets and μ (tests/).
"""

from __future__ import annotations

import torch

from alpha import validation as V
from alpha.baselines import _register, _temp, _trace, draw_multinomial
from alpha.protocol import SamplerStep

NEG_INF = float("-inf")


def mirostat_keep(logits: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """`(B, V)` bool: the tokens whose surprise -log2 p is <= μ, the most probable always.

    Sorted by probability the surprises ascend, so llama.cpp's "prefix until the first token
    above μ" is this set (tied tokens share a surprise and stay or go together).
    """
    logp = torch.log_softmax(logits.float(), dim=-1)  # (B, V)
    surprise = -logp / torch.log(torch.tensor(2.0))
    top = logp == logp.amax(-1, keepdim=True)
    return (surprise <= mu[:, None]) | top


class MirostatV2Sampler:
    """Mirostat v2 with one μ per row (see the module docstring).

    Args:
        tau: target surprise τ in bits, > 0 (llama.cpp's default 5.0).
        eta: learning rate η, >= 0 (default 0.1).
        temperature: applied first, > 0.
    """

    needs_attention = False

    def __init__(self, tau: float = 5.0, eta: float = 0.1, temperature: float = 1.0):
        self.tau = float(V.number("sampler.tau", tau, low=0.0, low_open=True))
        self.eta = float(V.number("sampler.eta", eta, low=0.0))
        self.temperature = _temp(temperature)
        self.mu: torch.Tensor | None = None

    def reset(self, batch_size: int) -> None:
        self.mu = torch.full((batch_size,), 2.0 * self.tau)

    def select_rows(self, index: torch.Tensor) -> None:
        self.mu = self.mu[index.to(self.mu.device)]

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """`(B, V)` this step's kept, temperature-scaled logits (-inf elsewhere)."""
        x = logits.float() / self.temperature
        return x.masked_fill(~mirostat_keep(x, self.mu.to(x.device)), NEG_INF)

    def update(self, scores: torch.Tensor, tokens: torch.Tensor) -> None:
        """μ <- μ - η (surprise of the drawn tokens under the renormalised kept set - τ)."""
        logp = torch.log_softmax(scores, dim=-1).gather(1, tokens[:, None]).squeeze(1)
        surprise = -logp / torch.log(torch.tensor(2.0))
        self.mu = self.mu - self.eta * (surprise.cpu() - self.tau)

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        if self.mu is None or self.mu.shape[0] != logits.shape[0]:
            self.reset(logits.shape[0])
        mu = self.mu.clone()  # the budget this step used (traced)
        scores = self.scores(logits)
        tokens = draw_multinomial(scores, generators)
        self.update(scores, tokens)
        return SamplerStep(tokens=tokens, trace=_trace(scores, temperature=self.temperature, mu=mu))


@_register("mirostat_v2")
def build_mirostat_v2(tau: float = 5.0, eta: float = 0.1, temperature: float = 1.0):
    return MirostatV2Sampler(tau=tau, eta=eta, temperature=temperature)
