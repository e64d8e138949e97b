"""The equal-budget tuner: bad tuning configs fail before any run; a two-trial smoke study.

Bad inputs tried (each must exit 2 with one line, before any run folder exists): an unknown
method, fewer than two seeds, an objective the evaluation config does not compute, an objective
without a direction, trials=0, an unknown config key, and (on a copied conf/) an empty search
range, a log range with low <= 0 and a search_space key that is not a sampler parameter.
The smoke study (tiny random model saved to a folder, debug config, 2 trials, 2 seeds) is
checked against the run folders read independently: the winner is the best trial by the
objective in its metrics.json, the test runs used the winner's parameters, and the table's
mean/std equal `statistics.mean/stdev` over the seeds; then make_tables (alpha/runner/tables.py) runs on it.
Its dev trials are random search: their parameters equal the draws of Optuna's own
RandomSampler with the study's seed, asked directly for the method's search space.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys

import pandas as pd
import pytest
import yaml
from conftest import ROOT, make_tiny_model

from alpha.runner import tables, tuning

sys.path.insert(0, str(ROOT / "scripts"))
import tune  # noqa: E402

SMOKE = dict(methods=["top_p"], trials=2, objective="distinct_2", seeds=[0, 1],
             overrides=["debug=default", "evaluation=fast", "num_prompts=2",
                        "max_new_tokens=6", "progress=false"])


def _write(tmp_path, **cfg):
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({**SMOKE, "out_dir": str(tmp_path / "out"), **cfg}))
    return str(path)


@pytest.mark.parametrize("change,message", [
    (dict(methods=["top_p", "nucleus"]), "method 'nucleus' is not a sampler option"),
    (dict(seeds=[0]), "seeds=[0]: a mean +/- std needs at least two"),
    (dict(seeds=[3, 3]), "seeds=[3, 3]: a mean +/- std needs at least two"),
    (dict(objective="mauve"), "objective='mauve' is not computed by the evaluation config"),
    (dict(objective="zipf"), "objective='zipf' has no natural direction"),
    (dict(trials=0), "trials=0 is invalid: use an integer in [1, inf)"),
    (dict(trails=3), "tuning config has unknown key(s) ['trails']"),
    (dict(sampler="grid"), "sampler='grid' is unknown; choose one of ['random', 'tpe']"),
    (dict(tpe_seed=1, sampler_seed=2), "sets both tpe_seed and sampler_seed"),
    (dict(test_dir="dev"), "test_dir='dev' must be a folder name under out_dir"),
    (dict(test_dir="a/b"), "test_dir='a/b' must be a folder name under out_dir"),
], ids=["unknown-method", "one-seed", "repeated-seed", "objective-not-computed",
        "objective-no-direction", "zero-trials", "unknown-key", "unknown-sampler",
        "two-seed-names", "test-dir-dev", "test-dir-nested"])
def test_bad_config_exits_2_before_any_run(tmp_path, capsys, change, message):
    assert tune.main([_write(tmp_path, **change)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tune: ") and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("space,message", [
    ({"top_p": {"type": "float", "low": 0.9, "high": 0.9}}, "empty range (low=0.9 >= high=0.9)"),
    ({"top_p": {"type": "float", "low": 0.0, "high": 0.9, "log": True}}, "a log range needs"),
    ({"top_q": {"type": "float", "low": 0.1, "high": 0.9}}, "search_space.top_q is not a param"),
    ({"top_p": {"type": "str", "low": 0.1, "high": 0.9}}, "type='str' is unknown"),
])
def test_bad_search_space(tmp_path, space, message):
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    spec = yaml.safe_load((conf / "sampler" / "top_p.yaml").read_text())
    spec["search_space"] = space
    (conf / "sampler" / "top_p.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(ValueError, match="^top_p: ") as err:
        tuning.make_plan(tuning.load_config(_write(tmp_path)), conf=conf)
    assert message in str(err.value)


def test_an_option_extending_alpha_gets_alphas_search_space(tmp_path):
    """alpha_lexical's YAML holds only its delta (a defaults list): the space is alpha's."""
    plan = tuning.make_plan(tuning.load_config(_write(tmp_path),
                                               ["methods=[alpha,alpha_lexical]"]))
    assert plan.spaces["alpha_lexical"] == plan.spaces["alpha"]
    names = yaml.safe_load((ROOT / "conf/sampler/alpha.yaml").read_text())["search_space"]
    assert [p.name for p in plan.spaces["alpha"]] == list(names)
    cmd = tuning.dev_command(plan, "alpha_lexical", tmp_path / "dev")
    assert "sampler=alpha_lexical" in cmd
    assert any(c.startswith("sampler.target_scale=interval(") for c in cmd)


def test_param_overrides_are_optuna_sweeps():
    assert tuning.Param("top_p", "float", 0.5, 1).override() == "sampler.top_p=interval(0.5, 1.0)"
    assert (tuning.Param("top_k", "int", 2, 200, log=True).override()
            == "sampler.top_k=tag(log, int(interval(2, 200)))")


def test_random_search_is_the_default_and_seeded(tmp_path):
    plan = tuning.make_plan(tuning.load_config(_write(tmp_path)))
    cmd = tuning.dev_command(plan, "top_p", tmp_path / "dev")
    assert plan.config.sampler == "random"
    assert "hydra/sweeper/sampler=random" in cmd and "hydra.sweeper.sampler.seed=0" in cmd
    plan = tuning.make_plan(tuning.load_config(_write(tmp_path), ["sampler=tpe", "tpe_seed=3"]))
    cmd = tuning.dev_command(plan, "top_p", tmp_path / "dev")  # TPE stays an option
    assert "hydra/sweeper/sampler=tpe" in cmd and "hydra.sweeper.sampler.seed=3" in cmd


def test_no_tunables_say_one_trial(tmp_path):
    """The comparison table names the methods that got one trial (a point budget curve)."""
    for method in ("greedy", "top_p"):
        run = tmp_path / "test" / method / "seed0"
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra/config.yaml").write_text(yaml.safe_dump({"seed": 0,
                                                                "sampler": {"name": method}}))
        (run / "metrics.json").write_text(json.dumps({"status": "complete", "metrics": {
            "distinct_2": {"mean": 0.5, "higher_is_better": True}}}))
    plan = tuning.Plan(tuning.load_config(_write(tmp_path)), {}, "maximize")
    winners = {m: {"params": {}, "objective": 0.5, "trials": n, "tuned": n - 1}
               for m, n in (("greedy", 1), ("top_p", 3))}
    md, _ = tuning.comparison_table(plan, winners, tmp_path / "test")
    assert "no tunables, so 1 trial each (budget curve = a single point): greedy\n" in md
    assert "drawn by Optuna's random seed 0 sampler" in md


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory):
    """Two trials of top_p on dev, the winner on test with seeds 0 and 1 (tiny random model)."""
    tmp = tmp_path_factory.mktemp("tune")
    model = make_tiny_model("qwen2")
    model.save_pretrained(tmp / "model")
    shutil.copytree(ROOT / "tests" / "assets" / "tokenizer", tmp / "model", dirs_exist_ok=True)
    cfg = {**SMOKE, "out_dir": str(tmp / "out"), "sampler_seed": 5,
           "overrides": SMOKE["overrides"] + [f"model.path={tmp / 'model'}"]}
    (tmp / "tune.yaml").write_text(yaml.safe_dump(cfg))
    os.environ["HF_HUB_OFFLINE"] = "1"  # inherited by the run.py subprocesses
    assert tune.main([str(tmp / "tune.yaml")]) == 0  # in-process; run.py runs as subprocesses
    return tmp / "out"


def test_smoke_study_picks_best_trial_and_tests_it(smoke_study):
    dev = sorted((smoke_study / "dev" / "top_p").glob("*/metrics.json"))
    assert len(dev) == 2  # the equal budget
    scores = {p.parent.name: json.loads(p.read_text())["metrics"]["distinct_2"]["mean"]
              for p in dev}
    winners = yaml.safe_load((smoke_study / "winners.yaml").read_text())
    w = winners["top_p"]
    assert w["objective"] == max(scores.values()) and w["trials"] == 2 and w["tuned"] == 2
    assert set(w["params"]) == {"sampler.top_p", "sampler.temperature"}
    test_runs = sorted((smoke_study / "test" / "top_p").glob("*/metrics.json"))
    assert len(test_runs) == 2
    for run in test_runs:
        overrides = yaml.safe_load((run.parent / ".hydra" / "overrides.yaml").read_text())
        for key, value in w["params"].items():
            assert f"{key}={value}" in overrides
        assert "dataset.split=test" in overrides


def test_smoke_table_mean_std_match_runs(smoke_study):
    runs = [json.loads(p.read_text())["metrics"]
            for p in sorted((smoke_study / "test" / "top_p").glob("*/metrics.json"))]
    row = next(r for r in _csv(smoke_study / "table.csv") if r["method"] == "top_p")
    for metric in ("tokens_per_s", "distinct_1"):
        values = [r[metric]["mean"] for r in runs]
        assert float(row[f"{metric}_mean"]) == pytest.approx(statistics.mean(values))
        assert float(row[f"{metric}_std"]) == pytest.approx(statistics.stdev(values))
    assert "| top_p | 2 | 2 |" in (smoke_study / "table.md").read_text()


def test_smoke_trials_are_seeded_random_draws(smoke_study):
    """Dev parameters = Optuna's RandomSampler(seed=5) asked for top_p's search space, in
    trial order, inside the bounds; trials.csv says how they were drawn and scored."""
    import warnings

    import optuna
    from optuna.distributions import (
        IntLogUniformDistribution,
        IntUniformDistribution,
        LogUniformDistribution,
        UniformDistribution,
    )

    space = yaml.safe_load((ROOT / "conf/sampler/top_p.yaml").read_text())["search_space"]
    kinds = {("float", False): UniformDistribution, ("float", True): LogUniformDistribution,
             ("int", False): IntUniformDistribution, ("int", True): IntLogUniformDistribution}
    dists = {f"sampler.{k}": kinds[v["type"], v.get("log", False)](v["low"], v["high"])
             for k, v in space.items()}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna 2.x deprecates the Uniform* names
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
        expected = []
        for _ in range(2):
            trial = study.ask(dists)
            expected.append(trial.params)
            study.tell(trial, 0.0)
    drawn = []
    for num in (0, 1):
        overrides = yaml.safe_load((smoke_study / "dev/top_p" / str(num) / ".hydra/overrides.yaml")
                                   .read_text())
        drawn.append({k: float(v) for k, v in (o.split("=", 1) for o in overrides)
                      if k in dists})
    assert drawn == [pytest.approx(e, rel=1e-12) for e in expected]
    for params in drawn:
        for key, dist in dists.items():
            assert dist.low <= params[key] <= dist.high
    assert "drawn by Optuna's random seed 5 sampler" in (smoke_study / "table.md").read_text()
    rows = _csv(smoke_study / "trials.csv")
    assert len(rows) == 2
    for row in rows:
        assert (row["metric"], row["direction"], row["optuna_sampler"], row["optuna_seed"],
                row["tuned"]) == ("distinct_2", "maximize", "random", "5", "2")


def test_make_tables_script_on_smoke_output(smoke_study, tmp_path, capsys):
    make_tables = tables
    argv = [str(smoke_study / "test"), "--by", "sampler.name", "--out", str(tmp_path / "t")]
    assert make_tables.main(argv) == 0
    assert "sampler.name=top_p" in (tmp_path / "t.md").read_text()
    # the budget curve of the tuner's own trials.csv, objective and direction read from it
    assert make_tables.main(argv + ["--trials", str(smoke_study / "trials.csv")]) == 0
    assert "E[best of 1] distinct_2" in capsys.readouterr().out
    scores = sorted(float(r["objective"]) for r in _csv(smoke_study / "trials.csv"))
    curve = pd.read_csv(tmp_path / "t_budget.csv")
    # two trials, higher is better: best of 1 = their mean, best of 2 = the larger
    assert curve.expected.tolist() == pytest.approx([sum(scores) / 2, scores[1]])


def _csv(path):
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_inputs_are_checksummed(smoke_study):
    """The study records its dataset/model files' sha256, to detect a change mid-study."""
    import hashlib

    inputs = json.loads((smoke_study / "inputs.json").read_text())
    weights = [f for f in inputs if f.endswith("model.safetensors")]
    data = [f for f in inputs if f.endswith("heldout_passages.jsonl")]
    assert len(weights) == 1 and len(data) == 1
    for f in weights + data:
        with open(f, "rb") as fh:
            assert inputs[f] == hashlib.sha256(fh.read()).hexdigest()


def test_test_false_runs_dev_trials_only(tmp_path, monkeypatch):
    """test=false: the dev sweep runs, winners.yaml/trials.csv are written, no test command and
    no comparison table (the budget-curve-only studies, e.g. open_ended's equal-range check)."""
    calls = []

    def fake_call(cmd, log):  # stands in for `run.py -m` on dev: two finished trials
        calls.append(cmd)
        for trial, score in (("0", 0.2), ("1", 0.7)):
            run = tmp_path / "out" / "dev" / "top_p" / trial
            (run / ".hydra").mkdir(parents=True)
            (run / ".hydra/overrides.yaml").write_text(yaml.safe_dump([f"sampler.top_p=0.{trial}9"]))
            (run / "metrics.json").write_text(json.dumps({"status": "complete", "metrics": {
                "distinct_2": {"mean": score}}}))

    monkeypatch.setattr(tuning, "_call", fake_call)
    cfg = tuning.load_config(_write(tmp_path, trials=2), ["test=false"])
    assert cfg.test is False
    space = [tuning.Param(name="top_p", type="float", low=0.5, high=1.0)]
    assert tuning.run_study(tuning.Plan(cfg, {"top_p": space}, "maximize"), echo=lambda *_: None) == []
    assert len(calls) == 1 and "dataset.split=dev" in calls[0]
    winners = yaml.safe_load((tmp_path / "out" / "winners.yaml").read_text())
    assert winners["top_p"]["params"] == {"sampler.top_p": "0.19"}  # trial 1 scored 0.7
    assert len(pd.read_csv(tmp_path / "out" / "trials.csv")) == 2
    assert not (tmp_path / "out" / "test").exists() and not (tmp_path / "out" / "table.md").exists()


def test_test_dir_reuses_the_dev_winners_in_another_folder(tmp_path, monkeypatch):
    """test_dir=test512: finished dev trials are reused (no dev command), the winner's test runs
    go to out_dir/test512/METHOD (the confirmatory stage at another size), the table reads them."""
    calls = []

    def fake_call(cmd, log):
        calls.append(cmd)
        if "dataset.split=dev" in cmd:
            for trial, score in (("0", 0.2), ("1", 0.7)):
                run = tmp_path / "out" / "dev" / "top_p" / trial
                (run / ".hydra").mkdir(parents=True)
                (run / ".hydra/overrides.yaml").write_text(
                    yaml.safe_dump([f"sampler.top_p=0.{trial}9"]))
                (run / "metrics.json").write_text(json.dumps({"status": "complete", "metrics": {
                    "distinct_2": {"mean": score}}}))

    monkeypatch.setattr(tuning, "_call", fake_call)
    space = [tuning.Param(name="top_p", type="float", low=0.5, high=1.0)]
    first = tuning.load_config(_write(tmp_path, trials=2), ["test=false"])
    tuning.run_study(tuning.Plan(first, {"top_p": space}, "maximize"), echo=lambda *_: None)
    cfg = tuning.load_config(_write(tmp_path, trials=2), ["test_dir=test512",
                                                           "extra_overrides=[num_prompts=8]"])
    monkeypatch.setattr(tuning, "comparison_table", lambda plan, w, root: (str(root), []))
    tuning.run_study(tuning.Plan(cfg, {"top_p": space}, "maximize"), echo=lambda *_: None)
    assert len(calls) == 2 and "dataset.split=test" in calls[1]  # dev ran once
    assert f"hydra.sweep.dir={tmp_path / 'out' / 'test512' / 'top_p'}" in calls[1]
    assert "num_prompts=8" in calls[1] and "sampler.top_p=0.19" in calls[1]
    assert (tmp_path / "out" / "table.md").read_text() == str(tmp_path / "out" / "test512")


def test_test_must_be_a_bool(tmp_path):
    with pytest.raises(ValueError, match="test='no' is invalid: use true or false"):
        tuning.load_config(_write(tmp_path, test="no"))


def test_package_index_inputs_are_recorded_by_their_catalogue_sha256():
    """Study 1's models and data come from the package index (`source:`), not local paths:
    inputs.json names each with the sha256 alpha.fetch verifies (written in the catalogue
    from the published files), here checked against the values of docs/cards."""
    run_cfg = tuning.compose(["model=smollm2-135m", "dataset=owt", "evaluation=full",
                              "evaluation.oracle=gemma3-270m"])
    got = tuning.catalogue_inputs(run_cfg)
    assert got["catalogue:owt (owt_5.jsonl)"] == (
        "095ceeb4ac1248bcaac4952056c6ccd5872410fc6a8b55d46244d57f27cfbb8b")
    assert got["catalogue:smollm2-135m (SmolLM2-135M-Instruct.Q4_1.gguf)"].startswith("b179c9523d0e")
    assert any(k.startswith("catalogue:gemma3-270m (") for k in got) and len(got) == 3


def test_trials_on_test_runs_every_dev_trial_on_test(smoke_study, tmp_path):
    """trials_on_test=true (test=false) on a finished study: no dev run again, each of the two
    dev trials once on test with its own parameters, the first seed and trial_test_overrides, in
    out/test_trials/top_p/trial<N>; a second call finds them finished and runs nothing."""
    out = tmp_path / "out"
    shutil.copytree(smoke_study, out)
    cfg = yaml.safe_load((smoke_study.parent / "tune.yaml").read_text())
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump({**cfg, "out_dir": str(out)}))
    args = [str(path), "test=false", "trials_on_test=true", "test_dir=test_trials",
            "trial_test_overrides=[num_prompts=1]"]
    dev_before = sorted(p.stat().st_mtime for p in (out / "dev").rglob("metrics.json"))
    assert tune.main(args) == 0
    assert sorted(p.stat().st_mtime for p in (out / "dev").rglob("metrics.json")) == dev_before
    for trial in ("0", "1"):
        dev = yaml.safe_load((out / "dev" / "top_p" / trial / ".hydra/overrides.yaml").read_text())
        run = out / "test_trials" / "top_p" / f"trial{trial}"
        meta = json.loads((run / "metrics.json").read_text())
        assert meta["status"] == "complete" and meta["n_prompts"] == 1
        overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
        assert "dataset.split=test" in overrides and "seed=0" in overrides
        assert [o for o in dev if o.startswith("sampler.")] == \
            [o for o in overrides if o.startswith("sampler.") and "=" in o]
    stamp = (out / "test_trials" / "top_p" / "trial0" / "metrics.json").stat().st_mtime
    assert tune.main(args) == 0  # resumed: both finished, nothing re-run
    assert (out / "test_trials" / "top_p" / "trial0" / "metrics.json").stat().st_mtime == stamp


def test_trials_on_test_bad_configs(tmp_path):
    with pytest.raises(ValueError, match="trials_on_test=true runs every dev trial on test"):
        tuning.load_config(_write(tmp_path, trials_on_test=True))
    with pytest.raises(ValueError, match="trial_test_overrides='num_prompts=1' must be a list"):
        tuning.load_config(_write(tmp_path, test=False, trial_test_overrides="num_prompts=1"))
    cfg = tuning.load_config(_write(tmp_path, test=False, trials_on_test=True,
                                    trial_test_overrides=["evaluation.metrics=[rep_2]"]))
    with pytest.raises(ValueError, match="evaluation.headline='diversity' is not among "
                                         r"evaluation.metrics=\['rep_2'\]"):
        tuning.make_plan(cfg)  # before any run: the trial runs' own evaluation is checked
    cfg.trial_test_overrides.append("evaluation.headline=rep_2")
    assert tuning.make_plan(cfg).config.trials_on_test
