"""adaptive-p (llama.cpp's `adaptive_p`), batched, one moving average per row.

adaptive-p (llama.cpp's `adaptive_p`, ggml-org/llama.cpp PR 17927): each row keeps an
exponential moving average of the original probability of the tokens it drew. Its authors run
it last in a chain with mild truncation before it, "min-p before adaptive-p as the only other
active sampler" (llama.h; their quick start: `--samplers "min-p;adaptive-p" --min-p 0.05`): alone
over a whole vocabulary its transform gives the ~50k tail tokens (each at logit ~-5.4) more mass
than the few near the target (logit 5), and it draws word salad (the leaderboard's dev stage:
MAUVE 0.004-0.008 at every setting). So min-p (`min_p`, default 0.05; 0 = adaptive-p alone)
runs first, on the raw logits as llama.cpp's chain has it (HF's `MinPLogitsWarper`, the min_p
baseline's rule, itself checked against llama.cpp's min-p). At a step, with
p = softmax(kept logits / T):

    adapted = clip(2·target - weighted_sum / total_weight, 0, 1)     (target when no weight)
    logit'_i = 5 - 10·d² / (1 + d),  d = |p_i - adapted| / 0.3         (finite logits only)
    draw from softmax(logit'), then weighted_sum <- p_drawn + decay·weighted_sum,
                                      total_weight <- 1 + decay·total_weight

starting from weighted_sum = target / (1 - decay), total_weight = 1 / (1 - decay); decay must
lie in [0, 0.99] (llama.cpp clips it there; here a value outside is refused); a negative target
samples p unchanged. So a row that keeps drawing
probable tokens is pushed toward less probable ones, and the other way round.
"""

from __future__ import annotations

import torch
from transformers import MinPLogitsWarper

from alpha import validation as V
from alpha.baselines import _register, _temp, _trace, draw_multinomial
from alpha.protocol import SamplerStep

NEG_INF = float("-inf")
WIDTH, PEAK, SHARPNESS = 0.3, 5.0, 10.0  # llama.cpp's DISTRIBUTION_WIDTH, PEAK_LOGIT_VALUE, SHARPNESS


def adaptive_p_logits(p: torch.Tensor, finite: torch.Tensor, adapted: torch.Tensor) -> torch.Tensor:
    """`(B, V)` transformed logits: 5 - 10 d²/(1 + d), d = |p - adapted| / 0.3; -inf stays."""
    d = (p - adapted[:, None]).abs() / WIDTH
    return torch.where(finite, PEAK - SHARPNESS * d * d / (1.0 + d), NEG_INF)


class AdaptivePSampler:
    """adaptive-p with one EMA per row (module docstring).

    Args:
        target: target probability in [0, 1] (negative: plain sampling), llama.cpp's default 0.5.
        decay: EMA decay in [0, 0.99]; the history spans ~1 / (1 - decay) tokens (default 0.9).
        temperature: applied after min-p, > 0.
        min_p: llama.cpp's min-p before it (the authors' chain), in [0, 1]; 0 turns it off.
    """

    needs_attention = False

    def __init__(self, target: float = 0.5, decay: float = 0.9, temperature: float = 1.0,
                 min_p: float = 0.05):
        self.target = float(V.number("sampler.target", target, high=1.0))
        self.decay = float(V.number("sampler.decay", decay, low=0.0, high=0.99))
        self.temperature = _temp(temperature)
        self.min_p = float(V.number("sampler.min_p", min_p, low=0.0, high=1.0))
        self._min_p = MinPLogitsWarper(self.min_p) if self.min_p > 0 else None
        self.weighted_sum = self.total_weight = None

    def reset(self, batch_size: int) -> None:
        self.weighted_sum = torch.full((batch_size,), self.target / (1.0 - self.decay))
        self.total_weight = torch.full((batch_size,), 1.0 / (1.0 - self.decay))

    def select_rows(self, index: torch.Tensor) -> None:
        self.weighted_sum = self.weighted_sum[index.cpu()]
        self.total_weight = self.total_weight[index.cpu()]

    def adapted_target(self) -> torch.Tensor:
        """`(B,)` this step's target: 2·target - the EMA of drawn probabilities, clipped."""
        ema = self.weighted_sum / self.total_weight
        adapted = torch.where(self.total_weight == 0, torch.full_like(ema, self.target),
                              2.0 * self.target - ema)
        return adapted.clamp(0.0, 1.0)

    def transform(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(original p `(B, V)`, transformed logits `(B, V)`) for this step."""
        x = logits.float()
        if self._min_p is not None:  # min-p on the raw logits, before the temperature
            x = self._min_p(None, x)
        x = x / self.temperature
        p = torch.softmax(x, dim=-1)
        if self.target < 0:
            return p, x
        return p, adaptive_p_logits(p, torch.isfinite(x), self.adapted_target().to(x.device))

    def accept(self, p: torch.Tensor, tokens: torch.Tensor) -> None:
        """Fold the drawn tokens' original probabilities into each row's EMA."""
        if self.target < 0:
            return
        drawn = p.gather(1, tokens[:, None]).squeeze(1).cpu()
        self.weighted_sum = drawn + self.decay * self.weighted_sum
        self.total_weight = 1.0 + self.decay * self.total_weight

    def step(self, logits, input_ids, *, attention=None, key_mask=None, generators=None):
        if self.weighted_sum is None or self.weighted_sum.shape[0] != logits.shape[0]:
            self.reset(logits.shape[0])
        adapted = self.adapted_target()
        p, scores = self.transform(logits)
        tokens = draw_multinomial(scores, generators)
        self.accept(p, tokens)
        return SamplerStep(tokens=tokens, trace=_trace(scores, temperature=self.temperature,
                                                       adapted_target=adapted))


@_register("adaptive_p")
def build_adaptive_p(target: float = 0.5, decay: float = 0.9, temperature: float = 1.0,
                     min_p: float = 0.05):
    return AdaptivePSampler(target=target, decay=decay, temperature=temperature, min_p=min_p)
