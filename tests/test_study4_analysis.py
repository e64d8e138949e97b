"""Study 4's tables from raw generations (experiments/compute_equal), on hand-made runs.

Hand-computed values: 40 problems; the sampled method's 4 samples are [gold, gold, x, y] on
problems 0-19 (maj@2 = 5/6: only the subset {x, y} loses; maj@4 = 1) and [x, gold, x, gold] on
20-39 (maj@2 = 2/6, ties go to the first seen; maj@4 = 0, a tie won by x), so maj@2 = 7/12,
maj@4 = 1/2, pass@2 = (5/6 + 5/6) / 2. Greedy is right on problems 0-23, and its token entropy is
high exactly where it is wrong (AUROC 1). Also tried: `collect` on an unfinished run (refused).
"""

from __future__ import annotations

import csv
import json
import lzma
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "experiments" / "compute_equal" / "study.py"


def _row(problem, sample, answer, gold, entropy, n=5):
    trace = {"u_entropy": [entropy] * n, "u_varentropy": [0.1 * (problem % 3)] * n,
             "u_attn_entropy": [0.3 + 0.01 * (problem % 7)] * n,
             "u_attn_varentropy": [0.02] * n}
    return {"index": problem * 4 + sample, "problem": problem, "sample": sample,
            "answer": str(gold), "text": f"3 + 4 = {answer}. The answer is {answer}.",
            "num_tokens": n, "token_ids": [1, 2, 3, sample, answer][:n],
            "token_logprobs": [-0.5] * n, "trace": trace}


def _write_run(runs: Path, name: str, rows: list[dict]) -> None:
    (runs / name).mkdir(parents=True)
    with lzma.open(runs / name / "generations.jsonl.xz", "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))


def test_tables_from_hand_made_runs(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "results"
    gold = 7
    sampled, greedy = [], []
    for p in range(40):
        answers = [gold, gold, 8, 9] if p < 20 else [8, gold, 8, gold]
        sampled += [_row(p, j, a, gold, 1.0) for j, a in enumerate(answers)]
        right = p < 24
        g = {k: v for k, v in _row(p, 0, gold if right else 5, gold,
                                   0.4 if right else 2.5).items() if k not in ("problem",
                                                                                 "sample")}
        greedy.append({**g, "index": p})
    _write_run(runs, "greedy", greedy)
    _write_run(runs, "top_p_T0.7", sampled)
    res = subprocess.run([sys.executable, str(STUDY), "tables", str(runs), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = {r["method"]: r for r in csv.DictReader(open(out / "summary.csv"))}
    top = summary["top_p_T0.7"]
    assert float(top["maj@2"]) == pytest.approx(7 / 12)
    assert float(top["maj@4"]) == pytest.approx(0.5)
    assert float(top["maj@1"]) == pytest.approx(0.5)
    assert float(top["pass@2"]) == pytest.approx(5 / 6)
    assert float(summary["greedy"]["maj@1"]) == pytest.approx(24 / 40)
    tests = list(csv.DictReader(open(out / "tests.csv")))
    assert {(t["reference"], t["metric"]) for t in tests} >= {("greedy", "maj@4")}
    by_metric = {t["metric"]: t for t in tests if t["reference"] == "greedy"}
    assert float(by_metric["maj@4"]["difference"]) == pytest.approx(0.5 - 24 / 40)
    assert all(float(t["p_holm"]) >= float(t["p"]) for t in tests)
    aucs = {(r["run"], r["feature"]): float(r["auroc"])
            for r in csv.DictReader(open(out / "signals.csv"))}
    assert aucs[("greedy", "u_entropy_mean")] == 1.0
    assert (out / "budget.png").stat().st_size > 0


def test_collect_refuses_an_unfinished_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"status": "partial"}))
    res = subprocess.run([sys.executable, str(STUDY), "collect", str(run), str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "is not complete" in res.stderr


def test_open_ended_signals_on_hand_made_runs(tmp_path):
    """Coherence falls exactly with the max token entropy (Spearman -1, AUROC 1 for the bottom
    quartile); the tables are written from the xz runs alone."""
    runs = tmp_path / "runs"
    rows = []
    for i in range(40):
        h = 0.5 + i * 0.1
        rows.append({"index": i, "prompt": "p", "text": "t", "num_tokens": 5,
                     "metrics": {"coherence": 1.0 - i * 0.01},
                     "trace": {"u_entropy": [0.1, h, 0.1, 0.1, 0.1],
                               "u_varentropy": [0.2 * ((i * 7) % 5)] * 5,
                               "u_attn_entropy": [0.3 + 0.01 * ((i * 3) % 7)] * 5,
                               "u_attn_varentropy": [0.02 * (i % 4)] * 5}})
    _write_run(runs, "top_p", rows)
    out = tmp_path / "results"
    script = ROOT / "experiments" / "compute_equal" / "open_ended_signals.py"
    res = subprocess.run([sys.executable, str(script), str(runs), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    table = {r["feature"]: r for r in csv.DictReader(open(out / "signals.csv"))}
    assert float(table["u_entropy_max"]["rho"]) == pytest.approx(-1.0)
    assert float(table["u_entropy_max"]["auroc_low"]) == 1.0
    assert len(list(csv.DictReader(open(out / "signals_gain.csv")))) == 2
