"""The human continuations scored as generations (alpha/runner/human.py, scripts/score_human.py).

Independent reference: the human perplexity of a real run (the shipped tiny model on the
embedded held-out passages, `evaluation=default`) against transformers' own loss on each
unpadded prompt + reference row with labels=-100 on the prompt, the prompt tokenised with the
model's special tokens and the reference without (the metric's documented rule), averaged over
rows. Also: rows without a reference are dropped, the generation-only metrics and MAUVE are not
scored, an unfinished run and a run without references are one line, exit 2.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from alpha.runner.human import NOT_FOR_HUMAN, human_metrics, human_records
from tests.conftest import ROOT, TINY_MODEL_DIR, run_tiny_sweep

ENV = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}


def test_human_records_and_metric_list(tiny_tokenizer):
    rows = [{"index": 0, "prompt": "a", "reference": "hello world", "text": "x"},
            {"index": 1, "prompt": "b", "reference": None, "text": "y"},
            {"index": 2, "prompt": "c", "reference": "  ", "text": "z"}]
    recs = human_records(rows, tiny_tokenizer)
    assert [r["index"] for r in recs] == [0] and recs[0]["text"] == "hello world"
    assert recs[0]["num_tokens"] == len(tiny_tokenizer("hello world",
                                                       add_special_tokens=False)["input_ids"])
    cfg = {"evaluation": {"metrics": ["rep_2", "mauve", "perplexity", "tokens_per_s", "eos_rate"]}}
    assert human_metrics(cfg) == ["rep_2", "perplexity"]
    assert "mauve" in NOT_FOR_HUMAN


def test_human_perplexity_equals_transformers_loss(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = tmp_path / "run"
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                           "evaluation=default", "logger=none", "num_prompts=3",
                           f"hydra.run.dir={run}"], cwd=ROOT, env={**ENV, "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "score_human.py"), str(run)],
                         cwd=ROOT, env={**ENV, "HOME": str(tmp_path)}, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    human = json.loads((run / "human_metrics.json").read_text())
    assert human["n"] == 3 and "tokens_per_s" not in human["metrics"]
    model = AutoModelForCausalLM.from_pretrained(TINY_MODEL_DIR).eval()
    tok = AutoTokenizer.from_pretrained(TINY_MODEL_DIR)
    ppl = []
    for line in (run / "generations.jsonl").read_text().splitlines():
        row = json.loads(line)
        p = tok(row["prompt"])["input_ids"]
        c = tok(row["reference"], add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p + c])
        labels = ids.clone()
        labels[0, :len(p)] = -100
        with torch.no_grad():
            ppl.append(math.exp(model(input_ids=ids, labels=labels).loss.item()))
    assert human["metrics"]["perplexity"]["mean"] == pytest.approx(sum(ppl) / len(ppl), rel=1e-4)
    # the run's own generations sit elsewhere: the comparison the tables make
    gen = json.loads((run / "metrics.json").read_text())["metrics"]["perplexity"]["mean"]
    assert gen != pytest.approx(human["metrics"]["perplexity"]["mean"])


def test_bad_run_folders_are_one_line(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"status": "partial"}))
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "score_human.py"), str(run)],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "is not a finished run" in bad.stderr


def test_make_tables_puts_the_distance_to_human_beside_each_method(tmp_path):
    """A two-method sweep on the tiny model, every run's references scored: OUT_human.csv holds
    each method's mean and |log m - log h| (perplexity) / |m - h| (rep_2) computed here from
    the runs' own metrics.json and human_metrics.json; without scored runs, one line, exit 2."""
    import csv

    sweep, env = run_tiny_sweep(tmp_path, "evaluation=default", "sampler=top_p,min_p", "seed=0")
    cmd = [sys.executable, str(ROOT / "scripts" / "make_tables.py"), str(sweep), "--by",
           "sampler.name", "--human", "perplexity,rep_2", "--out", str(tmp_path / "t")]
    bad = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no run folder holds human_metrics.json" in bad.stderr
    runs = sorted(p.parent for p in sweep.rglob("metrics.json"))
    scored = subprocess.run([sys.executable, str(ROOT / "scripts" / "score_human.py"),
                             *map(str, runs)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert scored.returncode == 0, scored.stderr[-2000:]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = {r["config"]: r for r in csv.DictReader(open(tmp_path / "t_human.csv"))}
    human = [json.loads((r / "human_metrics.json").read_text())["metrics"] for r in runs]
    h_ppl = sum(h["perplexity"]["mean"] for h in human) / len(human)
    h_rep = sum(h["rep_2"]["mean"] for h in human) / len(human)
    assert float(rows["human"]["perplexity"]) == pytest.approx(h_ppl)
    for r in runs:
        cfg = json.loads((r / "run_config.json").read_text())["config"]
        m = json.loads((r / "metrics.json").read_text())["metrics"]
        row = rows[f"sampler.name={cfg['sampler']['name']}"]
        assert float(row["perplexity_to_human"]) == pytest.approx(
            abs(math.log(m["perplexity"]["mean"]) - math.log(h_ppl)))
        assert float(row["rep_2_to_human"]) == pytest.approx(abs(m["rep_2"]["mean"] - h_rep))
    assert (tmp_path / "t_human.md").read_text().count("| human |") == 1
    # the paired test of which is nearer human: its distances are the table's own (two routes:
    # per-prompt rows / recounted n-grams there, metrics.json aggregates here), one pair x 2
    for r in runs:
        scored = json.loads((r / "human_metrics.json").read_text())
        assert len(scored["rows"]) == scored["n"] > 1
    pairs = list(csv.DictReader(open(tmp_path / "t_human_pairs.csv")))
    assert [p["metric"] for p in pairs] == ["perplexity_to_human", "rep_2_to_human"]
    for p in pairs:
        metric = p["metric"].removesuffix("_to_human")
        assert float(p["value"]) == pytest.approx(float(rows[p["A"]][p["metric"]]), rel=1e-9)
        assert float(p["reference_value"]) == pytest.approx(float(rows[p["B"]][p["metric"]]),
                                                            rel=1e-9), metric
        assert p["verdict"] in ("A nearer", "B nearer", "not separable")
    assert "nearer human" in (tmp_path / "t_human_pairs.md").read_text()
