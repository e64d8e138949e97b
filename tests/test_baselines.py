"""Baseline samplers against independent references.

- Processor baselines vs `model.generate` on a tiny model: same seed -> same tokens (generate
  draws with `torch.multinomial` from the global generator; a fresh `torch.Generator` seeded the
  same gives the same stream), and our filtered logits equal generate's processed `scores`
  step by step.
- EDT and dynatemp vs temperatures computed by hand with `math` on distributions whose entropy
  is known in closed form.
- Entropix rules: each quadrant on a hand-built distribution, each draw's distribution vs
  transformers' warpers with that action's parameters.
Bad inputs tried: unknown parameter names, out-of-range values (temperature 0, top_p 0 and 1.5,
top_k 0 and 2.5, typical_p 1, eta 1, epsilon 0, EDT n 1, negative dynatemp range, entropix
thresholds out of order), a generator list of the wrong length.
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import make_tiny_model
from transformers.generation.logits_process import (
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from alpha import build_sampler
from alpha.baselines import dynatemp_temperature, edt_temperature, scale_rows
from alpha.registry import SAMPLER_MAPPING
from alpha.uncertainty import entropy_varentropy

# sampler name, its params, the equivalent `generate` kwargs
CASES = [
    ("greedy", {}, dict(do_sample=False)),
    ("pure", {}, dict(do_sample=True)),
    ("temperature", dict(temperature=0.7), dict(do_sample=True, temperature=0.7)),
    ("top_k", dict(top_k=20, temperature=0.8), dict(do_sample=True, top_k=20, temperature=0.8)),
    ("top_p", dict(top_p=0.6, temperature=1.3), dict(do_sample=True, top_p=0.6, temperature=1.3)),
    ("min_p", dict(min_p=0.5, temperature=0.9), dict(do_sample=True, min_p=0.5, temperature=0.9)),
    ("typical", dict(typical_p=0.5, temperature=1.1),
     dict(do_sample=True, typical_p=0.5, temperature=1.1)),
    ("epsilon", dict(epsilon=2e-3, temperature=0.9),
     dict(do_sample=True, epsilon_cutoff=2e-3, temperature=0.9)),
    ("eta", dict(eta=5e-3), dict(do_sample=True, eta_cutoff=5e-3)),
    ("top_h", dict(top_h=0.3, temperature=0.9), dict(do_sample=True, top_h=0.3, temperature=0.9)),
]

N_NEW = 12


@pytest.fixture(scope="module")
def peaked_model():
    """A tiny Qwen2 with scaled-up output weights, so distributions are far from uniform and
    truncation really cuts (a random tiny model is nearly uniform over its 512 tokens)."""
    model = make_tiny_model("qwen2", seed=3)
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    return model


def _our_decode(model, sampler, prompt, seed, n_new):
    """A plain uncached decode loop driving the sampler; returns tokens and filtered scores."""
    ids, gens, scores, tokens = prompt.clone(), [torch.Generator().manual_seed(seed)], [], []
    sampler.reset(1)
    for _ in range(n_new):
        with torch.no_grad():
            logits = model(ids).logits[:, -1, :]  # (1, V)
        if hasattr(sampler, "filtered"):
            scores.append(sampler.filtered(logits, ids))
        tok = sampler.step(logits, ids, generators=gens).tokens  # (1,)
        tokens.append(int(tok))
        ids = torch.cat([ids, tok.view(1, 1)], dim=1)
        if int(tok) == model.generation_config.eos_token_id:
            break
    return tokens, scores


@pytest.mark.parametrize("name,params,hf", CASES, ids=[c[0] for c in CASES])
def test_matches_generate_tokens_and_scores(peaked_model, name, params, hf):
    prompt = torch.tensor([[5, 17, 42, 99, 7]])
    hf = {"top_k": 0, **hf}  # generate adds top_k=50 when sampling unless told otherwise
    for seed in (0, 1):
        torch.manual_seed(seed)
        out = peaked_model.generate(prompt, max_new_tokens=N_NEW, output_scores=True,
                                    return_dict_in_generate=True, **hf)
        want = out.sequences[0, prompt.shape[1]:].tolist()
        got, scores = _our_decode(peaked_model, build_sampler(name, **params), prompt, seed,
                                  N_NEW)
        assert got == want, f"{name} seed {seed}"
        for ours, theirs in zip(scores, out.scores, strict=False):
            assert torch.equal(torch.isfinite(ours), torch.isfinite(theirs))
            keep = torch.isfinite(theirs)
            torch.testing.assert_close(ours[keep], theirs[keep], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name,params,hf", CASES[2:], ids=[c[0] for c in CASES[2:]])
def test_truncation_really_cuts_and_trace(peaked_model, name, params, hf):
    """Guard against a vacuous match: on the peaked model the warpers remove tokens."""
    prompt = torch.tensor([[5, 17, 42]])
    with torch.no_grad():
        logits = peaked_model(prompt).logits[:, -1, :]
    before = logits.clone()
    step = build_sampler(name, **params).step(logits, prompt, generators=None)
    assert torch.equal(logits, before)  # not modified in place
    assert step.trace["temperature"].item() == pytest.approx(params.get("temperature", 1.0))
    if name != "temperature":
        assert step.trace["candidate_size"].item() < logits.shape[-1]
    assert 0.0 <= step.trace["final_entropy"].item() <= 1.0


@pytest.mark.parametrize("name,params,hf", [CASES[4], CASES[5]], ids=["top_p", "min_p"])
def test_engine_matches_generate_per_row_seed(peaked_model, tiny_tokenizer, name, params, hf):
    """Through alpha.generate (KV cache, per-row generators seeded by row_seed(seed, index)):
    each prompt's tokens equal generate's after torch.manual_seed(row_seed(seed, index))."""
    from alpha.generation import generate, row_seed

    prompts = ["To be, or not", "The king is dead", "Once upon"]
    res = generate(peaked_model, tiny_tokenizer, prompts, sampler=build_sampler(name, **params),
                   max_new_tokens=N_NEW, seed=7, batch_size=1)
    for i, prompt in enumerate(prompts):
        ids = tiny_tokenizer(prompt, return_tensors="pt").input_ids
        torch.manual_seed(row_seed(7, i))
        out = peaked_model.generate(ids, max_new_tokens=N_NEW, top_k=0, **hf)
        want = out[0, ids.shape[1]:].tolist()
        assert res.token_ids[i] == want
        assert len(res.traces[i]["final_entropy"]) == len(res.token_ids[i])


def test_per_row_generators_make_rows_independent(peaked_model):
    torch.manual_seed(0)
    logits = torch.randn(3, 64) * 2
    ids = torch.zeros(3, 1, dtype=torch.long)
    s = build_sampler("top_p", top_p=0.95)
    full = s.step(logits, ids, generators=[torch.Generator().manual_seed(i) for i in range(3)])
    alone = s.step(logits[1:2], ids[1:2], generators=[torch.Generator().manual_seed(1)])
    assert full.tokens[1] == alone.tokens[0]
    with pytest.raises(ValueError, match="one generator per row"):
        s.step(logits, ids, generators=[torch.Generator()])


# ---------------------------------------------------------------- EDT and dynatemp


def _two_token(p: float, vocab: int = 6) -> tuple[torch.Tensor, float]:
    """Logits with probability p, 1-p on two tokens and -inf elsewhere; its entropy in nats."""
    logits = torch.full((1, vocab), -math.inf)
    logits[0, 0], logits[0, 1] = math.log(p), math.log(1 - p)
    return logits, -(p * math.log(p) + (1 - p) * math.log(1 - p))


def test_entropy_is_in_nats_or_bits():
    def ent(logits, unit):
        return entropy_varentropy(torch.log_softmax(logits, dim=-1), unit=unit)[0].item()

    logits, h = _two_token(0.75)
    assert ent(logits, "nats") == pytest.approx(h, rel=1e-6)
    assert ent(logits, "bits") == pytest.approx(h / math.log(2), rel=1e-6)
    assert ent(torch.zeros(1, 10), "nats") == pytest.approx(math.log(10), rel=1e-6)
    with pytest.raises(ValueError, match="unit='hartleys' is unknown"):
        entropy_varentropy(torch.zeros(1, 2), unit="hartleys")


@pytest.mark.parametrize("p", [0.5, 0.75, 0.99])
def test_edt_temperature_by_hand(p):
    logits, h = _two_token(p)
    want = 0.9 * 0.8 ** (1.5 / h)  # T0 * N ** (theta / H), H in nats
    got = edt_temperature(logits, temperature=0.9, theta=1.5, n=0.8).item()
    assert got == pytest.approx(want, rel=1e-5)
    step = build_sampler("edt", temperature=0.9, theta=1.5).step(logits, torch.zeros(1, 1))
    assert step.trace["temperature"].item() == pytest.approx(want, rel=1e-5)


def test_edt_zero_entropy_is_argmax():
    logits = torch.full((2, 5), -math.inf)
    logits[0, 3] = 0.0  # a single candidate: H = 0 -> T = 0 -> argmax
    logits[1] = torch.tensor([0.1, 2.0, 0.3, 0.0, -1.0])
    t = edt_temperature(logits, temperature=1.0, theta=1.0, n=0.8)
    assert t[0].item() == 0.0 and t[1].item() > 0
    step = build_sampler("edt").step(logits, torch.zeros(2, 1), generators=None)
    assert step.tokens[0].item() == 3


def test_edt_underflowing_temperature_is_argmax_not_nan():
    """Found in Study 1 (T0 0.96, theta 2.16 on SmolLM2): a confident row (H ~ 0.005 nats) gets
    T = T0 * 0.8 ** 440 ~ 1e-43, a float32 subnormal above 0; logits / T overflowed to +inf and
    softmax gave NaN, so torch.multinomial raised mid-run. The T -> 0 limit is the argmax."""
    logits = torch.tensor([[9.0, 0.0, 0.0, 0.0, 0.0], [0.1, 2.0, 0.3, 0.0, -1.0]])
    t = edt_temperature(logits, temperature=0.96, theta=2.16, n=0.8)
    assert 0 < t[0].item() < 1e-38  # by hand: H = 4 e^-9 (9 + 1) / (1 + 4 e^-9) ~ 0.0049
    scores = scale_rows(logits, t)
    assert torch.isfinite(torch.softmax(scores, -1)).all()
    assert scores[0].tolist() == [0.0, -math.inf, -math.inf, -math.inf, -math.inf]
    assert torch.equal(scores[1], logits[1] / t[1])  # ordinary rows untouched
    step = build_sampler("edt", temperature=0.96, theta=2.16).step(
        logits, torch.zeros(2, 1), generators=[torch.Generator(), torch.Generator()])
    assert step.tokens[0].item() == 0


@pytest.mark.parametrize("p,exponent", [(0.75, 1.0), (0.9, 2.0), (0.6, 0.5)])
def test_dynatemp_by_hand(p, exponent):
    logits, h = _two_token(p)  # n = 2 candidates (finite logits), as llama.cpp's cur_p->size
    t_min, t_max = 1.2 - 0.5, 1.2 + 0.5
    want = t_min + (t_max - t_min) * (h / math.log(2)) ** exponent
    got = dynatemp_temperature(logits, temperature=1.2, dynatemp_range=0.5, exponent=exponent)
    assert got.item() == pytest.approx(want, rel=1e-5)
    sampler = build_sampler("dynatemp", temperature=1.2, dynatemp_range=0.5,
                            dynatemp_exponent=exponent)
    step = sampler.step(logits, torch.zeros(1, 1), generators=[torch.Generator()])
    assert step.trace["temperature"].item() == pytest.approx(want, rel=1e-5)
    # the distribution drawn from is softmax(logits / T)
    probs = torch.softmax(scale_rows(logits, got), -1)[0, :2]
    scaled = [math.exp(math.log(q) / want) for q in (p, 1 - p)]
    assert probs.tolist() == pytest.approx([s / sum(scaled) for s in scaled], rel=1e-5)


def test_dynatemp_extremes_and_floor():
    uniform = torch.zeros(1, 7)  # normalised entropy 1 -> Tmax
    assert dynatemp_temperature(uniform, temperature=0.3, dynatemp_range=0.5,
                                exponent=1.0).item() == pytest.approx(0.8)
    single = torch.full((1, 7), -math.inf)
    single[0, 2] = 1.0  # one candidate -> normalised entropy 0 -> Tmin = max(0, 0.3-0.5) = 0
    assert dynatemp_temperature(single, temperature=0.3, dynatemp_range=0.5,
                                exponent=1.0).item() == 0.0


# ---------------------------------------------------------------- entropix rules


def _spiky(top: float, tail: int, vocab: int = 8192) -> torch.Tensor:
    """One token with probability `top`, the rest spread over `tail` tokens."""
    logits = torch.full((1, vocab), -math.inf)
    logits[0, 0] = math.log(top)
    logits[0, 1 : tail + 1] = math.log((1 - top) / tail)
    return logits


@pytest.mark.parametrize("logits,action", [
    (torch.tensor([[20.0] + [0.0] * 63]), "argmax"),  # H ~ 0, VH ~ 0
    (torch.zeros(1, 64), "clarify"),  # H = 6 bits, VH = 0
    (torch.cat([torch.zeros(1, 4), torch.full((1, 60), -math.inf)], 1), "base"),  # H = 2 bits
    (_spiky(0.8, 4096), "explore"),  # H ~ 3.1 bits, VH ~ 31 bits^2
    (_spiky(0.5, 4096), "resample"),  # H ~ 7 bits, VH ~ 36 bits^2
], ids=["argmax", "clarify", "base", "explore", "resample"])
def test_entropix_quadrants(logits, action):
    s = build_sampler("entropix")
    step = s.step(logits, torch.zeros(1, 1, dtype=torch.long), generators=None)
    if action == "argmax":
        assert step.tokens.item() == logits.argmax().item()
        assert step.trace["final_entropy"].item() == 0.0
        return
    t, k, p = s.params(action)
    assert step.trace["temperature"].item() == pytest.approx(t)
    ref = LogitsProcessorList([TemperatureLogitsWarper(t), TopKLogitsWarper(k),
                               TopPLogitsWarper(p)])(torch.zeros(1, 1), logits.clone())
    want = normalised = torch.special.entr(torch.softmax(ref, -1)).sum() / math.log(
        logits.shape[-1])
    assert step.trace["final_entropy"].item() == pytest.approx(want.item(), abs=1e-5)
    assert step.trace["candidate_size"].item() == torch.isfinite(ref).sum().item()
    del normalised


def test_entropix_thresholds_are_configurable():
    flat = torch.zeros(1, 64)  # H = 6 bits, VH = 0
    s = build_sampler("entropix", low_entropy=7.0, clarify_entropy=7.0, high_entropy=8.0)
    assert s.step(flat, torch.zeros(1, 1)).trace["final_entropy"].item() == 0.0  # now argmax


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("name,params,field", [
    ("temperature", dict(temperature=0.0), "sampler.temperature=0.0"),
    ("top_p", dict(top_p=0.0), "sampler.top_p=0.0"),
    ("top_p", dict(top_p=1.5), "sampler.top_p=1.5"),
    ("top_k", dict(top_k=0), "sampler.top_k=0"),
    ("top_k", dict(top_k=2.5), "sampler.top_k=2.5"),
    ("typical", dict(typical_p=1.0), "sampler.typical_p=1.0"),
    ("eta", dict(eta=1.0), "sampler.eta=1.0"),
    ("epsilon", dict(epsilon=0.0), "sampler.epsilon=0.0"),
    ("edt", dict(n=1.0), "sampler.n=1.0"),
    ("dynatemp", dict(dynatemp_range=-0.1), "sampler.dynatemp_range=-0.1"),
    ("entropix", dict(clarify_entropy=9.0), "sampler.clarify_entropy=9.0"),
    ("top_p", dict(top_pp=0.9), r"sampler 'top_p' has unknown key\(s\) \['sampler.top_pp'\]; did you mean 'sampler.top_p'\?"),
    ("greedy", dict(temperature=0.5), r"sampler 'greedy' has unknown key\(s\) \['sampler.temperature'\]; known: "
                                      r"\['rep_penalty', 'rep_window'\]"),
])
def test_bad_params_name_the_field(name, params, field):
    with pytest.raises(ValueError, match="^" + field.replace(".", r"\.").replace("+", r"\+")):
        build_sampler(name, **params)


# ---------------------------------------------------------------- configs


BASELINES = [n for n in SAMPLER_MAPPING if not n.startswith("alpha")]  # every listed baseline


@pytest.mark.parametrize("name", BASELINES)
def test_config_builds_and_search_space_endpoints_are_valid(name):
    import yaml
    from conftest import ROOT

    cfg = yaml.safe_load((ROOT / "conf" / "sampler" / f"{name}.yaml").read_text())
    assert cfg["name"] == name
    space = cfg.pop("search_space")
    params = {k: v for k, v in cfg.items() if k != "name"}
    build_sampler(name, **params)
    for key, spec in space.items():
        assert key in params, f"{name}: search_space.{key} is not a parameter in the YAML"
        assert spec["type"] in ("float", "int") and spec["low"] < spec["high"]
        for end in (spec["low"], spec["high"]):
            build_sampler(name, **{**params, key: end})
