"""`num_samples: k` (k samples of each prompt) and the metrics over them (maj@k, pass@k,
weighted_vote, tokens_per_problem): grouping and numbers by hand, per-sample seeds that do not
depend on the batch, the fingerprint, and `run.py ... evaluation=reasoning num_samples=4` end to
end. The vote and estimator rules have their own references in tests/test_voting.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from alpha import build_sampler
from alpha.data.records import expand_samples
from alpha.evaluation import evaluate_records
from alpha.generation import generate
from alpha.runner.experiment import _normalise, generate_with_backoff, make_rows
from tests.conftest import ROOT, make_tiny_model


def test_expand_samples_gives_adjacent_seeded_samples():
    recs = [{"index": 0, "prompt": "a"}, {"index": 5, "prompt": "b"}]
    out = expand_samples(recs, 3)
    assert [(r["index"], r["problem"], r["sample"], r["prompt"]) for r in out] == [
        (0, 0, 0, "a"), (1, 0, 1, "a"), (2, 0, 2, "a"), (15, 5, 0, "b"), (16, 5, 1, "b"),
        (17, 5, 2, "b")]
    assert expand_samples(recs, 1) is recs  # one sample: the records as they were


def _rec(problem, sample, text, answer, lp=(-1.0,)):
    return {"prompt": "q", "problem": problem, "sample": sample, "text": text, "answer": answer,
            "num_tokens": len(lp), "finish_reason": "eos", "token_logprobs": list(lp)}


def test_the_k_sample_metrics_by_hand():
    """Problem 0 answers (8, 7, 8, none), gold 8; problem 1 answers 3 four times, gold 4.
    maj@2, problem 0: of the 6 pairs (8,7) (8,8) (8,-) (7,8) (7,-) (8,-) four vote 8: 4/6;
    problem 1: 0; mean 1/3. pass@2, problem 0: n=4, c=2: 1 - C(2,2)/C(4,2) = 5/6; mean 5/12.
    weighted vote, problem 0: 8 weighs e^-3 + e^-3, 7 weighs e^-0.1: 7 wins, wrong; mean 0."""
    recs = [_rec(0, 0, "so 8", "8", (-3.0,)), _rec(0, 1, "it is 7", "8", (-0.1,)),
            _rec(0, 2, "8", "8", (-3.0,)), _rec(0, 3, "no idea", "8", (-1.0,)),
            *[_rec(1, j, "3", "4", (-0.5, -0.5)) for j in range(4)]]
    agg = evaluate_records(recs, metrics=["maj@1", "maj@2", "maj@4", "maj@8", "pass@1", "pass@2",
                                          "pass@4", "weighted_vote", "tokens_per_problem"]
                           ).aggregates
    assert agg["maj@2"]["mean"] == pytest.approx(1 / 3)
    assert agg["pass@2"]["mean"] == pytest.approx(5 / 12)
    assert agg["pass@1"]["mean"] == pytest.approx((2 / 4 + 0) / 2)
    assert agg["pass@4"]["mean"] == pytest.approx(0.5) and agg["maj@4"]["mean"] == 0.5
    assert agg["maj@8"]["mean"] is None and "at least 8 samples" in agg["maj@8"]["note"]
    assert agg["weighted_vote"]["mean"] == 0.0
    assert agg["tokens_per_problem"]["mean"] == pytest.approx((4 + 8) / 2)
    assert math.exp(-0.1) > 2 * math.exp(-3.0)  # why 7 wins the weighted vote


def test_branching_tokens_count_each_shared_prefix_once():
    """Hand-made: samples [1 2 3], [1 2 4], [1 5] share "1" and "1 2": the trie has the nodes
    1; 1 2; 1 5; 1 2 3; 1 2 4 = 5 tokens (8 generated in full). Identical samples count once;
    disjoint ones in full. Also against a brute-force count on random samples, and as the
    registered metric (mean over problems)."""
    import random

    from alpha.evaluation.sampled import trie_tokens

    assert trie_tokens([[1, 2, 3], [1, 2, 4], [1, 5]]) == 5
    assert trie_tokens([[7, 8, 9]] * 4) == 3
    assert trie_tokens([[1, 2], [3, 4]]) == 4 and trie_tokens([]) == 0
    rng = random.Random(0)
    for _ in range(20):
        samples = [[rng.randrange(3) for _ in range(rng.randrange(6))] for _ in range(5)]
        nodes = set()
        for seq in samples:  # every (position, prefix) once
            for t in range(len(seq)):
                nodes.add(tuple(seq[:t + 1]))
        assert trie_tokens(samples) == len(nodes)
    recs = [{**_rec(0, j, "8", "8"), "token_ids": ids}
            for j, ids in enumerate([[1, 2, 3], [1, 2, 4], [1, 5]])]
    recs += [{**_rec(1, j, "8", "8"), "token_ids": [9, 9]} for j in range(3)]
    agg = evaluate_records(recs, metrics=["branching_tokens_per_problem"]).aggregates
    assert agg["branching_tokens_per_problem"]["mean"] == pytest.approx((5 + 2) / 2)


def test_sample_j_of_prompt_i_is_the_same_whatever_else_is_in_the_batch(tiny_tokenizer):
    model = make_tiny_model("qwen2", seed=2)
    sampler = build_sampler("top_p", top_p=0.95)
    recs = _normalise(expand_samples([{"prompt": p} for p in ("The king", "A fool", "O")], 4))

    def run(batch):
        res = generate(model, tiny_tokenizer, [r["prompt"] for r in batch], sampler=sampler,
                       max_new_tokens=6, seed=3, prompt_indices=[r["index"] for r in batch])
        return make_rows(batch, res)

    by4, by12, alone = [], [], []
    generate_with_backoff(run, recs, 4, by4.extend)
    generate_with_backoff(run, recs, 12, by12.extend)
    generate_with_backoff(run, [recs[5]], 1, alone.extend)
    assert [r["token_ids"] for r in by4] == [r["token_ids"] for r in by12]
    assert alone[0]["token_ids"] == by4[5]["token_ids"] and by4[5]["sample"] == 1
    assert len({tuple(r["token_ids"]) for r in by4[:4]}) > 1  # the samples of one prompt differ


def test_the_fingerprint_names_num_samples_only_above_one():
    from alpha.runner.config import fingerprint

    base = {"model": {}, "dataset": {}, "sampler": {}, "seed": 0}
    assert "num_samples" not in fingerprint({**base, "num_samples": 1})
    assert fingerprint({**base, "num_samples": 4})["num_samples"] == 4
    assert "record_signals" not in fingerprint({**base, "record_signals": False})
    assert fingerprint({**base, "record_signals": True})["record_signals"] is True


def test_run_py_reports_the_k_sample_metrics(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                          "dataset=arithmetic", "evaluation=reasoning", "num_samples=4",
                          "record_signals=true", "max_new_tokens=6", f"hydra.run.dir={out}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert {"maj@4", "pass@4", "weighted_vote", "tokens_per_problem"} <= set(metrics)
    assert metrics["pass@4"]["n"] == 4  # debug's 4 prompts, each 4 samples
    rows = [json.loads(x) for x in (out / "generations.jsonl").read_text().splitlines()]
    assert [(r["problem"], r["sample"]) for r in rows[:5]] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    for r in rows:  # the uncertainty of every token, beside the adaptive sampler's own trace
        assert {"u_entropy", "u_attn_entropy", "alpha"} <= set(r["trace"])
        assert len(r["trace"]["u_entropy"]) == r["num_tokens"]
    # the forking decoder (branching=true): the same samples, fewer rows run
    forked = tmp_path / "forked"
    res = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                          "dataset=arithmetic", "evaluation=reasoning", "num_samples=4",
                          "record_signals=true", "max_new_tokens=6", "branching=true",
                          f"hydra.run.dir={forked}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows2 = [json.loads(x) for x in (forked / "generations.jsonl").read_text().splitlines()]
    assert [r["token_ids"] for r in rows2] == [r["token_ids"] for r in rows]
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default", "branching=true",
                          "fixed_batch=true", f"hydra.run.dir={tmp_path / 'bad0'}"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "branching=true and fixed_batch=true" in bad.stderr
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default", "num_samples=0",
                          f"hydra.run.dir={tmp_path / 'bad'}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: num_samples=0 is invalid: use an integer in [1, inf)"
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=default",
                          "record_signals=maybe", f"hydra.run.dir={tmp_path / 'bad2'}"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: record_signals='maybe'")


def test_study4_composes_with_its_seeded_split():
    """The experiment file composes, and its dev/test rule is the seeded one it writes down."""
    from alpha.data.prompts import select_split
    from alpha.runner import config as hc
    from tests.test_configs import _compose, _plain

    c = _plain(_compose(["experiment=study4", "output_dir=/tmp/x"]))
    assert (c["num_samples"], c["dataset"]["split_seed"], c["dataset"]["dev_size"]) == (8, 2027, 300)
    assert hc.settings(c).num_samples == 8
    assert c["record_signals"] is True  # the signal analysis reads every run's traces
    import numpy as np

    perm = np.random.default_rng(2027).permutation(600)
    assert select_split(600, "dev", 300, 2027) == sorted(perm[:300].tolist())
    test = select_split(600, "test", 300, 2027)
    assert len(test) == 300 and not set(test) & set(select_split(600, "dev", 300, 2027))
    assert list(select_split(600, "test", 300, None)) == list(range(300, 600))  # unchanged rule
    with pytest.raises(ValueError, match="dataset.split_seed='x' is invalid"):
        select_split(10, "dev", 5, "x")


def test_study4_gsm8k_task_is_a_seeded_200_problem_subset():
    """The second task composes on top of Study 4 (same samples, signals, batch) with GSM8K's
    1,319 test problems split by the seeded rule it writes down: 200 test problems."""
    from alpha.data.prompts import select_split
    from tests.test_configs import _compose, _plain

    c = _plain(_compose(["experiment=study4_gsm8k", "output_dir=/tmp/x"]))
    assert c["dataset"]["source"] == "gsm8k" and c["dataset"]["prompt_format"] == "gsm8k_cot8"
    assert (c["num_samples"], c["record_signals"], c["max_new_tokens"]) == (8, True, 256)
    test = select_split(1319, "test", c["dataset"]["dev_size"], c["dataset"]["split_seed"])
    assert len(test) == 200
    import numpy as np

    assert set(test) == set(range(1319)) - set(np.random.default_rng(2027).permutation(1319)[:1119].tolist())

