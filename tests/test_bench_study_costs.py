"""scripts/bench_study_costs.py: the method specs it reads (sampler params, the capture option)."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # as `python scripts/bench_study_costs.py` has it
spec = importlib.util.spec_from_file_location("bench_costs", ROOT / "scripts" / "bench_study_costs.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


@pytest.mark.parametrize("text, want", [
    ("top_p", ("top_p", {}, "last")),
    ("alpha:solver=seed_adam,param_smoothing_factor=0.0",
     ("alpha", {"solver": "seed_adam", "param_smoothing_factor": 0.0}, "last")),
    ("alpha:capture=mean_last2", ("alpha", {}, ("mean_last", 2))),
    ("alpha:alpha_window_size=10,capture=last", ("alpha", {"alpha_window_size": 10}, "last")),
])
def test_parse_method(text, want):
    assert bench.parse_method(text) == want


def test_parse_method_refuses_a_bare_key():
    with pytest.raises(SystemExit, match="expected key=value"):
        bench.parse_method("alpha:solver")
