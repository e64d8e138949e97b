"""Equal-budget tuning: every method gets the same Optuna budget on dev, winners go to test.

For each listed method (a `conf/sampler/` option) the tuner runs
`python run.py -m hydra/sweeper=tune` in a subprocess with the same number of trials, the
method's `search_space:` turned into Optuna sweep overrides, on the dev split, with
`evaluation.headline` set to the declared objective (so Optuna maximises/minimises it). The
trials are drawn by Optuna's seeded RandomSampler (`sampler: random`, the default: the budget
curves of make_tables --trials, "expected best of N random settings", are only honest over
random draws) or by TPE (`sampler: tpe`, adaptive after its 10 random start-up trials). It picks
each method's best trial from the trials' `metrics.json`, re-runs the winner on the test split
with every seed (`run.py -m seed=0,1,2`), and writes the comparison table (per method: number of
tuned hyperparameters, trials, dev objective, each test metric mean +/- std over seeds, tokens/s)
with `alpha/runner/tables.py`'s aggregation. A method without tunables gets one dev run (its
budget curve is a single point). trials.csv carries, per trial, the objective's name and
direction and the Optuna sampler that drew it, so make_tables --trials needs no --objective.
`test: false` stops after the dev trials (winners.yaml, trials.csv: budget curves only).
`trials_on_test: true` (with test: false) runs every dev trial, not only the winner, once on the
test split (seed = the first seed, plus `trial_test_overrides`, e.g. a smaller size and the
frontier's metrics only) in out_dir/<test_dir>/<method>/trial<N>: quality-diversity frontiers
drawn on test from every tuned setting, free of the dev selection.

Everything that can be wrong in the tuning config is checked before the first run starts:
unknown method, empty or invalid search range, an objective the evaluation config does not
compute (or without a direction), fewer than two seeds.
This module knows Hydra/OmegaConf; the library (`alpha/`) does not.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from alpha import validation as V
from alpha.runner import ROOT

CONF = ROOT / "conf"
SPLITS = ("all", "dev", "test")
SAMPLERS = ("random", "tpe")  # hydra/sweeper/sampler options (Optuna RandomSampler, TPESampler)


@dataclass
class Param:
    """One tunable: `sampler.<name>` drawn from [low, high] (log scale if `log`)."""

    name: str
    type: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self):
        where = f"search_space.{self.name}"
        if self.type not in ("float", "int"):
            raise ValueError(f"{where}.type={self.type!r} is unknown; use float or int")
        for end in ("low", "high"):
            v = getattr(self, end)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{where}.{end}={v!r} is not a number; give a finite number")
        if self.low >= self.high:
            raise ValueError(f"{where} has an empty range (low={self.low} >= high={self.high}); "
                             f"use low < high")
        if self.type == "int" and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(f"{where} is type int with bounds {self.low}, {self.high}; "
                             f"use integer bounds")
        if self.log and self.low <= 0:
            raise ValueError(f"{where}.low={self.low} with log: true; a log range needs low > 0")

    def override(self) -> str:
        """The Optuna sweeper's override: `sampler.x=interval(0.1, 1.0)` (int/log tagged)."""
        if self.type == "int":
            span = f"int(interval({int(self.low)}, {int(self.high)}))"
        else:
            span = f"interval({float(self.low)!r}, {float(self.high)!r})"
        return f"sampler.{self.name}=" + (f"tag(log, {span})" if self.log else span)


@dataclass
class TuneConfig:
    """A tuning experiment (conf/tune/*.yaml), validated on construction."""

    methods: list[str]
    trials: int
    objective: str
    seeds: list[int]
    direction: str | None = None  # maximize | minimize; None: the metric's higher_is_better
    dev_split: str = "dev"
    test_split: str = "test"
    overrides: list[str] = field(default_factory=list)  # passed to every run.py call
    extra_overrides: list[str] = field(default_factory=list)  # appended (command-line additions)
    out_dir: str = "outputs/tune"  # run folders (dev/, test/) and runs.log
    results_dir: str | None = None  # table.md/.csv, winners.yaml, trials.csv; None: out_dir
    sampler: str = "random"  # Optuna sampler of the dev trials: random | tpe
    sampler_seed: int = 0  # its seed: the same study draws the same trials
    test: bool = True  # false: dev trials only (budget curves, winners.yaml); no test runs
    test_dir: str = "test"  # the test runs' folder under out_dir: another name tests the same
    # dev winners at another size (e.g. test512 with num_prompts=512) without touching the first
    trials_on_test: bool = False  # true: every dev trial once on test (module docstring)
    trial_test_overrides: list[str] = field(default_factory=list)  # those runs only, appended

    def __post_init__(self):
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods={self.methods!r} must be a non-empty list without repeats")
        V.whole("trials", self.trials, low=1)  # the same for every method
        ints = all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds)
        if not ints or len(set(self.seeds)) < 2:
            raise ValueError(f"seeds={self.seeds!r}: a mean +/- std needs at least two distinct "
                             f"integer seeds, e.g. seeds=[0,1,2]")
        self.overrides = [*self.overrides, *self.extra_overrides]
        self.extra_overrides = []
        V.choice("direction", self.direction, (None, "maximize", "minimize"))
        V.choice("sampler", self.sampler, SAMPLERS)  # random: honest budget curves
        V.whole("sampler_seed", self.sampler_seed)
        V.flag("test", self.test)  # true: winners on test; false: dev trials only
        V.flag("trials_on_test", self.trials_on_test)
        if self.trials_on_test and self.test:
            raise ValueError("trials_on_test=true runs every dev trial on test in its own folders; "
                             "set test=false (the winners' test runs are a separate call)")
        if not isinstance(self.trial_test_overrides, list) or not all(
                isinstance(o, str) and "=" in o for o in self.trial_test_overrides):
            raise ValueError(f"trial_test_overrides={self.trial_test_overrides!r} must be a list "
                             f"of key=value overrides, e.g. [num_prompts=48]")
        if (not isinstance(self.test_dir, str) or not self.test_dir or "/" in self.test_dir
                or self.test_dir == "dev"):
            raise ValueError(f"test_dir={self.test_dir!r} must be a folder name under out_dir "
                             f"(no '/', not 'dev'), e.g. test_dir=test512")
        for name in ("dev_split", "test_split"):
            V.choice(name, getattr(self, name), SPLITS)


def load_config(path: str, dotlist: list[str] | None = None) -> TuneConfig:
    """YAML file + `key=value` overrides -> TuneConfig."""
    p = Path(path)
    if not p.exists() and (ROOT / p).exists():
        p = ROOT / p
    if not p.exists():
        raise ValueError(f"tuning config {path!r} does not exist; e.g. conf/tune/tiny.yaml")
    cfg = OmegaConf.merge(OmegaConf.load(p), OmegaConf.from_dotlist(list(dotlist or [])))
    data = OmegaConf.to_container(cfg, resolve=True)
    if "tpe_seed" in data:  # the name before `sampler:` existed
        if "sampler_seed" in data:
            raise ValueError("tuning config sets both tpe_seed and sampler_seed; keep "
                             "sampler_seed (tpe_seed is its old name)")
        data["sampler_seed"] = data.pop("tpe_seed")
    V.known_keys("tuning config", data, TuneConfig.__dataclass_fields__)
    return TuneConfig(**data)


# ---------------------------------------------------------------- validation before any run


def config_dirs(overrides: list[str] = (), conf: Path = CONF) -> list[Path]:
    """`conf` and the folders a `hydra.searchpath=[file://...]` override adds (a plugin's
    conf/, holding its sampler/NAME.yaml), in Hydra's order."""
    dirs = [conf]
    for o in overrides:
        key, _, value = o.partition("=")
        if key.lstrip("+~") == "hydra.searchpath":
            for item in value.strip("[]").split(","):
                item = item.strip().strip("'\"")
                if item.startswith("file://"):
                    dirs.append(Path(item[len("file://"):]))
    return dirs


def check_method(method: str, conf: Path = CONF, overrides: list[str] = ()) -> None:
    """One line unless a `sampler/<method>.yaml` exists in conf/ or a searchpath folder."""
    dirs = config_dirs(overrides, conf)
    if not any((d / "sampler" / f"{method}.yaml").exists() for d in dirs):
        known = sorted({p.stem for d in dirs for p in (d / "sampler").glob("*.yaml")})
        raise ValueError(f"method {method!r} is not a sampler option; choose from {known}")


def search_space(method: str, conf: Path = CONF, sampler: dict | None = None) -> list[Param]:
    """The method's tunables: `search_space:` of its sampler option as Hydra composes it (so
    an option that extends another through its defaults list, e.g. alpha_lexical, has the
    other's space); `sampler` = that composed group when the caller has it."""
    if sampler is None:
        check_method(method, conf)
    cfg = sampler if sampler is not None else compose([f"sampler={method}"], conf)["sampler"]
    space = {k: v for k, v in (cfg.get("search_space") or {}).items() if v is not None}
    params = []  # a null entry (an inherited tunable switched off) is not tuned
    for name, spec in space.items():
        if name not in cfg or name in ("name", "search_space"):
            raise ValueError(f"{method}: search_space.{name} is not a parameter of "
                             f"conf/sampler/{method}.yaml; tune one of its flat keys")
        spec = dict(spec or {})
        bad = sorted(set(spec) - {"type", "low", "high", "log"})
        if bad:
            raise ValueError(f"{method}: search_space.{name} has unknown key(s) {bad}; "
                             f"use type, low, high, log")
        try:
            params.append(Param(name=name, **spec))
        except TypeError as err:
            raise ValueError(f"{method}: search_space.{name} needs type, low and high") from err
        except ValueError as err:
            raise ValueError(f"{method}: {err}") from err
    return params


def compose(overrides: list[str], conf: Path = CONF) -> dict:
    """The run config `run.py` would get (hydra.* overrides left out), unresolved paths kept."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    plain = [o for o in overrides if not o.lstrip("+~").startswith("hydra")
             or o.lstrip("+~").startswith("hydra.searchpath=")]  # a plugin's config folder
    try:
        with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
            cfg = hydra_compose("config", overrides=plain)
    except HydraException as err:
        raise ValueError(f"run config does not compose: {str(err).splitlines()[0]}") from err
    return OmegaConf.to_container(cfg, resolve=False)


def objective_direction(cfg: TuneConfig, run_cfg: dict) -> str:
    """Check the objective is computed by the evaluation config; return maximize/minimize."""
    from alpha.evaluation import METRICS

    metrics = list((run_cfg.get("evaluation") or {}).get("metrics") or [])
    if cfg.objective not in metrics:
        raise ValueError(f"objective={cfg.objective!r} is not computed by the evaluation config "
                         f"(its metrics: {metrics}); pick one of them or add it to "
                         f"evaluation.metrics")
    if cfg.direction:
        return cfg.direction
    higher = METRICS[cfg.objective].higher_is_better if cfg.objective in METRICS else None
    if higher is None:
        raise ValueError(f"objective={cfg.objective!r} has no natural direction; set "
                         f"direction=maximize or direction=minimize")
    return "maximize" if higher else "minimize"


@dataclass
class Plan:
    """What will run: per method its tunables; the objective's direction; input checksums."""

    config: TuneConfig
    spaces: dict[str, list[Param]]
    direction: str
    inputs: dict[str, str] = field(default_factory=dict)  # local file -> sha256 at the start


def checksums(files: list[Path]) -> dict[str, str]:
    import hashlib

    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.exists()}


def catalogue_inputs(run_cfg: dict) -> dict[str, str]:
    """`catalogue:NAME (file)` -> sha256 of each package-index input (model, dataset, oracle):
    alpha.fetch verifies the file against it, so a run read exactly those bytes."""
    from alpha.data.sources import SOURCES

    names = [(run_cfg.get("model") or {}).get("source"),
             (run_cfg.get("dataset") or {}).get("source"),
             (run_cfg.get("evaluation") or {}).get("oracle")]
    return {f"catalogue:{n} ({SOURCES[n].filename})": SOURCES[n].sha256
            for n in dict.fromkeys(names) if isinstance(n, str) and n in SOURCES}


def check_trial_evaluation(ev: dict) -> None:
    """The trials-on-test runs' evaluation: known metrics, a headline among them."""
    from alpha.runner.config import check_evaluation

    check_evaluation(ev)
    metrics = list(ev.get("metrics") or [])
    if ev.get("headline") not in metrics:
        raise ValueError(f"trial_test_overrides: evaluation.headline={ev.get('headline')!r} is not "
                         f"among evaluation.metrics={metrics}; add evaluation.headline=<one of "
                         f"them> to trial_test_overrides")


def make_plan(cfg: TuneConfig, conf: Path = CONF) -> Plan:
    """Validate everything (methods, ranges, objective, each sampler's defaults) up front."""
    from alpha.runner.config import build_sampler, input_files

    for method in cfg.methods:
        check_method(method, conf, cfg.overrides)
    spaces, direction = {}, None
    for method in cfg.methods:
        run_cfg = compose([*cfg.overrides, f"sampler={method}"], conf)
        spaces[method] = search_space(method, conf, run_cfg["sampler"])
        build_sampler(run_cfg["sampler"])  # a bad default fails here, not mid-sweep
        direction = direction or objective_direction(cfg, run_cfg)
    if cfg.trials_on_test:  # the trial-test runs' evaluation, checked before any run
        check_trial_evaluation(compose([*cfg.overrides, *cfg.trial_test_overrides,
                                        f"sampler={cfg.methods[0]}"], conf)["evaluation"])
    return Plan(cfg, spaces, direction,
                {**checksums(input_files(run_cfg)), **catalogue_inputs(run_cfg)})


# ---------------------------------------------------------------- commands


def _run_py(args: list[str]) -> list[str]:
    return [sys.executable, str(ROOT / "run.py"), "-m", *args]


def dev_command(plan: Plan, method: str, sweep_dir: Path) -> list[str]:
    """Optuna sweep of one method on the dev split (one trial when it has no tunables)."""
    c, space = plan.config, plan.spaces[method]
    return _run_py([
        "hydra/sweeper=tune", f"hydra/sweeper/sampler={c.sampler}",
        f"hydra.sweeper.n_trials={c.trials if space else 1}",
        f"hydra.sweeper.direction={plan.direction}", f"hydra.sweeper.sampler.seed={c.sampler_seed}",
        f"hydra.sweeper.study_name=tune_{method}", f"hydra.sweep.dir={sweep_dir}",
        "hydra.sweep.subdir=${hydra.job.num}", f"sampler={method}",
        f"dataset.split={c.dev_split}", f"evaluation.headline={c.objective}", *c.overrides,
        *[p.override() for p in space]])


def test_command(plan: Plan, method: str, params: dict[str, str], sweep_dir: Path) -> list[str]:
    """The winner on the test split, one run per seed."""
    c = plan.config
    return _run_py([
        f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=seed${seed}", f"sampler={method}",
        f"dataset.split={c.test_split}", f"evaluation.headline={c.objective}", *c.overrides,
        *[f"{k}={v}" for k, v in params.items()], "seed=" + ",".join(map(str, c.seeds))])


def trial_test_command(plan: Plan, method: str, params: dict[str, str], run_dir: Path
                       ) -> list[str]:
    """One dev trial's parameters on the test split, first seed (`trials_on_test`)."""
    c = plan.config
    return _run_py([
        f"hydra.sweep.dir={run_dir.parent}", f"hydra.sweep.subdir={run_dir.name}",
        f"sampler={method}", f"dataset.split={c.test_split}", *c.overrides,
        *c.trial_test_overrides, *[f"{k}={v}" for k, v in params.items()], f"seed={c.seeds[0]}"])


# ---------------------------------------------------------------- reading results


def read_trials(sweep_dir: Path, objective: str) -> list[dict]:
    """Each finished trial: {"trial", "params" (sampler.* overrides), "objective"}."""
    out = []
    for metrics_file in sorted(sweep_dir.glob("*/metrics.json"), key=lambda p: _num(p.parent)):
        data = json.loads(metrics_file.read_text())
        if data.get("status") != "complete":
            continue
        overrides = yaml.safe_load((metrics_file.parent / ".hydra" / "overrides.yaml")
                                   .read_text()) or []
        params = dict(o.split("=", 1) for o in overrides
                      if o.startswith("sampler.") and "=" in o)
        value = ((data.get("metrics") or {}).get(objective) or {}).get("mean")
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        out.append({"trial": metrics_file.parent.name, "params": params,
                    "objective": float(value) if ok else None})
    return out


def sweep_sampler(sweep_dir: Path) -> tuple[str | None, int | None]:
    """(sampler, seed) that drew a finished sweep, read from a trial's .hydra/hydra.yaml (the
    Optuna sweeper writes no multirun.yaml): "random", "tpe" or Optuna's class name; (None,
    None) when no trial folder has one."""
    found = sorted(sweep_dir.glob("*/.hydra/hydra.yaml"), key=lambda p: _num(p.parent.parent))
    if not found:
        return None, None
    sampler = ((yaml.safe_load(found[0].read_text()) or {}).get("hydra") or {}).get("sweeper") or {}
    sampler = sampler.get("sampler") or {}
    name = str(sampler.get("_target_", "")).rsplit(".", 1)[-1]
    short = {"RandomSampler": "random", "TPESampler": "tpe"}.get(name, name or None)
    return short, sampler.get("seed")


def _num(path: Path):
    return (0, int(path.name)) if path.name.isdigit() else (1, path.name)


def best_trial(trials: list[dict], direction: str) -> dict:
    """The trial with the best objective (first one on ties); trials without a value skipped."""
    scored = [t for t in trials if t["objective"] is not None]
    if not scored:
        raise ValueError("no trial produced the objective; see the trials' metrics.json notes")
    sign = 1.0 if direction == "maximize" else -1.0
    return max(scored, key=lambda t: (sign * t["objective"], -scored.index(t)))


def comparison_table(plan: Plan, winners: dict[str, dict], test_root: Path) -> tuple[str, list]:
    """Markdown + CSV rows: per method #tuned, trials, dev objective, test mean +/- std."""
    from alpha.runner import tables as mt
    from alpha.runner.runs import find_runs

    table = mt.build_table(find_runs([str(test_root)]), by=["sampler.name"])
    obj = plan.config.objective
    heads = ["method", "tuned", "trials", f"dev {obj}", "seeds"] + [
        mt.header(table, m, " ↑", " ↓") for m in table.metrics]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    rows = []
    for method, w in winners.items():
        label = f"sampler.name={method}"
        if label not in table.stats:
            label = next((c for c in table.configs if c.endswith(f"={method}")), label)
        stats = table.stats.get(label, {})
        cells = [method, str(w["tuned"]), str(w["trials"]), f"{w['objective']:.4g}",
                 str(table.seeds.get(label, 0))]
        row = {"method": method, "tuned": w["tuned"], "trials": w["trials"],
               f"dev_{obj}": w["objective"], "params": json.dumps(w["params"])}
        for m in table.metrics:
            mean, std, _ = stats.get(m, (math.nan, math.nan, 0))
            cells.append("-" if math.isnan(mean) else f"{mean:.4g} ± {std:.2g}")
            row.update({f"{m}_mean": mean, f"{m}_std": std})
        lines.append("| " + " | ".join(cells) + " |")
        rows.append(row)
    c = plan.config
    drawn = sorted({w.get("drawn_by", f"{c.sampler} seed {c.sampler_seed}")
                    for w in winners.values() if w["tuned"]}) or ["-"]
    lines += ["", f"Dev: best of the trials by {obj} ({plan.direction}), drawn by Optuna's "
              f"{' / '.join(drawn)} sampler; test: mean ± sample std over seeds {c.seeds}. "
              f"Winners' parameters: winners.yaml; every trial: trials.csv."]
    fixed = [m for m, w in winners.items() if not w["tuned"]]
    if fixed:
        lines.append(f"- no tunables, so 1 trial each (budget curve = a single point): "
                     f"{', '.join(fixed)}")
    lines += [f"- skipped `{s}`: {p}" for s, p in table.skipped]
    return "\n".join(lines) + "\n", rows


# ---------------------------------------------------------------- the whole study


def _call(cmd: list[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:4])}... exited {done.returncode}; see {log}")


def _complete(sweep_dir: Path, n: int, names: list[str] | None = None) -> bool:
    """`sweep_dir` holds >= n finished runs (of the subfolders `names` when given)."""
    runs = [p for p in sweep_dir.glob("*/metrics.json") if names is None or p.parent.name in names]
    return len(runs) >= n and all(json.loads(p.read_text()).get("status") == "complete"
                                  for p in runs)


def _path(p: str) -> Path:
    return Path(p) if Path(p).is_absolute() else ROOT / p


def tune_method(plan: Plan, method: str, out: Path, *, echo=print) -> tuple[dict, list[dict]]:
    """Dev sweep (skipped when complete), best trial, test runs; -> (winner, trial rows)."""
    c, space, log = plan.config, plan.spaces[method], out / "runs.log"
    dev_dir, test_dir = out / "dev" / method, out / c.test_dir / method
    n = c.trials if space else 1
    if not _complete(dev_dir, n):
        echo(f"[tune] {method}: {n} dev trial(s)")
        _call(dev_command(plan, method, dev_dir), log)
    trials = read_trials(dev_dir, c.objective)
    drawn_by, drawn_seed = sweep_sampler(dev_dir)
    if space and drawn_by is None:
        echo(f"[tune] {method}: the dev trials in {dev_dir} record no Optuna sampler (no "
             f".hydra/hydra.yaml: restored from collected runs?); trials.csv says so")
    elif space and (drawn_by, drawn_seed) != (c.sampler, c.sampler_seed):
        echo(f"[tune] {method}: the dev trials in {dev_dir} were drawn by {drawn_by} seed "
             f"{drawn_seed}, not {c.sampler} seed {c.sampler_seed} (an earlier study); "
             f"trials.csv says so; use a fresh out_dir to redraw them")
    # objective name, direction and the Optuna sampler ride along: make_tables --trials reads them
    rows = [{"method": method, "trial": t["trial"], "objective": t["objective"],
             "metric": c.objective, "direction": plan.direction,
             "optuna_sampler": drawn_by if space else "none (no tunables)",
             "optuna_seed": drawn_seed if space else None, "tuned": len(space),
             "params": json.dumps(t["params"])} for t in trials]
    best = best_trial(trials, plan.direction)
    winner = {"params": best["params"], "objective": best["objective"], "trials": len(trials),
              "tuned": len(space), "trial": best["trial"],
              "drawn_by": f"{drawn_by} seed {drawn_seed}" if space else "none (no tunables)"}
    for t in trials if c.trials_on_test else []:
        run = test_dir / f"trial{t['trial']}"
        if not _complete(run.parent, 1, [run.name]):
            echo(f"[tune] {method}: dev trial {t['trial']} on {c.test_split}")
            _call(trial_test_command(plan, method, t["params"], run), log)
    if c.test and not _complete(test_dir, len(c.seeds)):
        echo(f"[tune] {method}: winner {best['params']} on {c.test_split}, seeds {c.seeds}")
        _call(test_command(plan, method, best["params"], test_dir), log)
    return winner, rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields or ["method"])
        writer.writeheader()
        writer.writerows(rows)


def run_study(plan: Plan, *, echo=print) -> list[str]:
    """Tune every method on dev, test the winners, write winners.yaml, trials.csv, table.*.

    A method whose runs fail (or whose trials never produce the objective) is reported and
    skipped; the others still run. Returns the failure messages (empty when all succeeded).
    """
    c = plan.config
    out, res = _path(c.out_dir), _path(c.results_dir or c.out_dir)
    res.mkdir(parents=True, exist_ok=True)
    winners: dict[str, dict] = {}
    trial_rows, failures = [], []
    for method in c.methods:
        try:
            winners[method], rows = tune_method(plan, method, out, echo=echo)
            trial_rows += rows
        except (RuntimeError, ValueError) as err:
            failures.append(f"{method}: {err}")
            echo(f"[tune] {method} failed: {err}")
    changed = [f for f, h in plan.inputs.items()
               if not f.startswith("catalogue:") and checksums([Path(f)]).get(f) != h]
    failures += [f"input {f} changed during the study: runs may mix versions; re-run into a "
                 f"fresh out_dir with the inputs pinned" for f in changed]
    (res / "inputs.json").write_text(json.dumps(plan.inputs, indent=1) + "\n")
    (res / "winners.yaml").write_text(yaml.safe_dump(winners, sort_keys=False))
    _write_csv(res / "trials.csv", trial_rows)
    if not winners:
        return failures
    if not c.test:
        echo(f"[tune] dev trials only (test=false): {res / 'trials.csv'}, {res / 'winners.yaml'}")
        return failures
    md, rows = comparison_table(plan, winners, out / c.test_dir)
    md += "".join(f"- failed: {f}\n" for f in failures)
    (res / "table.md").write_text(md)
    _write_csv(res / "table.csv", rows)
    echo(md)
    return failures
