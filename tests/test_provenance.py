"""Committed results stay pinned to the configs that made them (experiments/provenance.yaml).

The reference is the composed config itself: a changed option under a committed result must
change its digest and fail the check with the command to re-run. Bad inputs tried: a recorded
digest that differs from today's, a stale entry whose README does not say so.
"""

from __future__ import annotations

from pathlib import Path

from alpha.runner import provenance

ROOT = Path(__file__).resolve().parents[1]


def test_every_committed_result_matches_the_configs_that_made_it():
    """Fails with "re-run <command>" when a default or option under a committed result changed."""
    assert provenance.check() == []


def test_every_result_folder_is_an_entry_and_exists():
    entries = provenance.load()
    for folder in entries:
        assert (ROOT / folder).is_dir(), folder
    studies = {"experiments/open_ended/results", "experiments/temperature_robustness/results",
               "experiments/ablations_real", "experiments/baselines/tiny", "experiments/quality_gap"}
    assert studies <= set(entries)


def test_a_changed_option_changes_the_digest():
    base = {"command": "x", "runs": [["experiment=temperature_robustness", "sampler=top_p"]]}
    changed = {"command": "x", "runs": [["experiment=temperature_robustness", "sampler=top_p",
                                         "sampler.top_p=0.8"]]}
    evaluation = {"command": "x", "runs": [["experiment=temperature_robustness", "sampler=top_p",
                                            "evaluation.options.bootstrap_samples=5"]]}
    digests = {provenance.digest(e) for e in (base, changed, evaluation)}
    assert len(digests) == 3
    assert provenance.digest(base) == provenance.digest(dict(base))  # deterministic
    # a key that never changes a generation or a metric (the progress bar) leaves it alone
    quiet = {"command": "x", "runs": [[*base["runs"][0], "progress=false"]]}
    assert provenance.digest(quiet) == provenance.digest(base)


def test_a_drifted_or_unmarked_result_is_named_with_its_command(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "results:\n"
        "  experiments/temperature_robustness/results:\n"
        "    command: bash experiments/temperature_robustness/run.sh\n"
        "    runs: [[experiment=temperature_robustness, sampler=greedy]]\n"
        "    digest: 0000000000000000\n"
        "  experiments/open_ended/results:\n"
        "    command: bash experiments/open_ended/run.sh\n"
        "    runs: [[sampler=top_p]]\n"
        "    stale: an old default\n")
    problems = provenance.check(tmp_path / "p.yaml")
    assert len(problems) == 2
    assert "re-run `bash experiments/temperature_robustness/run.sh`" in problems[0]
    assert "does not say 'made by an older default'" in problems[1]
