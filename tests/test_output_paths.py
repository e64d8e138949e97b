"""Documented commands write under outputs/ (or multirun/), never into the committed experiments/.

Issue 13, item 5: `scripts/tune.py`'s own example replaced experiments/baselines/tiny/, and the
README's make_tables / plot_traces / run_ablations lines rewrote experiments/window_size/.
Every such command line in README.md, docs/*.md and the scripts' own help is resolved here the
way the script resolves it (its argument parser, the tuning config loader), in-process and
without running anything; writing into experiments/ must be spelled out, which only the
experiments' own READMEs and experiments/baselines/run.sh do.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from alpha.runner import ablations, tuning

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
SCRIPTS = ("scripts/make_tables.py", "scripts/plot_traces.py", "scripts/tune.py",
           "experiments/run_ablations.py")


def command_lines(text: str) -> list[str]:
    """`python <script> ...` lines of the scripts above, `\\` continuations joined."""
    text = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in text.splitlines():
        m = re.search(r"python3? (" + "|".join(map(re.escape, SCRIPTS)) + r")\b[^`#\n]*", line)
        if m:
            out.append(m.group(0).strip())
    return out


def documented() -> list[tuple[str, str]]:
    """(source, line) for README.md, docs/, the scripts' and runner modules' help, the config."""
    from alpha.runner import plots, tables

    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *(ROOT / s for s in SCRIPTS), ROOT / "conf/tune/tiny.yaml"]
    texts = {str(p.relative_to(ROOT)): p.read_text() for p in files}
    texts.update({m.__name__: m.__doc__ for m in (tables, plots, ablations, tuning)})
    return [(name, line) for name, text in texts.items() for line in command_lines(text)]


def written_paths(line: str) -> list[Path]:
    """Where the command line writes, resolved as its script resolves it (nothing is run)."""
    argv = shlex.split(line.replace("<", "_").replace(">", "_"))[1:]
    script, args = argv[0], argv[1:]
    if script == "experiments/run_ablations.py":
        ns = ablations.parse_args(args)
        return [ablations.output_dir(name, ns.out) for name in ns.names]
    if script == "scripts/tune.py":  # docs may describe the config in words: default to tiny
        config = next((a for a in args if a.endswith(".yaml")), "conf/tune/tiny.yaml")
        cfg = tuning.load_config(config, [a for a in args if re.match(r"^[\w.]+=", a)])
        return [tuning._path(cfg.out_dir), tuning._path(cfg.results_dir or cfg.out_dir)]
    # make_tables (nothing without --out) and plot_traces (--out required): --out, cwd-relative
    outs = [args[i + 1] for i, a in enumerate(args) if a == "--out"]
    return [Path(o) if Path(o).is_absolute() else ROOT / o for o in outs]


def test_every_documented_script_line_is_found():
    lines = documented()
    found = {line.split()[1] for _, line in lines}
    assert found == set(SCRIPTS), found  # the checks below would pass vacuously otherwise
    assert len(lines) >= 15


EXPLICIT = re.compile(r"--out experiments(\s|$)|results_dir=experiments/")


@pytest.mark.parametrize("source,line", documented())
def test_documented_command_writes_outside_experiments(source, line):
    """Only the commands that regenerate a committed folder as a whole may write there, and
    they name it (`run_ablations.py --out experiments`, `tune.py results_dir=experiments/...`);
    a make_tables / plot_traces line pointing into experiments/ is what issue 13 hit."""
    if EXPLICIT.search(line):
        assert all(p.is_relative_to(EXPERIMENTS) for p in written_paths(line)), line
        return
    for path in written_paths(line):
        assert not path.resolve().is_relative_to(EXPERIMENTS), (
            f"{source}: `{line}` writes {path}; default outputs go under outputs/, writing "
            f"into experiments/ must be asked for (--out experiments)")


def test_defaults_resolve_under_outputs():
    assert ablations.output_dir("window_size", ablations.parse_args(["window_size"]).out) == \
        ROOT / "outputs" / "ablations" / "window_size"
    cfg = tuning.load_config("conf/tune/tiny.yaml")
    for p in (tuning._path(cfg.out_dir), tuning._path(cfg.results_dir or cfg.out_dir)):
        assert p.is_relative_to(ROOT / "outputs"), p
    assert tuning.TuneConfig.__dataclass_fields__["out_dir"].default.startswith("outputs/")


def test_experiments_are_rewritten_only_when_named():
    """The committed folders' own commands name experiments/ explicitly, and resolve there."""
    for readme in sorted(EXPERIMENTS.glob("*/README.md")):
        for line in command_lines(readme.read_text()):
            if "--out" in line:
                paths = written_paths(line)
                assert paths and all(p.is_relative_to(EXPERIMENTS) for p in paths), (readme, line)
                assert "experiments" in line.split("--out", 1)[-1], line
    kw = dict(question="q", grid={"seed": [0]}, cmd=["python", "run.py"], table_md="",
              figs=[], keys=["sampler.alpha_window_size"], prompts=16, tokens=32,
              sweep=ROOT / "multirun" / "ablate_x" / "readme_16x32")
    made = ablations.readme("x", **kw, out=ablations.output_dir("x", "experiments"))
    default = ablations.readme("x", **kw, out=ablations.output_dir("x"))
    for text, inside in ((made, True), (default, False)):
        lines = command_lines(text)
        assert len(lines) == 3, lines
        for line in lines:
            assert all(p.is_relative_to(EXPERIMENTS) == inside for p in written_paths(line)), line
    run_sh = (EXPERIMENTS / "baselines" / "run.sh").read_text()
    assert "results_dir=experiments/baselines/tiny" in run_sh


class _Parsed(Exception):
    pass


@pytest.mark.parametrize("script,argv", [("scripts/make_prompt_sets.py", []),
                                         ("scripts/train_tiny_lm.py", ["--source", "x.tar.gz"])])
def test_data_and_model_scripts_default_to_outputs(script, argv, monkeypatch):
    """The committed prompt sets (data/) and the shipped model are rewritten only by naming
    them (`--out data`, `--out models/tiny-shakespeare`); the scripts stop right after parsing."""
    import argparse
    import runpy
    import sys

    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)
    monkeypatch.setattr(sys, "argv", [script, *argv])
    monkeypatch.syspath_prepend(str((ROOT / script).parent))  # the script's folder, as when run
    with pytest.raises(_Parsed) as parsed:
        runpy.run_path(str(ROOT / script), run_name="__main__")
    out = Path(parsed.value.args[0].out)
    out = out if out.is_absolute() else ROOT / out  # both scripts are run from the root
    assert out.is_relative_to(ROOT / "outputs"), out
