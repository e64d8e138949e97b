"""make_tables (alpha/runner/tables.py, behind scripts/make_tables.py) on synthetic Hydra multirun folders. Numbers checked against
`statistics.mean` / `statistics.stdev` of the values written into each run's metrics.json.
Bad inputs tried: a failed run (no metrics.json), a partial run (status "partial"), invalid
JSON, runs with different metric sets, an empty folder, a missing path, an unknown --metrics
name, --wandb without an API key and with a project W&B cannot find."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
from alpha.runner import tables as mt  # noqa: E402
from alpha.runner.runs import find_runs  # noqa: E402


def make_run(sweep: Path, num: int, overrides: dict, metrics: dict | None, status="complete",
             raw: str | None = None) -> Path:
    """A Hydra-like job folder: .hydra/{config,overrides}.yaml and (maybe) metrics.json."""
    run = sweep / f"{num}"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra/config.yaml").write_text(yaml.safe_dump({"seed": int(overrides["seed"])}))
    (run / ".hydra/overrides.yaml").write_text(
        yaml.safe_dump([f"{k}={v}" for k, v in overrides.items()]))
    if raw is not None:
        (run / "metrics.json").write_text(raw)
    elif metrics is not None:
        body = {name: {"mean": v, "ci95": None, "n": 4, "higher_is_better": hib, "note": ""}
                for name, (v, hib) in metrics.items()}
        (run / "metrics.json").write_text(json.dumps(
            {"status": status, "n_prompts": 4, "headline": None, "metrics": body}))
    (sweep / "multirun.yaml").write_text("{}")
    return run


VALUES = {  # (window, seed) -> (distinct_2 higher=better, rep_2 lower=better, tokens_per_s)
    (1, 0): (0.50, 10.0, 100.0), (1, 1): (0.60, 14.0, 110.0), (1, 2): (0.55, 12.0, 90.0),
    (10, 0): (0.70, 8.0, 80.0), (10, 1): (0.72, 9.0, 85.0), (10, 2): (0.74, 7.0, 70.0),
}


@pytest.fixture
def sweep(tmp_path):
    sweep = tmp_path / "multirun" / "window" / "2026-11-27_13-00-00"
    for num, ((w, s), (d2, r2, tps)) in enumerate(VALUES.items()):
        make_run(sweep, num, {"experiment": "window", "sampler.alpha_window_size": w, "seed": s},
                 {"distinct_2": (d2, True), "rep_2": (r2, False), "tokens_per_s": (tps, True),
                  "mauve": (None, True)})
    return sweep


def test_numbers_equal_metrics_json(sweep, tmp_path):
    out = tmp_path / "tab" / "window"
    assert mt.main([str(sweep), "--out", str(out)]) == 0
    frame = pd.read_csv(out.with_suffix(".csv")).set_index("config")
    for w in (1, 10):
        row = frame.loc[f"sampler.alpha_window_size={w}"]
        for i, name in enumerate(["distinct_2", "rep_2", "tokens_per_s"]):
            vals = [VALUES[(w, s)][i] for s in range(3)]
            assert row[f"{name}_mean"] == pytest.approx(statistics.mean(vals), rel=1e-12)
            assert row[f"{name}_std"] == pytest.approx(statistics.stdev(vals), rel=1e-12)
            assert row[f"{name}_n"] == 3
    assert "mauve_mean" not in frame.columns  # null everywhere -> no column
    assert list(frame.columns[-3:]) == ["tokens_per_s_mean", "tokens_per_s_std", "tokens_per_s_n"]


def test_markdown_arrows_best_and_order(sweep):
    table = mt.build_table(find_runs([str(sweep)]))
    assert table.configs == ["sampler.alpha_window_size=1", "sampler.alpha_window_size=10"]
    md = mt.to_markdown(table)
    header = md.splitlines()[0]
    assert "distinct_2 ↑" in header and "rep_2 ↓" in header and "tokens_per_s ↑" in header
    row1, row10 = md.splitlines()[2:4]
    assert "**0.72 ± 0.02**" in row10 and "**8 ± 1**" in row10  # best distinct, lowest rep
    assert "**100 ± 10**" in row1  # fastest
    tex = mt.to_latex(table)
    assert r"\textbf{0.72 $\pm$ 0.02}" in tex and r"rep\_2 $\downarrow$" in tex


def test_failed_partial_and_invalid_runs_are_reported_and_skipped(sweep, capsys):
    make_run(sweep, 6, {"sampler.alpha_window_size": 5, "seed": 0}, None)
    make_run(sweep, 7, {"sampler.alpha_window_size": 5, "seed": 1},
             {"rep_2": (1.0, False)}, status="partial")
    make_run(sweep, 8, {"sampler.alpha_window_size": 5, "seed": 2}, None, raw="{not json")
    assert mt.main([str(sweep)]) == 0
    captured = capsys.readouterr()
    assert "no metrics.json" in captured.err and "status='partial'" in captured.err
    assert "not valid JSON" in captured.err
    assert "sampler.alpha_window_size=5" not in captured.out.split("Mean ±")[0]
    assert "skipped 3 run(s)" in captured.out


def test_different_metric_sets(tmp_path):
    sweep = tmp_path / "s"
    make_run(sweep, 0, {"sampler": "alpha", "seed": 0}, {"rep_2": (1.0, False),
                                                         "accuracy": (0.5, True)})
    make_run(sweep, 1, {"sampler": "alpha", "seed": 1}, {"rep_2": (3.0, False)})
    make_run(sweep, 2, {"sampler": "top_p", "seed": 0}, {"rep_2": (1.5, False)})
    table = mt.build_table(find_runs([str(sweep)]))
    md = mt.to_markdown(table)
    assert "| sampler=alpha | 2 | 0.5 (n=1) | 2 ± 1.414 |" in md
    assert "| sampler=top_p | 1 | - | **1.5** |" in md
    assert "missing metric: accuracy: missing for sampler=top_p" in md


def test_by_merging_settings_says_the_spread_is_over_runs(tmp_path):
    """`--by` a key no run sets merges two settings of top_p and two seeds into one row of 3
    runs, so the table gets a runs column and its footer says the ± is not over seeds; a
    table whose rows differ only in the seed keeps the plain footer and no runs column."""
    sweep = tmp_path / "s"
    for i, (p, seed, rep) in enumerate([(0.8, 0, 1.0), (0.95, 0, 3.0), (0.8, 1, 2.0)]):
        make_run(sweep, i, {"sampler": "top_p", "sampler.top_p": p, "seed": seed},
                 {"rep_2": (rep, False)})
    merged = mt.build_table(find_runs([str(sweep)]), by=["seed_free_key"])  # one row of all 3
    (row,) = merged.configs
    assert merged.merged and merged.runs == {row: 3} and merged.seeds == {row: 2}
    md = mt.to_markdown(merged)
    assert "| config | seeds | runs | rep_2 ↓ |" in md
    assert f"| {row} | 2 | 3 | 2 ± 1 |" in md  # mean 2, stdev of (1, 3, 2) = 1
    assert "over a row's runs (rows merge runs of different settings" in md
    assert list(mt.to_frame(merged).columns[:3]) == ["config", "seeds", "runs"]
    assert "config & seeds & runs" in mt.to_latex(merged)
    plain = mt.build_table(find_runs([str(sweep)]))  # rows = settings: seeds only
    assert not plain.merged
    assert "Mean ± sample std over seeds;" in mt.to_markdown(plain)
    assert "runs" not in mt.to_frame(plain).columns


def test_empty_folder_and_missing_path(tmp_path, capsys):
    assert mt.main([str(tmp_path)]) == 2
    assert "no runs under" in capsys.readouterr().err
    assert mt.main([str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_all_runs_failed(tmp_path, capsys):
    make_run(tmp_path / "s", 0, {"seed": 0}, None)
    assert mt.main([str(tmp_path / "s")]) == 2
    assert "none of the 1 runs is complete" in capsys.readouterr().err


def test_unknown_metric_column(sweep, capsys):
    assert mt.main([str(sweep), "--metrics", "rep_2,bleurt"]) == 2
    assert "--metrics names ['bleurt']" in capsys.readouterr().err


def test_wandb_without_key(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc either
    assert mt.main(["--wandb", "me/alpha"]) == 2
    assert "needs an API key" in capsys.readouterr().err


def test_wandb_project_not_found(monkeypatch, capsys):
    import wandb

    class Api:  # what wandb.Api does for a project that does not exist: raise
        def runs(self, path, filters=None):
            raise ValueError(f"Could not find project {path}")

    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setattr(wandb, "Api", Api)
    assert mt.main(["--wandb", "me/no-such-project"]) == 2
    err = capsys.readouterr().err
    assert "W&B project 'me/no-such-project' could not be read" in err and "spelling" in err


def test_ties_all_marked_unless_all_equal(tmp_path):
    sweep = tmp_path / "s"
    for i, (name, rep) in enumerate([("a", 1.0), ("b", 1.0), ("c", 2.0)]):
        make_run(sweep, i, {"sampler": name, "seed": 0}, {"rep_2": (rep, False),
                                                          "zipf": (0.5, False)})
    table = mt.build_table(find_runs([str(sweep)]))
    assert table.best("rep_2") == {"sampler=a", "sampler=b"}
    assert table.best("zipf") == set()  # every config equal: no winner to mark


@pytest.mark.slow
def test_smoke_sweep_table_equals_metrics_json(tmp_path, tiny_tokenizer):
    """A real two-value sweep of run.py on the debug config; the table's numbers are the runs'
    metrics.json values (one seed each, so mean = the value and std is empty)."""
    import subprocess

    from conftest import make_tiny_model

    model_dir = tmp_path / "model"
    make_tiny_model("qwen2").save_pretrained(model_dir)
    tiny_tokenizer.save_pretrained(model_dir)
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "run.py", "-m", "debug=default", f"model.path={model_dir}",
           "sampler.alpha_window_size=1,5", f"hydra.sweep.dir={sweep}", "progress=false"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "table"
    assert mt.main([str(sweep), "--out", str(out)]) == 0
    frame = pd.read_csv(out.with_suffix(".csv")).set_index("config")
    assert len(frame) == 2
    for w in (1, 5):
        (run,) = sweep.glob(f"*sampler.alpha_window_size={w}")
        metrics = json.loads((run / "metrics.json").read_text())["metrics"]
        row = frame.loc[f"sampler.alpha_window_size={w}"]
        checked = 0
        for name, entry in metrics.items():
            if entry.get("mean") is None:
                assert f"{name}_mean" not in frame.columns or pd.isna(row[f"{name}_mean"])
                continue
            assert row[f"{name}_mean"] == pytest.approx(entry["mean"], rel=1e-12), name
            assert pd.isna(row[f"{name}_std"]) and row[f"{name}_n"] == 1
            checked += 1
        assert checked >= 5
    # --reference on real generations.jsonl (a format check; the arithmetic is checked by hand in
    # test_tables_stats.py): each per-prompt metric's difference and n are the mean and count of
    # the per-prompt differences read from the two runs' rows here
    assert mt.main([str(sweep), "--reference", "sampler.alpha_window_size=1", "--out",
                    str(out)]) == 0
    diff = pd.read_csv(out.with_name("table_diff.csv"))
    rows = {w: {r["index"]: r["metrics"] for r in map(json.loads, next(
        sweep.glob(f"*sampler.alpha_window_size={w}")).joinpath("generations.jsonl")
        .read_text().splitlines())} for w in (1, 5)}
    pooled = diff["note"].fillna("").str.contains("pooled")  # rep-n, diversity: no per-prompt
    tested = diff[diff["diff"].notna() & ~pooled]
    assert {"self_bleu", "seq_rep_4"} <= set(tested.metric)
    for rec in tested.itertuples():
        pairs = [rows[5][i][rec.metric] - rows[1][i][rec.metric] for i in rows[1]
                 if rows[1][i].get(rec.metric) is not None
                 and rows[5][i].get(rec.metric) is not None]
        assert rec.n == len(pairs) and rec.diff == pytest.approx(statistics.mean(pairs)), rec
