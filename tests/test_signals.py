"""alpha.evaluation.signals against hand-computed values and brute-force definitions.

Inputs tried: AUROC on a hand-made list (3 of 4 pairs ordered: 0.75), with ties (0.5), with one
class absent (NaN); fork labels against an all-pairs definition written here, on hand-made
sequences (agreement, disagreement, a lone prefix, samples of different lengths) and on random
ones; trace features on a hand-made trace; the AUROC gain on synthetic data where the extra
feature is the label plus noise (gain, interval above 0) and where it is pure noise (interval
holds 0); mismatched lengths and a window of 0 are refused.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from alpha.config import SamplerConfig
from alpha.evaluation import signals as S


def test_auroc_hand_made():
    assert S.auroc_ci([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], samples=50)[0] == 0.75
    assert S.auroc_ci([0.5, 0.5], [0, 1], samples=10)[0] == 0.5
    assert math.isnan(S.auroc_ci([0.1, 0.2], [1, 1], samples=10)[0])
    point, ci = S.auroc_ci(np.r_[np.zeros(50), np.ones(50)], np.r_[np.zeros(50), np.ones(50)])
    assert point == 1.0 and ci == [1.0, 1.0]
    with pytest.raises(ValueError, match="3 scores but 2 labels"):
        S.auroc_ci([1, 2, 3], [0, 1])


def test_auroc_equals_sklearns_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 60)
        s = rng.integers(0, 5, 60).astype(float)  # many ties
        assert S.auroc_ci(s, y, samples=5)[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_group_bootstrap_resamples_whole_groups():
    groups = ["a", "a", "b", "c", "c", "c"]
    for draw in S._boot_indices(6, 20, 0, groups):
        picked = [groups[i] for i in draw]
        for g in set(picked):  # a group comes in whole, as often as it was drawn
            assert picked.count(g) % groups.count(g) == 0
    # 40 problems of 5 identical samples: resampling samples as if independent narrows the
    # interval about sqrt(5)-fold; resampling problems does not
    rng = np.random.default_rng(2)
    y, s = np.repeat(rng.integers(0, 2, 40), 5), np.repeat(rng.normal(size=40), 5)
    lo_i, hi_i = S.auroc_ci(s, y, samples=400)[1]
    lo_g, hi_g = S.auroc_ci(s, y, samples=400, groups=np.repeat(np.arange(40), 5))[1]
    assert (hi_g - lo_g) > 1.7 * (hi_i - lo_i)


def brute_fork(samples):
    """The definition, pair by pair."""
    out = []
    for seq in samples:
        row = []
        for t in range(len(seq)):
            peers = [o for o in samples if len(o) > t and list(o[:t]) == list(seq[:t])]
            row.append(None if len(peers) < 2 else int(len({o[t] for o in peers}) > 1))
        out.append(row)
    return out


def test_fork_labels_hand_made_and_against_the_definition():
    assert S.fork_labels([[1, 2, 3], [1, 2, 3], [1, 9]]) == [[0, 1, 0], [0, 1, 0], [0, 1]]
    assert S.fork_labels([[1, 2], [3, 4]]) == [[1, None], [1, None]]
    assert S.fork_labels([]) == []
    rng = np.random.default_rng(0)
    for _ in range(30):
        samples = [rng.integers(0, 3, size=rng.integers(0, 7)).tolist() for _ in range(5)]
        assert S.fork_labels(samples) == brute_fork(samples)


def test_trace_features_hand_made():
    trace = {"u_entropy": [1.0, 2.0, 3.0, 4.0], "u_varentropy": [0.0, 0.0, 16.0, 0.0],
             "u_attn_entropy": [0.5] * 4, "u_attn_varentropy": [0.1] * 4}
    f = S.trace_features(trace, vocab_size=16, window=2)
    assert (f["u_entropy_mean"], f["u_entropy_max"], f["u_entropy_late"]) == (2.5, 4.0, 3.5)
    w = SamplerConfig().weights()  # alpha = w . (H / 4, VH / 16, Ha, VHa) with log2(16) = 4
    step3 = w[0] * 3 / 4 + w[1] * 16 / 16 + w[2] * 0.5 + w[3] * 0.1
    assert f["alpha_max"] == pytest.approx(max(step3, w[0] + w[2] * 0.5 + w[3] * 0.1))
    only_logits = S.trace_features({"u_entropy": [1.0], "u_varentropy": [2.0]}, vocab_size=16)
    assert set(only_logits) == set(S.feature_names(S.LOGIT_SIGNALS))
    assert math.isnan(S.trace_features({"u_entropy": [], "u_varentropy": []},
                                       vocab_size=16)["u_entropy_max"])
    with pytest.raises(ValueError, match="window=0"):
        S.trace_features(trace, vocab_size=16, window=0)


def test_auroc_gain_sees_a_real_feature_and_not_noise():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    base = rng.normal(size=(400, 2))
    useful = S.auroc_gain(base, np.c_[base, y + rng.normal(scale=0.7, size=400)], y, samples=300)
    assert useful["gain"] > 0.2 and useful["ci95"][0] > 0 and useful["p"] < 0.01
    noise = S.auroc_gain(base, np.c_[base, rng.normal(size=400)], y, samples=300)
    assert noise["ci95"][0] < 0 < noise["ci95"][1] and noise["p"] > 0.05
    assert useful["n"] == 400 and useful["positives"] == int(y.sum())
