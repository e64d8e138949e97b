"""The shared timing harness of scripts/bench/ (alpha/runner/timing.py): interleaving,
rotation, medians and ratios by hand, on a fake clock (no real timing in a test)."""

from __future__ import annotations

import json

import pytest

from alpha.runner.timing import interleaved, load, report, write_jsonl


def test_rounds_rotate_and_medians_and_ratios_are_by_hand(tmp_path):
    now, order = [0.0], []
    cost = {"a": [1.0, 3.0, 2.0], "b": [4.0, 4.0, 8.0]}  # seconds per timed call, in call order

    def fn(name):
        def run():
            order.append(name)
            calls = order.count(name) - 1  # the first call of each is the warm-up
            if calls >= 1:
                now[0] += cost[name][calls - 1]
        return run

    rows = interleaved({"a": fn("a"), "b": fn("b")}, repeats=3, warmup=1, baseline="a",
                       clock=lambda: now[0])
    assert order == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then rotating rounds
    a, b = rows
    assert a.seconds == [1.0, 3.0, 2.0] and a.median == 2.0 and a.ratio == 1.0
    assert b.seconds == [4.0, 4.0, 8.0] and b.median == 4.0 and b.ratio == 2.0
    text = report(rows, title="t", before={"load1": 0.5})
    assert "| b | 4 | 4 / 4 / 8 | 2.00x |" in text and "load: before {'load1': 0.5}" in text
    write_jsonl(tmp_path / "r.jsonl", rows, command="x")
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [x["name"] for x in lines] == ["a", "b"] and lines[1]["ratio"] == 2.0
    assert lines[0]["command"] == "x"


def test_bad_arguments_are_one_line():
    with pytest.raises(ValueError, match="repeats=0 must be >= 1"):
        interleaved({"a": lambda: None}, repeats=0)
    with pytest.raises(ValueError, match="baseline='c' is not one of \\['a'\\]"):
        interleaved({"a": lambda: None}, baseline="c")


def test_load_records_the_machine():
    info = load()
    assert set(info) == {"load1", "cores", "torch_threads"} and info["cores"] >= 1


def test_every_timing_script_lives_in_scripts_bench_and_uses_the_harness():
    """The measurement scripts are in scripts/bench/; a script that times anything imports the
    shared harness (alpha/runner/timing.py) for its rounds, medians, ratios and load."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    outside = [p.name for p in (root / "scripts").glob("*.py")
               if "perf_counter" in p.read_text() or p.name.startswith("bench")]
    assert outside == []
    timing_scripts = [p for p in (root / "scripts" / "bench").glob("*.py")
                      if "perf_counter" in p.read_text() or "--repeats" in p.read_text()]
    assert len(timing_scripts) >= 12
    bare = [p.name for p in timing_scripts if "alpha.runner import timing" not in p.read_text()
            and "alpha.runner.timing import" not in p.read_text()]
    assert bare == []
