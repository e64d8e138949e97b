"""make_tables (alpha/runner/tables.py, behind scripts/make_tables.py) --reference / --trials
on synthetic run folders: the difference table and the budget curves against hand-computed
values (the arithmetic is in the comments)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alpha.runner import tables as mt

TEXTS = ["a b a b", "c d e f", "g h g h g", "i j k l"]
COHERENCE = {  # (method, seed) -> per-prompt coherence of prompts 0..3
    ("top_p", 0): [0.1, 0.2, 0.3, 0.4], ("top_p", 1): [0.3, 0.2, 0.1, 0.4],
    ("alpha", 0): [0.5, 0.3, 0.4, 0.5], ("alpha", 1): [0.3, 0.3, 0.4, 0.7],
}


def make_run(root: Path, num: int, method: str, seed: int, indices=(0, 1, 2, 3)) -> None:
    run = root / str(num)
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra/config.yaml").write_text(yaml.safe_dump({"seed": seed}))
    (run / ".hydra/overrides.yaml").write_text(yaml.safe_dump([f"sampler={method}",
                                                               f"seed={seed}"]))
    values = COHERENCE[(method, seed)]
    rows = [{"index": i, "text": TEXTS[i], "metrics": {"coherence": values[k]}}
            for k, i in enumerate(indices)]
    (run / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = {"coherence": (sum(values) / 4, True), "distinct_2": (0.8, True),
               "tokens_per_s": (100.0, True)}
    (run / "metrics.json").write_text(json.dumps({
        "status": "complete", "n_prompts": len(rows), "headline": None,
        "metrics": {k: {"mean": v, "higher_is_better": h} for k, (v, h) in metrics.items()}}))


@pytest.fixture
def sweep(tmp_path):
    for num, (method, seed) in enumerate(COHERENCE):
        make_run(tmp_path / "multirun", num, method, seed)
    (tmp_path / "trials.csv").write_text(
        "method,trial,objective,params\na,0,1,{}\na,1,3,{}\na,2,2,{}\nb,0,0.5,{}\nb,1,,{}\n")
    return tmp_path


def test_difference_table_and_budget_curves(sweep, capsys):
    out = sweep / "res" / "table"
    assert mt.main([str(sweep / "multirun"), "--reference", "top_p", "--trials",
                    str(sweep / "trials.csv"), "--objective", "mauve", "--out", str(out)]) == 0
    diff = pd.read_csv(out.with_name("table_diff.csv"))
    coh = diff[diff.metric == "coherence"].iloc[0]
    # per-prompt means over seeds: alpha .4 .3 .4 .6, top_p .2 .2 .2 .4 -> diffs .2 .1 .2 .2
    # mean .175; 4 wins, 0 losses -> sign p = 2/2^4; of 16 flips only "none" and "all" reach
    # |sum| = .7 -> perm p = 2/16
    assert coh.method == "sampler=alpha" and coh.reference == "sampler=top_p"
    assert coh["diff"] == pytest.approx(0.175) and coh.n == 4
    assert coh.sign_p == pytest.approx(0.125) and coh.perm_p == pytest.approx(0.125)
    assert coh.ci_lo <= 0.175 <= coh.ci_hi
    dist = diff[diff.metric == "distinct_2"].iloc[0]
    assert pd.isna(dist["diff"]) and "set-level" in dist.note
    assert "tokens_per_s" not in set(diff.metric)  # cost columns are not tested by default
    md = out.with_name("table_diff.md").read_text()
    assert "| sampler=alpha | +0.175 [" in md and "no test" in md
    assert r"$\Delta$" in out.with_name("table_diff.tex").read_text()
    curves = pd.read_csv(out.with_name("table_budget.csv"))
    # a: [1, 3, 2] -> E[best of 1] = 2, of 2 = (3 + 2 + 3) / 3, of 3 = 3; b: one of two failed
    a = curves[curves.method == "a"]
    assert a.expected.tolist() == pytest.approx([2, 8 / 3, 3])
    b = curves[curves.method == "b"].iloc[0]
    assert (b.expected, b.trials, b.dropped) == (0.5, 1, 1)
    assert out.with_name("table_budget.png").read_bytes()[:4] == b"\x89PNG"
    text = capsys.readouterr().out
    assert "E[best of 1] mauve" in text and "does not say how the trials were drawn" in text


def test_statistics_bad_input(sweep, capsys):
    root = str(sweep / "multirun")
    assert mt.main([root, "--reference", "greedy"]) == 2
    assert "--reference 'greedy' matches 0 configurations" in capsys.readouterr().err
    assert mt.main([root, "--trials", str(sweep / "trials.csv")]) == 2
    assert "give --out" in capsys.readouterr().err
    assert mt.main([root, "--trials", str(sweep / "trials.csv"), "--out",
                    str(sweep / "t")]) == 2
    assert "--objective None has no known direction" in capsys.readouterr().err
    make_run(sweep / "multirun", 9, "alpha", 1, indices=(0, 1, 2))  # 3 of the 4 prompts
    assert mt.main([root, "--reference", "top_p"]) == 2
    assert "different prompts" in capsys.readouterr().err


TUNER_TRIALS = (  # what alpha/runner/tuning.py writes: the objective's name/direction per trial
    "method,trial,objective,metric,direction,optuna_sampler,optuna_seed,tuned,params\n"
    "a,0,1,perplexity,minimize,random,0,2,{}\na,1,3,perplexity,minimize,random,0,2,{}\n"
    "a,2,2,perplexity,minimize,random,0,2,{}\n"
    "greedy,0,0.5,perplexity,minimize,none (no tunables),,0,{}\n"
    "c,0,4,perplexity,minimize,tpe,0,1,{}\nc,1,5,perplexity,minimize,tpe,0,1,{}\n")


def test_budget_curves_read_objective_and_direction_from_trials(sweep, capsys):
    (sweep / "tuner.csv").write_text(TUNER_TRIALS)
    out = sweep / "res" / "t"
    args = [str(sweep / "multirun"), "--trials", str(sweep / "tuner.csv"), "--out", str(out)]
    assert mt.main(args) == 0  # no --objective: perplexity, minimize, from the file
    text = capsys.readouterr().out
    curves = pd.read_csv(out.with_name("t_budget.csv"))
    # a: [1, 3, 2], lower is better -> best of 1 = 2, of 2 = (1 + 1 + 2) / 3, of 3 = 1
    assert curves[curves.method == "a"].expected.tolist() == pytest.approx([2, 4 / 3, 1])
    assert "E[best of 1] perplexity" in text and "direction: minimize" in text
    assert "greedy: no tunables, 1 trial: the curve is a single point" in text
    assert "c (tpe): trials not drawn by random search" in text
    assert "a (random)" not in text and "does not say how" not in text
    # --objective renames; its own direction applies (mauve: higher is better) -> 2, 8/3, 3
    assert mt.main(args + ["--objective", "mauve"]) == 0
    assert "renames the trials' metric 'perplexity'" in capsys.readouterr().out
    a = pd.read_csv(out.with_name("t_budget.csv")).query("method == 'a'")
    assert a.expected.tolist() == pytest.approx([2, 8 / 3, 3])
    assert mt.main(args + ["--objective", "mauve", "--direction", "minimize"]) == 0
    a = pd.read_csv(out.with_name("t_budget.csv")).query("method == 'a'")
    assert a.expected.tolist() == pytest.approx([2, 4 / 3, 1])


def test_budget_curves_of_two_studies(sweep, capsys):
    """--trials A,B: a method in both files is labelled by its folder (the equal-range check:
    top_p re-tuned in another range beside the main study); a method in one keeps its name."""
    (sweep / "main").mkdir()
    (sweep / "main" / "trials.csv").write_text(TUNER_TRIALS)  # a: [1, 3, 2], greedy, c
    (sweep / "narrow").mkdir()
    (sweep / "narrow" / "trials.csv").write_text(
        "method,trial,objective,metric,direction,optuna_sampler,optuna_seed,tuned,params\n"
        "a,0,5,perplexity,minimize,random,0,2,{}\na,1,4,perplexity,minimize,random,0,2,{}\n")
    out = sweep / "res" / "two"
    trials = f"{sweep / 'main' / 'trials.csv'},{sweep / 'narrow' / 'trials.csv'}"
    assert mt.main([str(sweep / "multirun"), "--trials", trials, "--out", str(out)]) == 0
    curves = pd.read_csv(out.with_name("two_budget.csv"))
    assert set(curves.method) == {"a (main)", "a (narrow)", "greedy", "c"}
    # narrow a: [5, 4], lower is better -> best of 1 = 4.5, best of 2 = 4
    assert curves[curves.method == "a (narrow)"].expected.tolist() == pytest.approx([4.5, 4])
    assert curves[curves.method == "a (main)"].expected.tolist() == pytest.approx([2, 4 / 3, 1])
    assert "c (tpe): trials not drawn by random search" in capsys.readouterr().out
    # --trial-methods: a name keeps its curves from both files; an unknown name is one line
    assert mt.main([str(sweep / "multirun"), "--trials", trials, "--trial-methods", "a,greedy",
                    "--out", str(out)]) == 0
    curves = pd.read_csv(out.with_name("two_budget.csv"))
    assert set(curves.method) == {"a (main)", "a (narrow)", "greedy"}
    capsys.readouterr()
    assert mt.main([str(sweep / "multirun"), "--trials", trials, "--trial-methods", "top_p",
                    "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--trial-methods names ['top_p'], which no trials.csv has" in err
    assert "\n" not in err.strip()
    (sweep / "narrow" / "trials.csv").write_text(
        "method,trial,objective,metric,direction,params\na,0,5,mauve,maximize,{}\n")
    assert mt.main([str(sweep / "multirun"), "--trials", trials, "--out", str(out)]) == 2
    assert "metric 'mauve' differs from 'perplexity'" in capsys.readouterr().err


def test_statistics_more_bad_input(sweep, capsys):
    root = str(sweep / "multirun")
    (sweep / "mixed.csv").write_text(TUNER_TRIALS + "d,0,1,mauve,maximize,random,0,1,{}\n")
    assert mt.main([root, "--trials", str(sweep / "mixed.csv"), "--out", str(sweep / "t")]) == 2
    assert "mixes metrics ['mauve', 'perplexity']" in capsys.readouterr().err
    assert mt.main([root, "--reference", "top_p", "--diff-metrics", "coherense"]) == 2
    err = capsys.readouterr().err
    assert "--diff-metrics names ['coherense'], which no run has" in err and "\n" not in err.strip()
    single = sweep / "single"
    make_run(single, 0, "top_p", 0)
    assert mt.main([str(single), "--reference", "top_p"]) == 2
    assert "is the only configuration" in capsys.readouterr().err


def test_generations_with_unicode_line_separators_read_back(tmp_path):
    """The runner writes rows with ensure_ascii=False, so U+2028, U+2029 and U+0085 sit raw
    inside JSON strings; str.splitlines would break those rows in two (it did, on a Study 1
    test run whose text held a U+2028). Every reader of generations.jsonl splits at "\\n"."""
    from alpha.runner.experiment import append_rows
    from alpha.runner.plots import load_records
    from alpha.runner.runs import Run, read_generations

    texts = ["line one\u2028line two", "next\x85line", "para\u2029graph", "plain"]
    rows = [{"index": i, "text": t, "metrics": {"coherence": 0.5}} for i, t in enumerate(texts)]
    append_rows(tmp_path / "generations.jsonl", rows)
    (tmp_path / "metrics.json").write_text(json.dumps({"status": "complete", "n_prompts": 4}))
    assert "\u2028" in (tmp_path / "generations.jsonl").read_text(encoding="utf-8")  # raw, as written
    got = read_generations(Run(str(tmp_path), {}, {}))
    assert [r["text"] for r in got] == texts
    assert [r["text"] for r in load_records(tmp_path)] == texts


def test_separability_table_from_run_folders(sweep, capsys):
    """Two methods, one pair, coherence (tested) and distinct_2 (no per-prompt values): the
    one test's Holm p is its permutation p (2/16, as in the difference table above)."""
    out = sweep / "res" / "table"
    assert mt.main([str(sweep / "multirun"), "--separability", "coherence,distinct_2",
                    "--out", str(out)]) == 0
    sep = pd.read_csv(out.with_name("table_separability.csv"))
    coh = sep[sep.metric == "coherence"].iloc[0]
    assert {coh.A, coh.B} == {"sampler=alpha", "sampler=top_p"}
    assert coh.perm_p == pytest.approx(0.125) and coh.holm_p == pytest.approx(0.125)
    assert coh.verdict == "not separable"  # 0.125 >= 0.05: four prompts cannot separate them
    assert sep[sep.metric == "distinct_2"].iloc[0].verdict == "no test"
    assert "Holm-adjusted over all 1 tests" in out.with_name("table_separability.md").read_text()
