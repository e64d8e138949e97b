"""Solvers. The distribution a solver's parameters produce is measured independently with
`apply_sampling_params` (tests/filtering_oracle.py, itself checked against Hugging Face's warpers) and scipy's entropy;
`seed_adam` is checked against `torch.optim.Adam` driving HF warpers row by row.
Bad inputs tried: targets above and below what the bounds can reach, a config whose bounds
collapse (temp_min == temp_max), top_p_max < 1.
"""

import math

import pytest
import torch
from filtering_oracle import apply_sampling_params
from scipy.stats import entropy as scipy_entropy
from transformers import TopKLogitsWarper, TopPLogitsWarper

from alpha import SamplerConfig, SamplingParams
from alpha.solvers import (
    base_entropy,
    base_target,
    build_pool,
    path_params,
    penalty_schedule,
    smooth,
    solve_bisection,
    solve_seed_adam,
)


def measured_entropy(logits, ids, params):
    """Normalised entropy of the filtered distribution, via apply_sampling_params + scipy."""
    out = apply_sampling_params(logits, ids, **params.as_kwargs())
    v = logits.shape[1]
    return torch.tensor([scipy_entropy(torch.softmax(r.double(), -1).numpy(), base=2)
                         for r in out]) / math.log2(v)


def random_params(cfg, b, g):
    u = torch.rand(b, 5, generator=g)
    lo = torch.tensor([cfg.temp_min, cfg.top_k_min, cfg.top_p_min, cfg.rep_penalty_min,
                       cfg.candidate_size_min])
    hi = torch.tensor([cfg.temp_max, cfg.top_k_max, cfg.top_p_max, cfg.rep_penalty_max,
                       cfg.candidate_size_max])
    return SamplingParams.unstack(lo + (hi - lo) * u).rounded()


def case(seed, b=48, v=2000, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, v, generator=g) * scale, torch.randint(0, v, (b, 40), generator=g), g)


@pytest.mark.parametrize("kw", [dict(), dict(top_p_max=0.9), dict(
    candidate_size_min=10, top_k_min=20, top_k_max=50, temp_min=0.5)])
@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_bisection_hits_every_reachable_target(kw, scale):
    cfg = SamplerConfig(rep_penalty_min=1.3, rep_penalty_max=1.3, clamp_base=True, **kw)  # fixed penalty
    logits, ids, g = case(int(scale * 10) + len(kw), scale=scale)
    target = measured_entropy(logits, ids, random_params(cfg, logits.shape[0], g)).float()
    pool = build_pool(logits, ids, input_mask=None, rep_window=cfg.rep_window,
                      top_k_max=cfg.top_k_max)
    params = solve_bisection(pool, target, cfg)
    err = (measured_entropy(logits, ids, params) - target).abs()
    assert err.max() < 1e-3, f"max error {err.max():.2e}"


def test_bisection_unreachable_targets_go_to_the_nearest_bound():
    cfg = SamplerConfig(top_k_min=30, candidate_size_min=30, top_p_min=0.95, temp_min=0.9,
                        clamp_base=True)  # the base point sits at the lower bounds
    logits, ids, g = case(3, b=16, scale=1.0)
    pool = build_pool(logits, ids, input_mask=None, rep_window=128, top_k_max=cfg.top_k_max)
    low = solve_bisection(pool, torch.zeros(16), cfg)
    high = solve_bisection(pool, torch.ones(16), cfg)
    h_low, h_high = measured_entropy(logits, ids, low), measured_entropy(logits, ids, high)
    others = torch.stack([measured_entropy(logits, ids, random_params(cfg, 16, g))
                          for _ in range(5)])
    assert (h_low <= others.min(0).values + 1e-6).all()  # nothing in the box is lower
    assert (h_high >= others.max(0).values - 1e-6).all()
    torch.testing.assert_close(high.temperature, torch.full((16,), cfg.temp_max))
    assert (high.candidate_size == 100).all()


def test_bisection_moves_all_five_parameters_and_respects_bounds():
    cfg = SamplerConfig()
    logits, ids, _ = case(4, b=64, scale=2.0)
    target = torch.linspace(0.0, 0.5, 64)
    pool = build_pool(logits, ids, input_mask=None, rep_window=128, top_k_max=200)
    p = solve_bisection(pool, target, cfg)
    for name, lo, hi in [("temperature", 0.1, 1.0), ("top_k", 5, 200), ("top_p", 0.1, 1.0),
                         ("rep_penalty", 1.1, 1.5), ("candidate_size", 1, 100)]:
        t = getattr(p, name)
        assert t.unique().numel() >= 5, name
        assert (t >= lo - 1e-6).all() and (t <= hi + 1e-6).all(), name
    torch.testing.assert_close(p.rep_penalty, penalty_schedule(target, base_entropy(pool, cfg),
                                                               cfg))


def test_bisection_is_exact_with_collapsed_temperature():
    cfg = SamplerConfig(temp_min=0.7, temp_max=0.7, rep_penalty_min=1.2, rep_penalty_max=1.2,
                        clamp_base=True)
    logits, ids, _ = case(5, b=8)
    pool = build_pool(logits, ids, input_mask=None, rep_window=128, top_k_max=200)
    p = solve_bisection(pool, torch.full((8,), 0.2), cfg)
    assert (p.temperature == 0.7).all()


def reference_seed_adam(logits_row, target, cfg):
    """The original's optimiser on one row, with torch.optim.Adam and HF's warpers."""
    lo = torch.tensor([cfg.temp_min, cfg.top_k_min, cfg.top_p_min, cfg.rep_penalty_min,
                       cfg.candidate_size_min])
    hi = torch.tensor([cfg.temp_max, cfg.top_k_max, cfg.top_p_max, cfg.rep_penalty_max,
                       cfg.candidate_size_max])
    theta = torch.tensor([cfg.base_temp, cfg.base_top_k, cfg.base_top_p, cfg.base_rep_penalty,
                          cfg.base_candidate_size], requires_grad=True)
    opt = torch.optim.Adam([theta], lr=cfg.opt_learning_rate)
    v = logits_row.shape[-1]
    for _ in range(cfg.opt_max_iters):
        opt.zero_grad()
        p = lo + (hi - lo) * torch.sigmoid(theta)
        scores = logits_row[None] / p[0]
        scores = TopKLogitsWarper(int(p[1].detach()))(None, scores)
        scores = TopPLogitsWarper(float(p[2].detach()))(None, scores)
        cut = torch.topk(scores, int(p[4].detach())).values[0, -1]
        scores = scores.masked_fill(scores < cut, float("-inf"))
        logp = torch.log_softmax(scores, -1)
        probs = logp.exp()
        h = -(probs * torch.where(probs > 0, logp, 0.0)).sum() / math.log(2) / math.log2(v)
        loss = (h - target) ** 2
        if loss.item() < cfg.opt_tolerance:
            break
        loss.backward()
        opt.step()
    return (lo + (hi - lo) * torch.sigmoid(theta)).detach()


def test_seed_adam_matches_torch_adam_and_only_temperature_moves():
    cfg = SamplerConfig.original(solver="seed_adam")
    logits, _, _ = case(6, b=6, v=800, scale=3.0)
    target = torch.tensor([0.0, 0.05, 0.1, 0.2, 0.3, 0.45])
    got = solve_seed_adam(logits, target, cfg)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    # the original's measured values (algorithm.md): top-k 199, top-p 0.721, pool 100; the
    # penalty with our bounds 1.1-1.5 (the original's optimiser used 1.0-1.5: 1.366)
    start = dict(top_k=199, top_p=0.1 + 0.9 * sig(0.8), rep_penalty=1.1 + 0.4 * sig(1.0),
                 candidate_size=100)
    assert round(start["top_p"], 3) == 0.721
    for name, value in start.items():
        torch.testing.assert_close(getattr(got, name), torch.full((6,), float(value)))
    for i in range(6):
        ref = reference_seed_adam(logits[i], float(target[i]), cfg)
        assert got.temperature[i].item() == pytest.approx(ref[0].item(), abs=1e-5)
    assert got.temperature.unique().numel() > 1  # temperature is the one that moves
    assert (got.temperature - (0.1 + 0.9 * sig(0.2))).abs().max() < 0.25  # ... slowly


def test_smoothing_is_exponential_and_first_step_takes_new():
    prev = SamplingParams(*[torch.tensor([1.0, 2.0])] * 5)
    new = SamplingParams(*[torch.tensor([0.0, 4.0])] * 5)
    out = smooth(prev, new, 0.8, has_prev=torch.tensor([True, False]))
    for name in ("temperature", "top_k", "top_p", "rep_penalty", "candidate_size"):
        torch.testing.assert_close(getattr(out, name), torch.tensor([0.8, 4.0]))
    assert smooth(None, new, 0.8, torch.tensor([True, False])) is new


@pytest.mark.parametrize("kw", [dict(top_p_max=0.95, candidate_size_min=3), dict(),
                                dict(top_p_max=0.9),
                                dict(top_k_min=20, candidate_size_min=8, top_p_min=0.6)])
def test_fixed_size_entropy_equals_measured_entropy_and_is_monotone(kw):
    """The solver's prefix-sum entropy of `set_params(m, T)` vs HF's chain + scipy."""
    from alpha.solvers import fixed_size_entropy, set_params

    cfg = SamplerConfig(clamp_base=True, **kw)
    logits, ids, g = case(7, b=6, v=1500, scale=2.0)
    pen = torch.full((6,), 1.25)
    pool = build_pool(logits, ids, input_mask=None, rep_window=128, top_k_max=200)
    vals, _ = pool.top(pen, 200)
    m = torch.randint(1, 101, (6, 4), generator=g)
    t = 0.1 + 0.9 * torch.rand(6, 4, generator=g)
    for j in range(4):
        fast = fixed_size_entropy(vals, m[:, j], cfg, 100)(t[:, j:j + 1])[:, 0] / math.log2(1500)
        p = set_params(vals, m[:, j], t[:, j], pen, cfg)
        torch.testing.assert_close(fast.double(), measured_entropy(logits, ids, p),
                                   atol=1e-5, rtol=0)
    ms = torch.arange(1, 101).repeat(6)  # (600,) every size for every row
    h_m = fixed_size_entropy(vals.repeat_interleave(100, 0), ms, cfg, 100)(
        torch.full((600, 1), 0.6)).view(6, 100)
    assert (h_m.diff(dim=1) >= -1e-5).all()  # non-decreasing in the set size
    ts = torch.linspace(0.1, 1.0, 50).expand(6, 50)
    h_t = fixed_size_entropy(vals, torch.full((6,), 40), cfg, 40)(ts)
    assert (h_t.diff(dim=1) >= -1e-5).all()  # non-decreasing in temperature


@pytest.mark.parametrize("v,window,k", [(2000, 128, 200), (300, 64, 200), (150, 128, 200),
                                        (50, 16, 5)])
@pytest.mark.parametrize("penalty", [0.5, 1.0, 1.7])
def test_pool_holds_hf_penalised_top_k(v, window, k, penalty):
    """The pool's penalised top k equals topk of HF's RepetitionPenaltyLogitsProcessor output
    (left padding, repeated tokens, vocabularies smaller than k + window, penalty < 1)."""
    from transformers import RepetitionPenaltyLogitsProcessor

    g = torch.Generator().manual_seed(v + window)
    b = 6
    logits = torch.randn(b, v, generator=g) * 3
    ids = torch.randint(0, min(v, 40), (b, 90), generator=g)  # many repeats
    mask = torch.ones_like(ids, dtype=torch.bool)
    mask[1, :30], mask[2, :] = False, False  # left padding; row 2 all padding
    pool = build_pool(logits, ids, input_mask=mask, rep_window=window, top_k_max=k)
    vals, idx = pool.top(torch.full((b,), penalty), k)
    for i in range(b):
        seen = ids[i, -window:][mask[i, -window:]]
        ref = logits[i:i + 1].clone()
        if seen.numel():
            ref = RepetitionPenaltyLogitsProcessor(penalty)(seen[None], ref)
        n = min(k, v)
        torch.testing.assert_close(vals[i, :n], torch.topk(ref[0], n).values)
        assert torch.isneginf(vals[i, n:]).all()  # a vocabulary below k: -inf padding
        torch.testing.assert_close(ref[0, idx[i, :n]], vals[i, :n])  # ids carry their values
        assert idx[i, :n].unique().numel() == n


# ---------------------------------------------------------------- base values (bisection)


def test_base_target_by_hand():
    """target = clamp(h_base + target_scale * (alpha_mean - average alpha), 0, 1)."""
    cfg = SamplerConfig(target_scale=0.5)
    h_base = torch.tensor([0.3, 0.3, 0.9, 0.05, 0.4])
    alpha_mean = torch.tensor([0.5, 0.2, 0.9, 0.1, 0.6])
    alpha_ref = torch.tensor([0.4, 0.4, 0.1, 0.4, 0.6])
    want = torch.tensor([0.35, 0.2, 1.0, 0.0, 0.4])  # 0.3+0.05, 0.3-0.1, 1.3->1, -0.1->0, base
    torch.testing.assert_close(base_target(h_base, alpha_mean, alpha_ref, cfg), want)
    torch.testing.assert_close(base_target(h_base, alpha_mean, alpha_ref,
                                           SamplerConfig(target_scale=2.0)),
                               torch.tensor([0.5, 0.0, 1.0, 0.0, 0.4]))


def test_penalty_schedule_by_hand():
    """The base penalty at target = h_base, linear to rep_penalty_max at 0 and to
    rep_penalty_min at 1; the default base 1.0 is clamped to rep_penalty_min 1.1."""
    cfg = SamplerConfig(base_rep_penalty=1.2)  # bounds 1.1 .. 1.5
    h = torch.full((5,), 0.4)
    target = torch.tensor([0.4, 0.2, 0.0, 0.7, 1.0])
    want = torch.tensor([1.2, 1.2 + 0.5 * 0.3, 1.5, 1.2 - 0.5 * 0.1, 1.1])
    torch.testing.assert_close(penalty_schedule(target, h, cfg), want)
    torch.testing.assert_close(penalty_schedule(target, h, SamplerConfig()),
                               torch.tensor([1.1, 1.3, 1.5, 1.1, 1.1]))


def test_path_params_by_hand():
    """s = 0 is the base point, +-1 the corners, each parameter linear on each half."""
    cfg = SamplerConfig.original()  # base 0.2, 10, 0.8, 20; bounds 0.1-1, 5-200, 0.1-1, 1-100
    p = path_params(torch.tensor([0.0, 1.0, -1.0, 0.5, -0.5]), torch.full((5,), 1.3), cfg)
    torch.testing.assert_close(p.temperature, torch.tensor([0.2, 1.0, 0.1, 0.6, 0.15]))
    torch.testing.assert_close(p.top_k, torch.tensor([10.0, 200, 5, 105, 8]))  # 7.5 -> 8
    torch.testing.assert_close(p.top_p, torch.tensor([0.8, 1.0, 0.1, 0.9, 0.45]))
    torch.testing.assert_close(p.candidate_size, torch.tensor([20.0, 100, 1, 60, 10]))  # 10.5
    assert (p.rep_penalty == 1.3).all()
    hot = path_params(torch.zeros(1), torch.ones(1), SamplerConfig(base_temp=3.0, base_top_p=-1,
                                                                  clamp_base=True))
    assert hot.temperature.item() == 1.0 and hot.top_p.item() == pytest.approx(0.1)  # clamped


def test_base_entropy_by_hand():
    """Row 0: T 0.5, top-3 of [2, 1, 0.5, 0, -1, -2], no seen tokens. Row 1: token 0 seen,
    penalty 2 halves its logit to 1.0; then top-3 = [1, 1, 0.5]."""
    cfg = SamplerConfig(base_temp=0.5, base_top_k=3, base_top_p=1.0, base_rep_penalty=2.0,
                        base_candidate_size=20, rep_penalty_max=2.0, top_k_min=1)
    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -2.0]]).repeat(2, 1)
    ids = torch.tensor([[3], [0]])
    pool = build_pool(logits, ids, input_mask=torch.tensor([[False], [True]]), rep_window=128,
                      top_k_max=200)

    def h(z):
        w = [math.exp(v / 0.5) for v in z]
        p = [x / sum(w) for x in w]
        return -sum(q * math.log2(q) for q in p) / math.log2(6)

    torch.testing.assert_close(base_entropy(pool, cfg),
                               torch.tensor([h([2.0, 1.0, 0.5]), h([1.0, 1.0, 0.5])]))


def test_target_at_base_entropy_gives_the_base_values():
    """Average uncertainty: the solver returns the base values themselves (s = 0 on the path),
    whose entropy is the target."""
    cfg = SamplerConfig(base_temp=0.7, base_top_k=40, base_top_p=0.9, base_rep_penalty=1.2,
                        base_candidate_size=30)
    logits, ids, _ = case(21, b=16, scale=2.0)
    pool = build_pool(logits, ids, input_mask=None, rep_window=128, top_k_max=200)
    h = base_entropy(pool, cfg)
    p = solve_bisection(pool, h, cfg)
    for name, value in [("temperature", 0.7), ("top_k", 40), ("top_p", 0.9),
                        ("rep_penalty", 1.2), ("candidate_size", 30)]:
        torch.testing.assert_close(getattr(p, name), torch.full((16,), float(value)), msg=name)
    torch.testing.assert_close(measured_entropy(logits, ids, p).float(), h, atol=1e-5, rtol=0)


def test_path_terms_equal_the_hf_chain_along_the_path():
    """The solver's prefix-sum path (entropy, kept-set size, temperature) against HF's chain
    applied to the full logits at each point's parameters (apply_sampling_params + scipy)."""
    from alpha.solvers import path_terms_fn

    cfg = SamplerConfig(rep_penalty_min=1.2, rep_penalty_max=1.2, base_temp=0.5, top_p_max=0.97)
    logits, ids, _ = case(23, b=8, scale=2.0)
    pen = torch.full((8,), 1.2)
    pool = build_pool(logits, ids, input_mask=None, rep_window=128, top_k_max=cfg.top_k_max)
    vals, _ = pool.top(pen, cfg.top_k_max)
    s = torch.linspace(-1, 1, 41)
    h, kept, t = path_terms_fn(vals, cfg)(s[None].expand(8, -1).contiguous())
    log_v = math.log2(logits.shape[1])
    for j, sj in enumerate(s.tolist()):
        params = path_params(torch.full((8,), sj), pen, cfg)
        out = apply_sampling_params(logits, ids, **params.as_kwargs())
        assert kept[:, j].tolist() == torch.isfinite(out).sum(-1).tolist(), sj
        torch.testing.assert_close(h[:, j].double(), measured_entropy(logits, ids, params) * log_v,
                                   atol=1e-5, rtol=1e-5)
        assert t[:, j].tolist() == params.temperature.tolist()


def test_path_entropy_never_decreases_and_targets_move_the_temperature_with_them():
    """Measured (HF's chain + scipy) along the path at a fixed penalty; and the solver's chosen
    temperature is larger for a target above the base entropy than for one below it (not
    always on each side of base_temp: a target between two sets is hit off the path)."""
    cfg = SamplerConfig(rep_penalty_min=1.2, rep_penalty_max=1.2, base_temp=0.5)
    logits, ids, _ = case(22, b=8, scale=2.0)
    hs = torch.stack([measured_entropy(logits, ids, path_params(torch.full((8,), s),
                                                                torch.full((8,), 1.2), cfg))
                      for s in torch.linspace(-1, 1, 21).tolist()])  # (21, B)
    assert (hs.diff(dim=0) >= -1e-9).all()
    pool = build_pool(logits, ids, input_mask=None, rep_window=128, top_k_max=200)
    h = base_entropy(pool, cfg)
    below = solve_bisection(pool, h * 0.7, cfg)
    above = solve_bisection(pool, (h * 1.3).clamp(max=hs[-1].float()), cfg)
    assert (below.temperature < above.temperature).all()


@pytest.mark.parametrize("kw", [dict(), dict(candidate_size_max=20, clamp_base=True),
                                dict(top_p_max=0.9, clamp_base=True),
                                dict(candidate_size_max=300, top_k_max=150)])
def test_the_static_prefix_gives_what_the_read_prefix_gives(kw):
    """read_prefix=False (compiled, accelerators) bounds the temperature rounds' prefix by
    min(top_k_max, candidate_size_max) instead of reading the largest chosen set: every target,
    pool and bound here gives the same parameters, exactly."""
    cfg = SamplerConfig(**kw)
    x, ids, g = case(7, v=5000, scale=3.0)
    pool = build_pool(x, ids, input_mask=None, rep_window=cfg.rep_window,
                      top_k_max=cfg.top_k_max)
    target = torch.rand(x.shape[0], generator=g)
    read = solve_bisection(pool, target, cfg, read_prefix=True).stack()
    static = solve_bisection(pool, target, cfg, read_prefix=False).stack()
    assert torch.equal(read, static)


def test_bisect_scores_x0_with_the_first_round_and_brackets_the_crossing():
    """`_bisect` against its contract, on hand-made non-decreasing functions: one evaluation a
    round (x0 goes with the first round's points), a bracket no wider than the start over
    (grid + 1)^rounds, h(lo) < goal <= h(hi) where h(x0) is below the goal, and the bracket
    collapsed onto x0 where h is flat at the goal there (the flat part's top otherwise)."""
    from alpha.solvers import _bisect

    calls = []

    def h(x):  # ramps with a flat part at 0.5 on [-0.2, 0.3]; rows differ by a shift
        calls.append(tuple(x.shape))
        y = (x - shift[:, None]).double()
        return torch.where(y < -0.2, 0.5 + (y + 0.2), torch.where(y > 0.3, 0.5 + (y - 0.3), 0.5))

    shift = torch.tensor([0.0, 0.1, -0.4, 0.0, 0.0])
    goal = torch.tensor([0.2, 0.5, 0.9, 0.5, 0.5], dtype=torch.float64)
    x0 = torch.tensor([0.0, 0.0, 0.0, 0.6, -0.9])  # row 3: x0 above the flat part
    lo, hi = _bisect(torch.full((5,), -1.0), torch.ones(5), goal, h, 5, x0)
    assert calls == [(5, 17)] + [(5, 16)] * 4  # x0 + 16 points, then 16 a round
    # float32 grid points: a width within 5% of the exact (G + 1)-section's
    assert bool(((hi - lo) <= 1.05 * 2.0 / 17**5).all())
    hl, hh = h(lo[:, None])[:, 0], h(hi[:, None])[:, 0]
    tol = 1e-6 * (1 + goal)
    for r in (2, 4):  # h(x0) below the goal: the crossing above x0 (row 4: the flat part's foot)
        assert hl[r] < goal[r] <= hh[r]
    assert lo[1] == hi[1] == x0[1]  # flat at the goal at x0: the bracket is x0 itself
    for r in (0, 3):  # h(x0) above the goal: the crossing below x0 (row 3: the flat part's top)
        assert hi[r] <= x0[r] and hl[r] <= goal[r] + tol[r] < hh[r]
    assert 0.3 <= lo[3] < 0.3 + 2e-6 and -0.2 - 2e-6 < hi[4] <= -0.2 + 2e-6
