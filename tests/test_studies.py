"""The issue-15 study definitions compose and validate, so they cannot rot before they are run.

Study experiment files (conf/experiment/*.yaml with tags: [study, ...]) expand to their grid the
way Hydra's basic sweeper does, and every seed-0 grid point composes, builds its sampler through
the runner's registry (which validates every parameter) and carries the hand-written values
below. Tuning configs (conf/tune/*.yaml) load and plan through scripts/tune.py's own functions
(unknown method, empty search range, objective the evaluation does not compute: all refused
there). The study run scripts name only experiment/tune files that exist.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from alpha.runner import config as hc
from alpha.runner.tuning import load_config, make_plan

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
STUDIES = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")
                 if list(OmegaConf.load(p).get("tags") or [""])[0] == "study")
TUNES = sorted(p.stem for p in (CONF / "tune").glob("*.yaml"))
TEMPERATURES = [0.7, 1.0, 1.5, 2.0, 3.0, 5.0]  # the min-p paper's grid (issue 15) + T = 5 (issue 25)


def grid(name: str) -> list[list[str]]:
    cfg = OmegaConf.load(CONF / "experiment" / f"{name}.yaml")
    parser = OverridesParser.create()
    axes = []
    for key, value in cfg.hydra.sweeper.params.items():
        (override,) = parser.parse_overrides([f"{key}={value}"])
        axes.append([f"{key}={v}" for v in override.sweep_string_iterator()])
    return [list(combo) for combo in itertools.product(*axes)]


def compose_plain(overrides: list[str]) -> dict:
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[*overrides, "output_dir=/tmp/unused"],
                      return_hydra_config=True)
    sweep_dir = cfg.hydra.sweep.dir
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    return {**hc.to_plain(cfg), "_sweep_dir": sweep_dir}


def test_the_studies_are_found():
    assert {"temperature_robustness", "temperature_robustness_alpha"} <= set(STUDIES)
    assert "open_ended" in TUNES


@pytest.mark.parametrize("name", STUDIES)
def test_study_conventions(name):
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert f"python run.py -m experiment={name}" in text
    cfg = OmegaConf.load(CONF / "experiment" / f"{name}.yaml")
    assert cfg.task_name.startswith("study_")
    # replication: three seeds, or one seed and several samples of each prompt (num_samples)
    assert str(cfg.hydra.sweeper.params.seed) == ("0" if cfg.get("num_samples", 1) > 1 else "0,1,2")
    # a fixed sweep folder (no timestamp), so re-running the same command resumes it
    assert str(cfg.hydra.sweep.dir).startswith("multirun/study_")
    assert "${now:" not in str(cfg.hydra.sweep.dir)


# hand-written: grid size and, per grid point (seed dropped), the values the run must get
EXPECTED = {
    "temperature_robustness": (3 * 5 * 3, {
        ("sampler=min_p", "sampler.temperature=3.0"): {"name": "min_p", "min_p": 0.1,
                                                       "temperature": 3.0},
        ("sampler=top_p", "sampler.temperature=0.7"): {"name": "top_p", "top_p": 0.9,
                                                       "temperature": 0.7},
        ("sampler=temperature", "sampler.temperature=1.5"): {"name": "temperature",
                                                             "temperature": 1.5},
    }),
    "temperature_robustness_heat": (4 * 6 * 3, {
        # the authors' settings (conf/sampler defaults) at every T, T = 5 included
        ("sampler=mirostat_v2", "sampler.temperature=5.0"): {"name": "mirostat_v2", "tau": 5.0,
                                                             "eta": 0.1, "temperature": 5.0},
        ("sampler=top_n_sigma", "sampler.temperature=0.7"): {"name": "top_n_sigma", "n": 1.0},
        ("sampler=top_h", "sampler.temperature=3.0"): {"name": "top_h", "top_h": 0.4},
        ("sampler=p_less", "sampler.temperature=1.5"): {"name": "p_less", "temperature": 1.5},
    }),
    "temperature_robustness_alpha": (5 * 3, {
        # the ceiling at T; base_temp 0.8 stays (the runner clamps it to T when T < 0.8)
        ("sampler.temp_max=3.0",): {"name": "alpha", "temp_max": 3.0, "base_temp": 0.8,
                                    "temp_min": 0.1},
        ("sampler.temp_max=0.7",): {"name": "alpha", "temp_max": 0.7, "base_temp": 0.8},
    }),
    "temperature_robustness_alpha_base_at_T": (5 * 3, {
        # the stricter mapping: operating point and ceiling both at T
        ("sampler.temp_max=3.0",): {"name": "alpha", "temp_max": 3.0, "base_temp": 3.0,
                                    "temp_min": 0.1},
        ("sampler.temp_max=1.5",): {"name": "alpha", "temp_max": 1.5, "base_temp": 1.5},
    }),
}


def test_every_study_has_its_grid_checked():
    """The temperature studies' grids are checked below; study4 and its GSM8K task (k samples,
    no temperature grid) compose in tests/test_sampled.py."""
    assert set(STUDIES) == set(EXPECTED) | {"study4", "study4_gsm8k"}


@pytest.mark.parametrize("name", [n for n in STUDIES if n in EXPECTED])
def test_study_grid_composes_and_validates(name):
    points = grid(name)
    size, expected = EXPECTED[name]
    assert len(points) == size
    seen = set()
    for point in (p for p in points if "seed=0" in p):
        c = compose_plain([f"experiment={name}", *point])
        hc.build_sampler(c["sampler"])  # the registry validates every parameter
        run = hc.settings(c)
        hc.dataset_kwargs(c["dataset"], run)
        spec = hc.experiment_spec(c, run)
        assert {"gsm8k_strict", "gsm8k_flexible"} <= set(spec.evaluation["metrics"])
        assert c["model"]["source"] == "qwen2.5-coder-0.5b" and c["dataset"]["source"] == "multiarith"  # above the floor
        key = tuple(o for o in point if not o.startswith("seed="))
        temps = [float(o.split("=")[1]) for o in key if "temp" in o.split("=")[0]]
        assert temps and temps[0] in TEMPERATURES
        for field, value in expected.get(key, {}).items():
            want = value if isinstance(value, str) else pytest.approx(value)
            assert c["sampler"][field] == want, (name, key, field)
        seen.add(key)
    assert set(expected) <= seen


def test_both_halves_of_study_2_share_data_and_sizes():
    a = compose_plain(["experiment=temperature_robustness", "sampler=top_p"])
    for other in (["experiment=temperature_robustness_alpha"],
                  ["experiment=temperature_robustness_heat", "sampler=top_h"]):
        b = compose_plain(other)
        for key in ("num_prompts", "max_new_tokens", "dataset", "model", "evaluation",
                    "batch_size", "seed", "cpu_threads"):
            assert a[key] == b[key], (other, key)
        assert a["_sweep_dir"] != b["_sweep_dir"]


def test_the_stricter_alpha_mapping_shares_the_ceiling_runs_data():
    a = compose_plain(["experiment=temperature_robustness_alpha", "sampler.temp_max=2.0"])
    b = compose_plain(["experiment=temperature_robustness_alpha_base_at_T", "sampler.temp_max=2.0"])
    assert b["sampler"]["base_temp"] == 2.0 and a["sampler"]["base_temp"] == 0.8
    assert {k: v for k, v in a["sampler"].items() if k != "base_temp"} == \
        {k: v for k, v in b["sampler"].items() if k != "base_temp"}
    for key in ("num_prompts", "max_new_tokens", "dataset", "model", "evaluation", "seed"):
        assert a[key] == b[key], key
    assert b["_sweep_dir"] == "multirun/study_temperature_robustness/alpha_base_at_T"
    hc.build_sampler(b["sampler"])


@pytest.mark.parametrize("name", TUNES)
def test_tune_config_plans(name):
    plan = make_plan(load_config(str(CONF / "tune" / f"{name}.yaml")))
    assert plan.config.trials >= 1 and len(plan.config.seeds) >= 2


def test_open_ended_is_the_issues_study():
    plan = make_plan(load_config(str(CONF / "tune" / "open_ended.yaml")))
    c = plan.config
    assert set(c.methods) == {"pure", "temperature", "top_k", "top_p", "min_p", "typical", "eta",
                              "epsilon", "edt", "dynatemp", "entropix", "alpha", "alpha_seed",
                              "greedy", "alpha_lexical"}  # + the issue's named variant
    assert plan.spaces["alpha_lexical"] == plan.spaces["alpha"]  # the same budget and space
    assert "evaluation.options.mauve_feature_model=oracle" in c.overrides  # MiniLM saturates
    assert c.trials >= 10 and c.sampler == "random" and c.seeds == [0, 1, 2]
    assert c.objective == "mauve" and plan.direction == "maximize"
    assert not c.results_dir.startswith("outputs/") and c.out_dir.startswith("multirun/")
    assert "evaluation.oracle=gemma3-270m" in c.overrides


def test_study_scripts_name_existing_configs():
    for script in sorted((ROOT / "experiments").glob("*/run*.sh")):
        text = script.read_text()
        for name in re.findall(r"experiment=([\w]+)", text):
            assert (CONF / "experiment" / f"{name}.yaml").exists(), (script, name)
        for name in re.findall(r"conf/tune/([\w]+)\.yaml", text):
            assert (CONF / "tune" / f"{name}.yaml").exists(), (script, name)


def test_the_leaderboard_extends_study_1_on_the_same_footing():
    """conf/tune/leaderboard.yaml: Study 1's methods plus the 2024-26 samplers and the two
    penalty controls, with open_ended's overrides, trials, objective and seeds unchanged; the
    run script's two streams cover every method once."""
    lead = make_plan(load_config(str(CONF / "tune" / "leaderboard.yaml"))).config
    study1 = load_config(str(CONF / "tune" / "open_ended.yaml"))
    assert set(lead.methods) == set(study1.methods) | {
        "top_n_sigma", "p_less", "top_h", "quadratic", "xtc", "mirostat_v2", "adaptive_p", "dry",
        "top_p_rep", "min_p_rep", "contrastive"}
    assert lead.overrides == study1.overrides
    assert (lead.trials, lead.objective, lead.seeds, lead.sampler) == (
        study1.trials, study1.objective, study1.seeds, study1.sampler)
    script = (ROOT / "experiments" / "leaderboard" / "run.sh").read_text()
    halves = [re.search(rf"^{x}='methods=\[([^\]]*)\]'", script, re.M).group(1).split(",")
              for x in "AB"]
    assert sorted(halves[0] + halves[1]) == sorted(lead.methods)
    # the trials stage re-runs every dev trial on test with the frontier's two metrics
    metrics = next(o for o in lead.trial_test_overrides if o.startswith("evaluation.metrics="))
    assert {"coherence", "diversity"} <= set(metrics.split("=", 1)[1].strip("[]").split(","))
    assert "streams test=false trials_on_test=true test_dir=test_trials" in script


def test_the_confirmatory_choice_follows_its_written_rule(tmp_path):
    """Top 4 tuned methods by dev objective plus alpha and top_p; an untuned method never
    counts among the 4; a missing alpha is one line, exit 2."""
    import sys

    import yaml

    winners = {"greedy": {"tuned": 0, "objective": 0.99}, "top_p": {"tuned": 2, "objective": 0.1},
               "alpha": {"tuned": 9, "objective": 0.2}, "a": {"tuned": 1, "objective": 0.9},
               "b": {"tuned": 1, "objective": 0.8}, "c": {"tuned": 1, "objective": 0.7},
               "d": {"tuned": 1, "objective": 0.6}, "e": {"tuned": 1, "objective": 0.5}}
    path = tmp_path / "winners.yaml"
    path.write_text(yaml.safe_dump(winners))
    script = ROOT / "experiments" / "leaderboard" / "choose.py"
    out = subprocess.run([sys.executable, str(script), str(path), "--out",
                          str(tmp_path / "c.yaml")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[a,b,c,d,alpha,top_p]"
    assert yaml.safe_load((tmp_path / "c.yaml").read_text())["confirmatory"][-1] == "top_p"
    del winners["alpha"]
    path.write_text(yaml.safe_dump(winners))
    bad = subprocess.run([sys.executable, str(script), str(path), "--out", str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no dev winner for ['alpha']" in bad.stderr


def test_the_leaderboard_tables_rebuild_from_collected_runs(tmp_path):
    """A small tuning study (tiny model: top_p, greedy; 2 trials; 2 seeds; 16 prompts),
    collected, then `experiments/leaderboard/tables.sh RUNS RESULTS`: every table and figure
    from the collected runs alone, and the study-wide Holm (holm.csv) equal to Holm's
    step-down computed here by hand on the separability table's p-values."""
    import csv
    import sys

    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "METRICS": "mauve,coherence,diversity,rep_4,tokens_per_s",
           "PER_PROMPT": "coherence,rep_4,diversity", "TRIAL_METRICS": "coherence,diversity"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    res_dir, sweep, runs = tmp_path / "results", tmp_path / "multirun", tmp_path / "runs"
    steps = [[sys.executable, str(ROOT / "scripts" / "tune.py"), str(CONF / "tune" / "tiny.yaml"),
              "methods=[top_p,greedy]", "trials=2", "seeds=[0,1]", f"out_dir={sweep}",
              f"results_dir={res_dir}", "extra_overrides=[num_prompts=16]"],
             [sys.executable, str(ROOT / "scripts" / "tune.py"), str(CONF / "tune" / "tiny.yaml"),
              "methods=[top_p,greedy]", "trials=2", "seeds=[0,1]", f"out_dir={sweep}",
              f"results_dir={tmp_path / 'scratch'}", "test=false", "trials_on_test=true",
              "test_dir=test_trials", "trial_test_overrides=[num_prompts=8]"],
             [sys.executable, str(ROOT / "scripts" / "collect_runs.py"), str(sweep), str(runs)],
             ["bash", str(ROOT / "experiments" / "leaderboard" / "tables.sh"), str(runs),
              str(res_dir)]]
    for cmd in steps:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (cmd[1], done.stderr[-2000:])
    for name in ("test.md", "test_diff.csv", "test_separability.csv", "test_separability.png",
                 "test_frontier.png", "test_budget.png", "dev_frontier.png", "holm.csv",
                 "test_trials_frontier.png", "frontier_shift.md"):
        assert (res_dir / name).stat().st_size > 0, name
    # every dev trial once on test: 2 + 1 (greedy) points of the test frontier
    assert len(list(csv.DictReader(open(res_dir / "test_trials_frontier.csv")))) == 3
    assert len(list(csv.DictReader(open(res_dir / "frontier_shift.csv")))) == 3  # all matched
    rows = list(csv.DictReader(open(res_dir / "holm.csv")))
    pairs = list(csv.DictReader(open(res_dir / "test_separability.csv")))
    assert len(rows) == len(pairs) == 1 * 3  # 1 pair of methods x 3 per-prompt metrics
    p = [float(r["perm_p"]) for r in rows]
    order = sorted(range(len(p)), key=p.__getitem__)
    adjusted, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):  # Holm: max over earlier of (m - rank) * p, capped at 1
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    assert [float(r["p_holm"]) for r in rows] == pytest.approx(adjusted)


def test_the_winners_curse_by_hand(tmp_path):
    """Five tuned methods (and greedy, untuned, left out): dev 0.1 0.2 0.3 0.4 0.5, test 0.2 0.1
    0.4 0.3 0.5 -> ranks 1 2 3 4 5 vs 2 1 4 3 5, sum of d^2 = 4, rho = 1 - 6*4/(5*24) = 0.8. A
    second tuning seed's best trials for four of them, 0.15 0.25 0.5 0.35 -> spreads 0.05 0.05
    0.2 0.05 and none (not 0) for the fifth; the seeds' rank agreement over the four: ranks 1 2
    3 4 vs 1 2 4 3, rho = 1 - 6*2/(4*15) = 0.8. A folder without the tuner's files is one line,
    exit 2."""
    import sys

    import pandas as pd

    pd.DataFrame({"method": ["a", "b", "c", "d", "e", "greedy"], "tuned": [2, 2, 2, 2, 2, 0],
                  "dev_mauve": [0.1, 0.2, 0.3, 0.4, 0.5, 0.9],
                  "mauve_mean": [0.2, 0.1, 0.4, 0.3, 0.5, 0.9]}
                 ).to_csv(tmp_path / "table.csv", index=False)
    pd.DataFrame({"method": ["a"], "objective": [0.1], "metric": ["mauve"],
                  "direction": ["maximize"]}).to_csv(tmp_path / "trials.csv", index=False)
    (tmp_path / "tuning_seed1").mkdir()
    pd.DataFrame({"method": ["a", "a", "b", "c", "c", "d"],
                  "objective": [0.15, 0.01, 0.25, 0.5, 0.2, 0.35]}
                 ).to_csv(tmp_path / "tuning_seed1" / "trials.csv", index=False)
    script = ROOT / "experiments" / "leaderboard" / "winners_curse.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(tmp_path / "winners_curse.csv").set_index("method")
    assert "greedy" not in rows.index
    assert rows["dev_minus_test"].tolist() == pytest.approx([-0.1, 0.1, -0.1, 0.1, 0.0])
    assert rows["dev_spread"].tolist()[:4] == pytest.approx([0.05, 0.05, 0.2, 0.05])
    assert pd.isna(rows.loc["e", "dev_spread"])
    md = (tmp_path / "winners_curse.md").read_text()
    assert "**0.80** [" in md and "tuning_seed1 **0.80**" in md and "for 4 methods" in md
    assert "| e | 0.5000 | 0.5000 | 0.0000 | - | - |" in md
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "tuning_seed1")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "table.csv" in bad.stderr


def test_the_frontier_shift_by_hand(tmp_path):
    """Two methods x 3 trials. Dev (diversity, coherence): (1,6) (2,5) (3,4) | (4,3) (5,2) (6,1),
    a pure trade-off, all six on the study frontier. Test: diversity 1 3 2 | 4 6 5, coherence
    unchanged, so a2 and b2 are beaten (by a1, b1): 4 on the test frontier, all of them dev
    frontier points. Diversity ranks 1..6 vs 1 3 2 4 6 5: sum d^2 = 4, rho = 1 - 24/210 = 0.886;
    with each method's mean out: -1 0 1 | -1 0 1 vs -1 1 0 | -1 1 0, tied ranks, rho = 8/16 =
    0.5; coherence 1 both ways. A test point without a dev trial is counted and left out; a
    folder without the CSVs is one line, exit 2."""
    import sys

    import pandas as pd

    def frame(split, pts, front, extra=()):
        src = [f"runs/{split}/{m}/{'trial' if split == 'test_trials' else ''}{t}"
               for m in "ab" for t in range(3)] + list(extra)
        return pd.DataFrame({"group": [f"sampler.name={s.split('/')[-2]}" for s in src],
                             "source": src, "diversity": [p[0] for p in pts],
                             "coherence": [p[1] for p in pts], "on_frontier": front,
                             "on_study_frontier": front})

    frame("dev", [(1, 6), (2, 5), (3, 4), (4, 3), (5, 2), (6, 1)], [True] * 6
          ).to_csv(tmp_path / "dev_frontier.csv", index=False)
    frame("test_trials", [(1, 6), (3, 5), (2, 4), (4, 3), (6, 2), (5, 1), (9, 9)],
          [True, True, False, True, True, False, True], ["runs/test_trials/c/trial0"]
          ).to_csv(tmp_path / "test_trials_frontier.csv", index=False)
    script = ROOT / "experiments" / "leaderboard" / "frontier_shift.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "frontier_shift.md").read_text()
    assert "(6 trials)" in md and "1 points are in only one" in md
    assert "diversity **0.89** [" in md and "coherence **1.00** [" in md
    assert "taken out (the settings within a method): diversity **0.50** [" in md
    assert "6 points on dev, 4 on test, 4 of the dev frontier's points" in md
    assert "| a | 3 | 3 | 2 | 2 |" in md and "| b | 3 | 3 | 2 | 2 |" in md
    rows = pd.read_csv(tmp_path / "frontier_shift.csv")
    assert len(rows) == 6 and rows["diversity_test"].tolist() == [1, 3, 2, 4, 6, 5]
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "dev_frontier.csv" in bad.stderr


def test_study_2_extended_covers_study_2_and_the_heat_samplers():
    """run_extended.sh: Study 2's methods (its configs' sweeps) on Study 2's grid and every heat
    sampler of temperature_robustness_heat.yaml on that grid plus T = 5, each once."""
    script = (ROOT / "experiments" / "temperature_robustness" / "run_extended.sh").read_text()
    assert re.search(r"^TEMPS=\$\{TEMPS:-0.7,1.0,1.5,2.0,3.0,5.0\}", script, re.M)
    sweeps = re.findall(r'^\s+"(\w+) (\w+) ([\w.]+) ([\w,-]+) \$(TEMPS|BASE_TEMPS)"$', script, re.M)
    assert len(sweeps) == 6 and len({name for name, *_ in sweeps}) == 6
    on_base = [exp for _, exp, _, _, grid in sweeps if grid == "BASE_TEMPS"]
    assert sorted(on_base) == sorted(["temperature_robustness", "temperature_robustness",
                                      "temperature_robustness_alpha_base_at_T"])  # not alpha's
    base = subprocess.run(["bash", "-c", 'TEMPS=0.7,1.0,1.5,2.0,3.0,5.0; echo "${TEMPS/%,5.0/}"'],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert base == "0.7,1.0,1.5,2.0,3.0" and "BASE_TEMPS=${BASE_TEMPS:-${TEMPS/%,5.0/}}" in script
    named = [m for _, _, _, ms, _ in sweeps for m in ms.split(",") if m != "-"]
    heat = yaml.safe_load((CONF / "experiment" / "temperature_robustness_heat.yaml").read_text())
    study2 = yaml.safe_load((CONF / "experiment" / "temperature_robustness.yaml").read_text())
    assert sorted(named) == sorted(heat["hydra"]["sweeper"]["params"]["sampler"].split(",")
                                   + study2["hydra"]["sweeper"]["params"]["sampler"].split(","))
    assert [name for name, *_ in sweeps][:2] == ["heat_a", "heat_b"]  # the new samplers first
    exps = {exp for _, exp, *_ in sweeps}
    assert {"temperature_robustness_alpha", "temperature_robustness_alpha_base_at_T"} <= exps
    assert "sampler=greedy" in script and "tables_ext.sh" in script


def test_study_2_extended_tables_from_committed_runs(tmp_path):
    """tables_ext.sh on three committed runs (greedy, top-nσ at T = 1 seeds 0 and 1): the tables
    and one Holm family over all of table_diff's tests (and no stale summary_diff) come from the
    raw files alone; a folder without greedy (the paired tests' reference) is one line, exit 2,
    nothing written."""
    import csv
    import shutil

    src = ROOT / "experiments" / "temperature_robustness" / "runs"
    runs = tmp_path / "runs"
    shutil.copytree(src / "greedy", runs / "greedy")
    for seed in (0, 1):
        name = f"sampler.temperature=1.0,sampler=top_n_sigma,seed={seed}"
        shutil.copytree(src / "heat_a" / name, runs / "heat_a" / name)
    script = ROOT / "experiments" / "temperature_robustness" / "tables_ext.sh"
    (tmp_path / "out").mkdir()  # a stale summary_diff (no alpha run here) stays out of the family
    (tmp_path / "out" / "summary_diff.csv").write_text("metric,diff,p\nx,1.0,0.01\n")
    subprocess.run(["bash", str(script), str(runs), str(tmp_path / "out")], check=True,
                   capture_output=True, timeout=300)
    diffs = list(csv.DictReader(open(tmp_path / "out" / "table_diff.csv")))
    holm = list(csv.DictReader(open(tmp_path / "out" / "diff_holm.csv")))
    assert diffs and len(holm) == len(diffs) and "p_holm" in holm[0]
    assert (tmp_path / "out" / "summary.md").stat().st_size > 0
    assert (tmp_path / "out" / "separability.png").stat().st_size > 0
    assert "cells (method, T, metric, seeds)" in (tmp_path / "out" / "same_as_study2.txt").read_text()
    shutil.rmtree(runs / "greedy")
    bad = subprocess.run(["bash", str(script), str(runs), str(tmp_path / "bad")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "greedy" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_study_2_separability_grid_from_a_planted_holm_table(tmp_path):
    """plot_holm.py's cells, hand-set: make_tables' rows (method − greedy, the method and T read
    from the run label, the adaptive sampler's from its experiment and temp_max) and
    summarise.py's rows (alpha − method at T); a cell is higher / lower only where the
    Holm-adjusted p < 0.05, whatever the raw p; other metrics stay out; a table without p_holm or
    without the metric is one line, exit 2."""
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location(
        "plot_holm", ROOT / "experiments" / "temperature_robustness" / "plot_holm.py")
    ph = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ph)
    heat = "experiment=temperature_robustness_heat, sampler=p_less, sampler.temperature="
    alpha = "experiment=temperature_robustness_alpha, sampler.temp_max=1.5"
    strict = "experiment=temperature_robustness_alpha_base_at_T, sampler.temp_max=1.0"
    rows = [  # (method, adaptive, vs, temperature, metric, diff, p_holm)
        (heat + "1.0", None, None, None, "gsm8k_strict", -0.12, 0.01),    # lower
        (heat + "5.0", None, None, None, "gsm8k_strict", -0.30, 0.06),    # not separable
        (alpha, None, None, None, "gsm8k_strict", 0.05, 0.049),           # higher
        (strict, None, None, None, "gsm8k_strict", -0.2, 0.2),            # not separable
        (heat + "1.0", None, None, None, "gsm8k_flexible", 0.5, 0.0),     # other metric
        ("experiment=temperature_robustness, sampler=greedy", None, None, None,
         "gsm8k_strict", 0.0, 1.0),                                       # no T: no cell
        (None, "alpha", "p_less", 1.5, "gsm8k_strict", 0.25, 0.001),      # higher
        (None, "alpha", "min_p", 1.5, "gsm8k_strict", -0.01, 0.9),        # not separable
        (None, "alpha", "min_p", 3.0, "gsm8k_strict", -0.4, 0.0001),      # lower
    ]
    table = pd.DataFrame(rows, columns=["method", "adaptive", "vs", "temperature", "metric",
                                        "diff", "p_holm"])
    panels = ph.grids(table, "gsm8k_strict")
    assert list(panels) == [ph.GREEDY, "alpha − method"]
    methods, temps, codes, diffs = panels[ph.GREEDY]
    assert methods == ["p_less", "alpha", "alpha_base_at_T"] and temps == [1.0, 1.5, 5.0]
    assert codes == [[ph.WORSE, ph.NONE, ph.TIED], [ph.NONE, ph.BETTER, ph.NONE],
                     [ph.TIED, ph.NONE, ph.NONE]]
    assert diffs[0][0] == pytest.approx(-12) and diffs[1][1] == pytest.approx(5)
    methods, temps, codes, _ = panels["alpha − method"]
    assert methods == ["p_less", "min_p"] and temps == [1.5, 3.0]
    assert codes == [[ph.BETTER, ph.NONE], [ph.TIED, ph.WORSE]]
    table.to_csv(tmp_path / "holm.csv", index=False)
    assert ph.main([str(tmp_path / "holm.csv"), "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    table.drop(columns="p_holm").to_csv(tmp_path / "raw.csv", index=False)
    for csv_name, metric, said in (("raw.csv", "gsm8k_strict", "p_holm"),
                                   ("holm.csv", "accuracy", "no paired test of 'accuracy'")):
        script = ROOT / "experiments" / "temperature_robustness" / "plot_holm.py"
        bad = subprocess.run([sys.executable, str(script), str(tmp_path / csv_name), "--out",
                              str(tmp_path / "bad.png"), "--metric", metric],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and said in bad.stderr
    assert not (tmp_path / "bad.png").exists()


def test_study_2_same_cells_counts_reproduced_cells(tmp_path):
    """same_cells.py on hand-made summary tables: a cell is the same only when mean, std and CI
    all agree and the seed count matches (a 2-seed cell is not compared to a 3-seed one);
    greedy's empty temperature matches; a table without summarise.py's columns is one line,
    exit 2."""
    cols = "method,temperature,metric,mean,std,ci_lo,ci_hi,seeds,n\n"
    (tmp_path / "a.csv").write_text(cols + "greedy,,gsm8k_strict,0.62,0.0,0.52,0.71,1,100\n"
                                    "top_p,1.0,gsm8k_strict,0.43,0.03,0.36,0.50,3,100\n"
                                    "min_p,1.0,gsm8k_strict,0.46,0.03,0.39,0.53,3,100\n"
                                    "min_p,2.0,gsm8k_strict,0.20,0.02,0.15,0.24,3,100\n")
    (tmp_path / "b.csv").write_text(cols + "greedy,,gsm8k_strict,0.62,0.0,0.52,0.71,1,100\n"
                                    "top_p,1.0,gsm8k_strict,0.43,0.03,0.36,0.51,3,100\n"
                                    "min_p,1.0,gsm8k_strict,0.46,0.03,0.39,0.53,2,100\n"
                                    "min_p,2.0,gsm8k_strict,0.20,0.02,0.15,0.24,3,100\n")
    script = ROOT / "experiments" / "temperature_robustness" / "same_cells.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, str(script), str(tmp_path / "a.csv"),
                         str(tmp_path / "b.csv")], capture_output=True, text=True, timeout=120,
                        env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("2 of 3 cells") and "differs: top_p T=1 gsm8k_strict" in ok.stdout
    (tmp_path / "c.csv").write_text("method,temperature,metric,mean\ngreedy,,x,0.6\n")
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "a.csv"),
                          str(tmp_path / "c.csv")], capture_output=True, text=True, timeout=120,
                         env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "second table" in bad.stderr


@pytest.mark.slow
def test_study_2_extended_runs_a_slice_end_to_end(tmp_path):
    """One temperature, two seeds, 2 problems x 8 tokens: the two workers share the units (each
    once), every run's raw generations are collected as xz, and the tables and one Holm family
    come from them (the cost benchmark skipped: COSTS=0)."""

    env = {**os.environ, "TEMPS": "1.0", "SEEDS": "0,1", "COSTS": "0",
           "EXTRA": "num_prompts=2 max_new_tokens=8", "SWEEP": str(tmp_path / "sweep"),
           "RUNS": str(tmp_path / "runs"), "OUT": str(tmp_path / "out")}
    subprocess.run(["bash", str(ROOT / "experiments" / "temperature_robustness" /
                                "run_extended.sh")], env=env, check=True, timeout=1800)
    runs = sorted((tmp_path / "runs").rglob("generations.jsonl.xz"))
    assert len(runs) == 19  # greedy + 9 methods at T = 1 x 2 seeds
    # the two workers took every unit once: greedy and 6 sweeps x 2 seeds, each marked done,
    # each run generated by one process (a second start would have logged "resuming")
    assert sorted(p.name for p in (tmp_path / "sweep" / ".done").iterdir()) == sorted(
        ["greedy"] + [f"{n}.s{s}" for n in ("heat_a", "heat_b", "baselines", "min_p", "alpha",
                                            "alpha_base_at_T") for s in (0, 1)])
    assert not [p for p in (tmp_path / "sweep").rglob("run.log") if "resuming" in p.read_text()]
    holm = (tmp_path / "out" / "diff_holm.csv").read_text().splitlines()
    assert holm[0].endswith("p_holm,survives") and len(holm) > 10
