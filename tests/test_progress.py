"""Progress for long work: a bar over the evaluation's metrics, a line per finished sweep job
(done / total, ETA) and the sweep's summary table. References: hand-computed bar texts, job
counts worked out from each grid by hand, and the `run.py -m` subprocess of tests/test_run.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from alpha.evaluation import evaluate_records
from alpha.runner.sweep_progress import progress_line, summary_rows, sweep_size

ROOT = Path(__file__).resolve().parents[1]


def test_evaluation_shows_a_bar_over_its_metrics(capsys):
    recs = [{"prompt": "Hi", "text": "a b a b a"}, {"prompt": "Yo", "text": "c d e f"}]
    evaluate_records(recs, metrics=["rep_2", "distinct_2"], progress=True)
    err = capsys.readouterr().err
    assert "evaluating" in err and "2/2" in err and "distinct_2" in err
    evaluate_records(recs, metrics=["rep_2"])
    assert capsys.readouterr().err == ""  # off unless asked (the runner passes `progress`)


def test_progress_line_by_hand():
    assert progress_line(3, 12, 62.0) == ("sweep [#####---------------] 3/12 jobs, 1m02s elapsed, "
                                          "ETA 3m06s")  # 62 s / 3 jobs x 9 left = 186 s
    assert progress_line(0, 4, 5.0).endswith("0/4 jobs, 0m05s elapsed, ETA ?")
    assert progress_line(2, None, 3700.0) == "sweep: 2 jobs done, 1h01m elapsed"


def _hydra_cfg(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    GlobalHydra.instance().clear()
    return cfg


@pytest.mark.parametrize(("overrides", "cli", "jobs"), [
    ([], ["seed=0,1,2", "sampler.alpha_window_size=1,5"], 6),
    (["experiment=bounds"], [], 9),  # its file grid: 3 presets x 3 seeds
    (["experiment=bounds"], ["seed=0"], 3),  # the command line wins over the file's seeds
    ([], ["seed=range(0,4)"], 4),
    (["hydra/sweeper=tune", "hydra.sweeper.n_trials=7"], [], 7),
])
def test_sweep_size_counts_the_grid(overrides, cli, jobs):
    cfg = _hydra_cfg(*overrides)  # compose refuses sweep lists: Hydra's sweeper expands them
    cfg.hydra.overrides.task = [*overrides, *cli]  # what Hydra records of the command line
    assert sweep_size(cfg) == jobs


def test_summary_rows_rank_the_jobs_best_first(tmp_path):
    for name, value, better in (("0_seed=0", 0.2, True), ("1_seed=1", 0.5, True),
                                ("2_seed=2", None, True)):
        d = tmp_path / name
        (d / ".hydra").mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({
            "status": "complete", "headline": {"name": "mauve", "value": value},
            "metrics": {"mauve": {"higher_is_better": better}}}))
    (tmp_path / "3_failed" / ".hydra").mkdir(parents=True)  # a job that never wrote metrics
    rows = summary_rows(tmp_path)
    assert [r["job"] for r in rows] == ["1_seed=1", "0_seed=0", "2_seed=2", "3_failed"]
    assert rows[-1]["status"] == "no metrics.json"
