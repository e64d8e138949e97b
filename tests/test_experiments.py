"""Every ablation in conf/experiment/ expands to its grid the way Hydra's basic sweeper does
(its own override parser), and every grid point composes, resolves and builds a validated
SamplerConfig with the intended values (hand-written expectations below). Also checks the
conventions: `# @package _global_`, a header comment with the command, tags, seeds 0,1,2.
Study files (tags: [study, ...]) are checked by tests/test_studies.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from alpha.config import SamplerConfig

CONF = Path(__file__).resolve().parents[1] / "conf"
# the ablations (tags: [ablation, ...]); the studies (tags: [study, ...]) are tests/test_studies.py's
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")
                     if list(OmegaConf.load(p).get("tags") or [""])[0] != "study")
SAMPLER_FIELDS = set(SamplerConfig.field_names())


def grid(name: str) -> list[list[str]]:
    """The override lists Hydra's basic sweeper makes from the experiment's sweeper params."""
    cfg = OmegaConf.load(CONF / "experiment" / f"{name}.yaml")
    params = cfg.hydra.sweeper.params
    parser = OverridesParser.create()
    axes = []
    for key, value in params.items():
        (override,) = parser.parse_overrides([f"{key}={value}"])
        axes.append([f"{key}={v}" for v in override.sweep_string_iterator()])
    return [list(combo) for combo in itertools.product(*axes)]


def compose_point(name: str, overrides: list[str]):
    """Compose one grid point (inside an `initialize_config_dir` context) and resolve it."""
    cfg = compose("config", overrides=[f"experiment={name}", "logger=none",
                                       "output_dir=/tmp/unused", *overrides])
    return OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_conventions(name):
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert f"python run.py -m experiment={name}" in text
    cfg = OmegaConf.load(CONF / "experiment" / f"{name}.yaml")
    assert list(cfg.tags)[0] == "ablation" and cfg.task_name == f"ablate_{name}"
    assert str(cfg.hydra.sweeper.params.seed) == "0,1,2"


EXPECTED = {  # grid point (without seed) -> sampler values it must produce
    "window_size": {("sampler.alpha_window_size=20",): {"alpha_window_size": 20}},
    "bounds": {
        ("ablation.bounds=narrow",): {"temp_min": 0.3, "temp_max": 0.7, "top_k_min": 10,
                                      "top_k_max": 50},
        ("ablation.bounds=default",): {"temp_min": 0.1, "temp_max": 1.0, "top_k_min": 5,
                                       "top_k_max": 200},
        ("ablation.bounds=wide",): {"temp_min": 0.05, "temp_max": 1.5, "top_k_max": 500},
    },
    "alpha_weights": {
        ("ablation.weights=original",): {"weight_token_entropy": 0.4, "weight_attn_entropy": 0.3},
        ("ablation.weights=attention_only",): {"weight_token_entropy": 0.0,
                                               "weight_token_varentropy": 0.0,
                                               "weight_attn_entropy": 0.75},
        ("ablation.weights=varentropy_only",): {"weight_token_entropy": 0.0,
                                                "weight_attn_entropy": 0.0},
    },
    "solver": {("sampler.solver=seed_adam", "sampler.param_smoothing_factor=0.0"):
               {"solver": "seed_adam", "param_smoothing_factor": 0.0}},
    "target_scale": {("sampler.target_scale=0.25",): {"target_scale": 0.25}},
    "attention_source": {("capture=[mean_last,2]", "sampler.attention_mode=per_head"):
                         {"attention_mode": "per_head"}},
}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_grid_point_composes_and_validates(name):
    points = grid(name)
    seeds = {o for p in points for o in p if o.startswith("seed=")}
    assert seeds == {"seed=0", "seed=1", "seed=2"}
    seen = set()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        configs = [(p, compose_point(name, p)) for p in points if "seed=0" in p]
    for point, cfg in configs:
        sampler = {k: v for k, v in cfg["sampler"].items() if k in SAMPLER_FIELDS}
        built = SamplerConfig(**sampler)  # validates
        assert abs(sum(built.weights()) - 1.0) < 1e-9  # every preset keeps alpha on [0, 1]
        key = tuple(o for o in point if not o.startswith("seed="))
        for field, value in EXPECTED.get(name, {}).get(key, {}).items():
            assert getattr(built, field) == pytest.approx(value), (name, key, field)
        if name == "attention_source":
            seen.add(repr(cfg["capture"]))
        seen.add(key)
    assert set(EXPECTED.get(name, {})) <= seen, f"{name}: expected grid points missing"
    if name == "attention_source":
        assert {"'last'", "['mean_last', 2]"} <= seen
