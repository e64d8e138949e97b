"""SamplerConfig: the original's values as a preset (from the seed README / algorithm.md, typed by hand),
mutability, and validation. Bad inputs tried: min > max for each bound, a bound outside its
absolute range, a fractional top-k, a window < 1, a negative weight, all weights zero, a
smoothing factor of 1 and -0.1, an unknown solver / attention mode, a string for a number, an
unknown or misspelt key through the registry, a solver clash for alpha_seed.
"""

import pytest

from alpha import SamplerConfig, build_sampler
from alpha.sampler import AdaptiveEntropixSampler

ORIGINAL = dict(base_temp=0.2, base_top_p=0.80, base_top_k=10, base_rep_penalty=1.0,
                base_candidate_size=20, opt_max_iters=10, opt_tolerance=0.01,
                opt_learning_rate=0.1, param_smoothing_factor=0.8, alpha_window_size=5)
README_BOUNDS = dict(temp_min=0.1, temp_max=1.0, top_k_min=5, top_k_max=200, top_p_min=0.1,
                     top_p_max=1.0, rep_penalty_min=1.1, rep_penalty_max=1.5,
                     candidate_size_min=1, candidate_size_max=100)


def test_the_original_preset_has_the_originals_values():
    cfg = SamplerConfig.original()
    for name, value in {**ORIGINAL, **README_BOUNDS}.items():
        assert getattr(cfg, name) == value, name
    # the default is the runner's operating point; everything but the base values is the original's
    default = SamplerConfig()
    assert (default.base_temp, default.base_top_p, default.base_top_k,
            default.base_rep_penalty, default.base_candidate_size) == (0.8, 0.95, 40, 1.0, 50)
    for name, value in {**ORIGINAL, **README_BOUNDS}.items():
        if not name.startswith("base_"):
            assert getattr(default, name) == value, name
    cfg = SamplerConfig()
    assert cfg.weights() == (0.4, 0.2, 0.3, 0.1)
    assert (cfg.rep_window, cfg.target_scale, cfg.solver, cfg.attention_mode) == (
        128, 0.5, "bisection", "mean_heads")


def test_quick_start_style_mutation():
    cfg = SamplerConfig()
    cfg.base_temp = 0.3
    cfg.base_top_p = 0.9
    sampler = AdaptiveEntropixSampler(cfg)
    assert sampler.config.base_temp == 0.3
    with pytest.raises(ValueError, match="temp_min=5.0 must be <= temp_max=1.0"):
        cfg.temp_min = 5.0  # checked as it is made: the config never holds an invalid value
    assert cfg.temp_min == 0.1 and sampler.config.temp_min == 0.1
    with pytest.raises(ValueError, match=r"SamplerConfig has unknown key\(s\) \['base_tmp'\]; "
                                         r"did you mean 'base_temp'\?"):
        cfg.base_tmp = 0.3


@pytest.mark.parametrize("lo,hi,lo_value,hi_value", [
    ("temp_min", "temp_max", 0.5, 0.4), ("top_k_min", "top_k_max", 50, 40),
    ("top_p_min", "top_p_max", 0.9, 0.8), ("rep_penalty_min", "rep_penalty_max", 1.4, 1.2),
    ("candidate_size_min", "candidate_size_max", 30, 20)])
def test_min_above_max_names_both(lo, hi, lo_value, hi_value):
    with pytest.raises(ValueError, match=rf"{lo}={lo_value} must be <= {hi}={hi_value}"):
        SamplerConfig(**{lo: lo_value, hi: hi_value})


@pytest.mark.parametrize("kw,match", [
    (dict(temp_min=0.0), r"^temp_min=0.0 is invalid: use a number in \(0, inf\)$"),
    (dict(top_p_max=1.5), r"^top_p_max=1.5 is invalid: use a number in \(0, 1\]$"),
    (dict(top_k_min=0), r"^top_k_min=0 is invalid: use a whole number in \[1, inf\)$"),
    (dict(top_k_min=5.5), r"^top_k_min=5.5 is invalid: use a whole number in \[1, inf\)$"),
    (dict(alpha_window_size=0), r"^alpha_window_size=0 is invalid: use a whole number in \[1, inf\)"),
    (dict(rep_window=0), r"rep_window=0"),
    (dict(weight_attn_entropy=-0.1), r"^weight_attn_entropy=-0.1 is invalid: use a number in \[0, inf\)"),
    (dict(temp_max=float("inf")), r"^temp_max=inf is invalid: use a number in \(0, inf\)"),
    (dict(target_scale=float("nan")), r"^target_scale=nan is invalid"),
    (dict(clamp_base="yes"), r"^clamp_base='yes' is invalid: use true or false$"),
    (dict(weight_token_entropy=0, weight_token_varentropy=0, weight_attn_entropy=0,
          weight_attn_varentropy=0), "all four alpha weights are 0"),
    (dict(param_smoothing_factor=1.0), r"param_smoothing_factor=1.0 is invalid: use a number in \[0, 1\)"),
    (dict(param_smoothing_factor=-0.1), r"param_smoothing_factor=-0.1"),
    (dict(solver="newton"), r"solver='newton' is unknown; choose one of \['bisection', 'seed_adam'\]"),
    (dict(solver="bisectoin"), r"solver='bisectoin' is unknown; did you mean 'bisection'\?"),
    (dict(attention_mode="max"), r"attention_mode='max' is unknown"),
    (dict(target_scale=0), r"target_scale=0"),
    (dict(base_temp="hot"), r"^base_temp='hot' is invalid: use a number in \(-inf, inf\)$"),
])
def test_bad_values_raise_naming_field_value_and_range(kw, match):
    with pytest.raises(ValueError, match=match):
        SamplerConfig(**kw)


def test_registry_builds_from_flat_kwargs_and_rejects_bad_ones():
    s = build_sampler("alpha", temp_min=0.2, top_k_max=50, solver="bisection")
    assert (s.config.temp_min, s.config.top_k_max) == (0.2, 50)
    with pytest.raises(ValueError, match=r"temp_min=2 must be <= temp_max=1.0"):
        build_sampler("alpha", temp_min=2)
    with pytest.raises(ValueError, match=r"sampler has unknown key\(s\) \['sampler.base_tmp'\]; "
                                         r"did you mean 'sampler.base_temp'"):
        build_sampler("alpha", base_tmp=0.3)
    seed = build_sampler("alpha_seed")
    assert seed.config.solver == "seed_adam" and seed.config.param_smoothing_factor == 0.0
    assert build_sampler("alpha_seed", param_smoothing_factor=0.5).config.param_smoothing_factor \
        == 0.5
    with pytest.raises(ValueError, match="alpha_seed always uses solver='seed_adam'"):
        build_sampler("alpha_seed", solver="bisection")
