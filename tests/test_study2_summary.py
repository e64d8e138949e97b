"""experiments/temperature_robustness/summarise.py on small synthetic run folders.

Hand-computed: 4 problems, per-problem 0/1 answers chosen per (method, T, seed); the cell mean is
the mean over seeds of each seed's accuracy, the std the sample std over seeds, and alpha minus a
baseline the difference of the seed-averaged per-problem accuracies. A method identical to its
baseline has a zero difference with the CI [0, 0]. An unfinished run is listed, not counted.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "study2_summary", ROOT / "experiments" / "temperature_robustness" / "summarise.py")
summ = importlib.util.module_from_spec(spec)
spec.loader.exec_module(summ)

# (method, T, seed) -> strict answers of problems 0..3 (flexible = strict or problem 3 right)
ANSWERS = {
    ("greedy", None, 0): [1, 1, 0, 1],
    ("top_p", 1.0, 0): [1, 0, 0, 1], ("top_p", 1.0, 1): [1, 1, 0, 0],
    ("top_p", 3.0, 0): [0, 0, 0, 0], ("top_p", 3.0, 1): [0, 0, 0, 0],
    ("alpha", 1.0, 0): [1, 0, 0, 1], ("alpha", 1.0, 1): [1, 1, 0, 0],  # = top_p at 1.0
    ("alpha", 3.0, 0): [1, 1, 0, 0], ("alpha", 3.0, 1): [1, 0, 1, 1],
}


def make_run(folder: Path, method: str, temp: float | None, seed: int, answers: list[int]) -> None:
    (folder / ".hydra").mkdir(parents=True)
    sampler = {"name": method}
    if temp is not None:
        sampler["temp_max" if method == "alpha" else "temperature"] = temp
    (folder / ".hydra/config.yaml").write_text(yaml.safe_dump({"sampler": sampler, "seed": seed}))
    (folder / ".hydra/overrides.yaml").write_text(yaml.safe_dump([f"seed={seed}"]))
    rows = [{"index": i, "text": "t", "metrics": {"gsm8k_strict": a,
                                                   "gsm8k_flexible": max(a, int(i == 3))}}
            for i, a in enumerate(answers)]
    (folder / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "metrics.json").write_text(json.dumps({
        "status": "complete", "n_prompts": 4, "headline": None,
        "metrics": {**{m: {"mean": sum(r["metrics"][m] for r in rows) / 4, "higher_is_better": True}
                       for m in summ.METRICS},
                    "tokens_per_s": {"mean": 10.0 * (seed + 1), "higher_is_better": True},
                    "mean_length": {"mean": 100.0, "higher_is_better": None}}}))


@pytest.fixture
def sweep(tmp_path):
    for n, ((method, temp, seed), answers) in enumerate(ANSWERS.items()):
        make_run(tmp_path / "sweep" / f"{method}_{n}", method, temp, seed, answers)
    (tmp_path / "sweep" / "unfinished" / ".hydra").mkdir(parents=True)
    (tmp_path / "sweep" / "unfinished" / ".hydra/config.yaml").write_text("seed: 2\n")
    return tmp_path


def test_cells_and_paired_differences_match_hand_computed_values(sweep, capsys):
    out = sweep / "res" / "summary"
    assert summ.main([str(sweep / "sweep"), "--out", str(out)]) == 0
    cells = {(r["method"], r["temperature"], r["metric"]): r for r in
             summ.csv.DictReader(out.with_suffix(".csv").open())}
    alpha3 = cells[("alpha", "3.0", "gsm8k_strict")]
    assert float(alpha3["mean"]) == pytest.approx((2 / 4 + 3 / 4) / 2)
    assert float(alpha3["std"]) == pytest.approx(statistics.stdev([0.5, 0.75]))
    assert int(alpha3["seeds"]) == 2 and int(alpha3["n"]) == 4
    assert float(cells[("greedy", "", "gsm8k_strict")]["mean"]) == 0.75
    assert float(cells[("top_p", "3.0", "gsm8k_flexible")]["mean"]) == 0.25  # problem 3 only

    diffs = {(r["metric"], r["temperature"], r["vs"]): r for r in
             summ.csv.DictReader(out.with_name("summary_diff.csv").open())}
    d3 = diffs[("gsm8k_strict", "3.0", "top_p")]
    # seed-averaged per problem: alpha [1, .5, .5, .5], top_p [0, 0, 0, 0]
    assert float(d3["diff"]) == pytest.approx(0.625)
    assert float(d3["ci_lo"]) > 0  # every problem's difference is positive
    same = diffs[("gsm8k_strict", "1.0", "top_p")]
    assert float(same["diff"]) == 0 and float(same["ci_lo"]) == float(same["ci_hi"]) == 0

    md = out.with_suffix(".md").read_text()
    assert "| alpha | 50.0 ± 0.0" in md  # T=1.0 strict: 0.5 on both seeds
    assert "unfinished" in md and "no metrics.json" in md
    assert "| top_p | 15.0 · 100 | 15.0 · 100 |" in md  # tokens/s 10 and 20 over two seeds
    assert "|\n\n**cost**" in md  # a blank line ends the accuracy table before the cost one
    assert out.with_suffix(".png").stat().st_size > 0
    assert r"\pm" in out.with_suffix(".tex").read_text()


def test_realised_temperature_from_the_traces(sweep):
    """The per-token temperatures of the runs' traces, pooled over seeds, by hand: alpha at
    ceiling 3 sampled [0.5, 1.5] (seed 0) and [1.0, 3.0] (seed 1): mean 1.5, max 3, half the
    tokens above 1, 90th percentile (numpy's linear) 1.5 + 0.7 * 1.5 = 2.55. A run without
    traces (greedy here) gives no row; a baseline's row is its constant temperature."""
    traces = {("alpha", 0): [0.5, 1.5], ("alpha", 1): [1.0, 3.0], ("top_p", 0): [3.0, 3.0],
              ("top_p", 1): [3.0]}
    for folder in (sweep / "sweep").iterdir():
        cfg = yaml.safe_load((folder / ".hydra/config.yaml").read_text())
        sampler = cfg.get("sampler") or {}
        if sampler.get("temp_max", sampler.get("temperature")) != 3.0:
            continue
        temps = traces[(sampler["name"], cfg["seed"])]
        lines = (folder / "generations.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        rows[0]["trace"] = {"temperature": temps}  # one problem carries the run's tokens
        (folder / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = sweep / "res" / "summary"
    assert summ.main([str(sweep / "sweep"), "--out", str(out)]) == 0
    rows = {(r["method"], r["temperature"]): r for r in
            summ.csv.DictReader(out.with_name("summary_temperature.csv").open())}
    assert set(rows) == {("alpha", "3.0"), ("top_p", "3.0")}
    alpha = rows[("alpha", "3.0")]
    assert int(alpha["tokens"]) == 4
    assert float(alpha["mean"]) == pytest.approx(1.5) and float(alpha["max"]) == 3.0
    assert float(alpha["p90"]) == pytest.approx(2.55)
    assert float(alpha["share_above_1"]) == pytest.approx(0.5)
    assert float(rows[("top_p", "3.0")]["mean"]) == 3.0
    md = out.with_suffix(".md").read_text()
    assert "| alpha | - | 1.50 / 2.55 / 3.00; 50% |" in md


def test_base_at_T_runs_are_their_own_row(sweep):
    """An alpha run whose base_temp is its ceiling (Hydra saves the unresolved
    `${sampler.temp_max}`) is the row alpha_base_at_T, not pooled with the ceiling-only alpha
    runs; its paired difference to top_p at T=3 by hand: [1, 1, 1, 1] - [0, 0, 0, 0] = 1."""
    folder = sweep / "sweep" / "strict_3"
    make_run(folder, "alpha", 3.0, 0, [1, 1, 1, 1])
    cfg = yaml.safe_load((folder / ".hydra/config.yaml").read_text())
    cfg["sampler"]["base_temp"] = "${sampler.temp_max}"
    (folder / ".hydra/config.yaml").write_text(yaml.safe_dump(cfg))
    out = sweep / "res" / "summary"
    assert summ.main([str(sweep / "sweep"), "--out", str(out)]) == 0
    cells = {(r["method"], r["temperature"], r["metric"]): r for r in
             summ.csv.DictReader(out.with_suffix(".csv").open())}
    assert float(cells[("alpha_base_at_T", "3.0", "gsm8k_strict")]["mean"]) == 1.0
    assert int(cells[("alpha", "3.0", "gsm8k_strict")]["seeds"]) == 2  # unchanged
    diffs = {(r["adaptive"], r["metric"], r["temperature"], r["vs"]): r for r in
             summ.csv.DictReader(out.with_name("summary_diff.csv").open())}
    assert float(diffs[("alpha_base_at_T", "gsm8k_strict", "3.0", "top_p")]["diff"]) == 1.0
    assert float(diffs[("alpha", "gsm8k_strict", "3.0", "top_p")]["diff"]) == pytest.approx(0.625)


def test_inputs_json_names_the_catalogue_files_the_runs_read(sweep):
    from alpha.data.sources import SOURCES

    folder = next((sweep / "sweep").glob("greedy_*"))
    cfg = yaml.safe_load((folder / ".hydra/config.yaml").read_text())
    cfg.update(model={"source": "qwen2.5-coder-0.5b"}, dataset={"source": "multiarith"})
    (folder / ".hydra/config.yaml").write_text(yaml.safe_dump(cfg))
    out = sweep / "res" / "summary"
    assert summ.main([str(sweep / "sweep"), "--out", str(out)]) == 0
    inputs = json.loads((out.parent / "inputs.json").read_text())
    for name in ("qwen2.5-coder-0.5b", "multiarith"):
        key = f"catalogue:{name} ({SOURCES[name].filename})"
        assert inputs[key] == SOURCES[name].sha256 and len(inputs[key]) == 64


def test_heat_samplers_are_compared_with_alpha_where_both_ran(tmp_path):
    """The extension: a heat sampler (top_n_sigma) at T = 3 and T = 5, alpha only at T = 3 (Study
    2's grid): alpha - top_n_sigma at T = 3 by hand, nothing at T = 5, Study 2's baselines
    first in the table."""
    answers = {("top_p", 3.0, 0): [0, 0, 0, 0], ("alpha", 3.0, 0): [1, 1, 0, 0],
               ("top_n_sigma", 3.0, 0): [1, 0, 0, 0], ("top_n_sigma", 5.0, 0): [0, 0, 0, 1]}
    for n, ((method, temp, seed), a) in enumerate(answers.items()):
        make_run(tmp_path / "sweep" / f"{method}_{n}", method, temp, seed, a)
    out = tmp_path / "res" / "summary"
    assert summ.main([str(tmp_path / "sweep"), "--out", str(out)]) == 0
    rows = [r for r in summ.csv.DictReader(out.with_name("summary_diff.csv").open())
            if r["metric"] == "gsm8k_strict"]
    assert [(r["temperature"], r["vs"]) for r in rows] == [("3.0", "top_p"), ("3.0", "top_n_sigma")]
    assert float(rows[1]["diff"]) == pytest.approx(0.25)  # [1, 1, 0, 0] - [1, 0, 0, 0]
    assert "| top_n_sigma |" in out.with_suffix(".md").read_text()
