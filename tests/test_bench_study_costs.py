"""scripts/bench/bench_study_costs.py: the method specs it reads (sampler params, the capture option)."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))  # as `python scripts/bench/bench_study_costs.py` has it
spec = importlib.util.spec_from_file_location("bench_costs", ROOT / "scripts" / "bench" / "bench_study_costs.py")
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


def test_winner_specs_read_tune_winners(tmp_path):
    """A winners.yaml as scripts/tune.py writes it (values as strings) -> specs parse_method reads."""
    path = tmp_path / "winners.yaml"
    path.write_text("greedy:\n  params: {}\n  trials: 1\n"
                    "top_p:\n  params:\n    sampler.top_p: '0.98'\n    sampler.temperature: '0.76'\n"
                    "alpha:\n  params:\n    sampler.base_temp: '0.5'\n    sampler.temp_max: '1.0'\n")
    specs = bench.winner_specs(path)
    assert specs == {"greedy": "greedy", "top_p": "top_p:top_p=0.98,temperature=0.76",
                     "alpha": "alpha:base_temp=0.5,temp_max=1.0"}
    assert bench.parse_method(specs["top_p"]) == ("top_p", {"top_p": 0.98, "temperature": 0.76}, "last")


def test_winner_specs_refuse_a_non_sampler_parameter(tmp_path):
    path = tmp_path / "winners.yaml"
    path.write_text("top_p:\n  params:\n    max_new_tokens: '32'\n")
    with pytest.raises(SystemExit, match="max_new_tokens.*not a sampler parameter"):
        bench.winner_specs(path)


def test_winners_run_against_the_reference_at_its_own_settings(tmp_path, capsys):
    path = tmp_path / "winners.yaml"
    path.write_text("greedy:\n  params: {}\n"
                    "top_p:\n  params:\n    sampler.top_p: '0.9'\n    sampler.temperature: '0.7'\n"
                    "min_p:\n  params:\n    sampler.min_p: '0.2'\n")
    rows = bench.main(["--model", str(ROOT / "models" / "tiny-shakespeare"), "--winners", str(path),
                       "--batch", "2", "--new-tokens", "4", "--repeats", "1", "--out", str(tmp_path / "c")])
    assert [r["method"] for r in rows] == ["greedy", "min_p:min_p=0.2"]  # the reference is not a row
    assert all(r["tokens_per_s"] > 0 and r["ratio_vs_top_p"] > 0 for r in rows)
    assert "| greedy |" in (tmp_path / "c.md").read_text()


def test_methods_are_the_runners_sampler_options():
    """The bench times what a study ran: conf/sampler/alpha.yaml's base_temp 0.8 and
    base_top_k 40, not the library's 0.2 and 10; parameters given in the spec win."""
    sampler, capture = bench.make_sampler("alpha:temp_max=1.5,capture=mean_last2")
    assert (sampler.config.base_temp, sampler.config.base_top_k, sampler.config.temp_max) == (0.8, 40, 1.5)
    assert capture == ("mean_last", 2)
    with pytest.raises(SystemExit, match="method 'nucleus'.*not a sampler option"):
        bench.make_sampler("nucleus")
