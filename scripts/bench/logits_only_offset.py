"""`python run.py ...` with alpha's attention terms replaced by constants: the logits-only alpha a
vLLM logits processor could compute (docs/scaling.md, "A logits-only alpha for vLLM").

    python scripts/bench/logits_only_offset.py --h-attn 0.568 --vh-attn 0.168 -- run.py ARGS...

alpha = w_tok_H * H_tok + w_tok_VH * VH_tok + w_attn_H * h_attn + w_attn_VH * vh_attn, with the
two attention terms fixed at the given values (e.g. their means over a full-alpha run, printed
by scripts/bench/logits_only_gap.py). The engine still captures attention (the sampler asks for it),
but the sampler does not read it. Same seeds, so runs pair with the full-alpha run prompt by
prompt. A measurement harness: it patches `alpha.sampler.alpha_terms` in this process only, and
the run's fingerprint cannot tell it apart from full alpha. Use a run folder of its own.
"""

from __future__ import annotations

import argparse
import runpy
import sys

import torch

import alpha.sampler as sampler  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--h-attn", type=float, required=True, help="constant normalised attention entropy")
    ap.add_argument("--vh-attn", type=float, required=True, help="constant normalised attention varentropy")
    ap.add_argument("run", nargs=argparse.REMAINDER, help="-- run.py ARGS...")
    args = ap.parse_args()
    run = [a for a in args.run if a != "--"]
    if not run or not run[0].endswith("run.py"):
        ap.error("give the runner after --: -- run.py ARGS...")
    original = sampler.alpha_terms

    def constant_attention(x, attention, key_mask, cfg):
        comps = original(x, None, None, cfg)  # token terms only; attention terms 0
        h = torch.full_like(comps.h_tok, args.h_attn)
        vh = torch.full_like(comps.h_tok, args.vh_attn)
        w = cfg.weights()
        return sampler.AlphaComponents(comps.alpha + w[2] * h + w[3] * vh, comps.h_tok,
                                       comps.vh_tok, h, vh)

    sampler.alpha_terms = constant_attention
    sys.argv = run
    runpy.run_path(run[0], run_name="__main__")


if __name__ == "__main__":
    main()
