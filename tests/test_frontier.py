"""Quality-diversity frontiers (alpha/runner/frontier.py, make_tables.py --frontier).

Pareto sets against a brute-force definition written here (hand-made points with ties and
both directions, random ones); end to end on a real sweep (top_p and min_p, three seeds each,
tiny model): every run a point in OUT_frontier.csv with its own metrics.json values, each
method's frontier and the study's (all runs together) the brute-force ones, the figure written; one metric, or no --out, is one
line, exit 2.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys

from alpha.runner.frontier import pareto
from tests.conftest import ROOT, run_tiny_sweep


def brute(points, higher):
    def better_eq(a, b):  # a at least as good as b on both
        return all((ai >= bi) if h else (ai <= bi) for ai, bi, h in zip(a, b, higher, strict=True))

    return [not any(better_eq(o, p) and o != p for o in points) for p in points]


def test_pareto_by_hand_and_against_the_definition():
    pts = [(1, 1), (2, 0), (0, 2), (1, 1), (0.5, 0.5)]
    assert pareto(pts, (True, True)) == [True, True, True, True, False]  # equal points both stay
    assert pareto(pts, (False, False)) == [False, True, True, False, True]  # extremes stay
    assert pareto(pts, (True, False)) == [False, True, False, False, False]
    rng = random.Random(0)
    for _ in range(50):
        pts = [(rng.randint(0, 4), rng.randint(0, 4)) for _ in range(8)]
        for higher in ((True, True), (True, False), (False, True)):
            assert pareto(pts, higher) == brute(pts, higher)


def test_make_tables_frontier_on_a_real_sweep(tmp_path):
    sweep, env = run_tiny_sweep(tmp_path, "sampler=top_p,min_p", "seed=0,1,2")
    base = [sys.executable, str(ROOT / "scripts" / "make_tables.py"), str(sweep), "--by",
            "sampler.name"]
    res = subprocess.run([*base, "--frontier", "distinct_2,rep_2", "--out", str(tmp_path / "t")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "t_frontier.csv")))
    assert len(rows) == 6 and (tmp_path / "t_frontier.png").stat().st_size > 0
    for r in rows:
        m = json.loads(open(f"{r['source']}/metrics.json").read())["metrics"]
        assert float(r["distinct_2"]) == m["distinct_2"]["mean"]
    for group in {r["group"] for r in rows}:
        g = [r for r in rows if r["group"] == group]
        pts = [(float(r["distinct_2"]), float(r["rep_2"])) for r in g]
        assert [r["on_frontier"] == "True" for r in g] == brute(pts, (True, False))
    every = [(float(r["distinct_2"]), float(r["rep_2"])) for r in rows]  # across both methods
    assert [r["on_study_frontier"] == "True" for r in rows] == brute(every, (True, False))
    assert "the study's frontier holds runs of" in res.stdout
    for extra in (["--frontier", "distinct_2", "--out", str(tmp_path / "u")],
                  ["--frontier", "distinct_2,rep_2"]):
        bad = subprocess.run([*base, *extra], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
