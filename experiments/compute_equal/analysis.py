"""Study 4's tables and figures, from the committed raw generations only (runs/NAME/*.xz).

    python experiments/compute_equal/study.py tables experiments/compute_equal/runs \
        --out experiments/compute_equal/results

Writes, for whatever runs are there (a run still going is simply absent):
  summary.{md,csv}     per method: maj@k and pass@k (k = 1, 2, 4, 8; Chen et al.'s estimator,
                       maj@k as the mean over all k-subsets of the 8), the two confidence votes
                       over all 8 samples, tokens per sample and per problem at k, 95% CIs over
                       problems.
  tests.{md,csv}       every paired test made (over problems): each sampled method's maj@k minus
                       greedy's accuracy, and minus self-consistency with top_p at T = 0.7 at the
                       same k (the same number of samples; the token ratio is in the row); the
                       votes at k = 8 minus greedy. Holm-corrected over all of them together.
  budget.png           accuracy against generated tokens per problem (k = 1, 2, 4, 8), greedy as
                       its point and a line; where a method's samples share their openings (the
                       gated sampler), also against the tokens a forking decoder would generate
                       (each distinct prefix once: `branching@k`, in summary too).
  signals.{md,csv}     AUROC of each trace feature for a wrong answer: greedy per problem, the
                       sampled runs per sample (bootstrap over problems), and the AUROC gain of
                       logit + attention features over logit-only ones (held-out logistic scores).
  forks.{md,csv}       per token of the sampled runs: does the step's attention (or token)
                       entropy predict that samples sharing the prefix disagree on the next token?
The gain rows are tests too; their Holm correction is over the gain rows (separate family).
"""

from __future__ import annotations

import csv
import json
import math
from itertools import combinations
from pathlib import Path

import numpy as np

from alpha.evaluation import accuracy as acc
from alpha.evaluation import signals as S
from alpha.evaluation import voting
from alpha.evaluation.bootstrap import mean_ci, resample_weights
from alpha.evaluation.paired import paired_mean
from alpha.evaluation.sampled import trie_tokens
from alpha.evaluation.separability import holm
from alpha.runner.runs import read_rows

KS = (1, 2, 4, 8)
VOCAB = 151_936  # Qwen2.5-Coder-0.5B's logits width (its config's vocab_size): alpha's log2 V
GREEDY, SC = "greedy", "top_p_T0.7"  # the two references
CONF_KEEP = 0.5  # DeepConf-style filter: vote over the most confident half of the samples
BOOT = 2000


def read_runs(runs: Path) -> dict[str, list[dict]]:
    """The rows of every collected run (runs/NAME/generations.jsonl.xz), by run name."""
    return {p.name: read_rows(p) for p in sorted(runs.iterdir())
            if (p / "generations.jsonl.xz").exists()}


def by_problem(rows: list[dict]) -> dict[int, list[dict]]:
    groups: dict[int, list[dict]] = {}
    for r in rows:
        groups.setdefault(int(r.get("problem", r["index"])), []).append(r)
    return {p: sorted(g, key=lambda r: int(r.get("sample", 0))) for p, g in sorted(groups.items())}


def problem_scores(group: list[dict]) -> dict[str, float]:
    """Every per-problem number of one method on one problem."""
    answers = [acc.extract_answer(r["text"]) for r in group]
    gold = acc.gold_answer(str(group[0]["answer"]))
    n, c = len(group), sum(a == gold for a in answers)
    tokens = [int(r["num_tokens"]) for r in group]
    out = {"tokens_per_sample": float(np.mean(tokens)), "n": n}
    ids = [list(r.get("token_ids") or []) for r in group]
    for k in KS:
        if k <= n:
            out[f"maj@{k}"] = voting.maj_at_k(answers, gold, k)
            out[f"pass@{k}"] = voting.pass_at_k(n, c, k)
            # a forking decoder's tokens for k samples: each distinct prefix once, mean over
            # the k-subsets (the same subsets maj@k averages over)
            out[f"branching@{k}"] = float(np.mean([trie_tokens([ids[i] for i in sub])
                                                   for sub in combinations(range(n), k)]))
    if n > 1:
        lp = [r.get("token_logprobs") or [] for r in group]
        w = [math.exp(voting.mean_logprob(x)) for x in lp]
        out["weighted_vote"] = float(voting.weighted_vote(answers, w) == gold)
        conf = [voting.lowest_window_confidence(x) if x else -math.inf for x in lp]
        keep = sorted(range(n), key=lambda i: -conf[i])[:max(1, round(CONF_KEEP * n))]
        out["conf_vote"] = float(voting.majority_vote([answers[i] for i in sorted(keep)]) == gold)
    return out


def _ci(values: list[float]) -> list[float] | None:
    return mean_ci(resample_weights(len(values), BOOT, 0), values) if len(values) > 1 else None


def summary(scores: dict[str, dict[int, dict]]) -> list[dict]:
    rows = []
    for method, per in scores.items():
        probs = list(per.values())
        row = {"method": method, "problems": len(probs), "samples": probs[0]["n"],
               "tokens_per_sample": float(np.mean([p["tokens_per_sample"] for p in probs]))}
        for k in KS:
            vals = [p[f"branching@{k}"] for p in probs if f"branching@{k}" in p]
            if vals:
                row[f"branching@{k}"] = float(np.mean(vals))
        for key in [f"{m}@{k}" for m in ("maj", "pass") for k in KS] + ["weighted_vote",
                                                                        "conf_vote"]:
            vals = [p[key] for p in probs if key in p]
            if vals:
                row[key], row[f"{key}_ci"] = float(np.mean(vals)), _ci(vals)
        rows.append(row)
    return rows


def _paired(a: dict[int, dict], b: dict[int, dict], key_a: str, key_b: str):
    common = sorted(set(a) & set(b))
    return paired_mean([a[p].get(key_a) for p in common], [b[p].get(key_b) for p in common],
                       samples=BOOT)


def tests(scores: dict[str, dict[int, dict]]) -> list[dict]:
    out = []
    tok = {m: np.mean([p["tokens_per_sample"] for p in per.values()]) for m, per in scores.items()}
    sampled = [m for m, per in scores.items() if next(iter(per.values()))["n"] > 1]
    for m in sampled:
        if GREEDY in scores:
            n = next(iter(scores[m].values()))["n"]
            for key in [f"maj@{k}" for k in KS if k <= n] + ["weighted_vote", "conf_vote"]:
                k = n if "@" not in key else int(key.split("@")[1])
                out.append(("greedy", m, key, "maj@1", k * tok[m] / tok[GREEDY],
                            _paired(scores[m], scores[GREEDY], key, "maj@1")))
        if SC in scores and m != SC:
            for k in (k for k in KS if f"maj@{k}" in next(iter(scores[m].values()))):
                out.append((SC, m, f"maj@{k}", f"maj@{k}", tok[m] / tok[SC],
                            _paired(scores[m], scores[SC], f"maj@{k}", f"maj@{k}")))
    adjusted = holm([r[5].perm_p for r in out])
    return [{"reference": ref, "method": m, "metric": key, "reference_metric": rkey,
             "token_ratio": round(float(ratio), 3), "n": res.n, "method_mean": res.value_a,
             "reference_mean": res.value_b, "difference": res.diff, "ci95": res.ci95,
             "p": res.perm_p, "p_holm": p_holm,
             "verdict": ("not separable" if p_holm is None or p_holm >= 0.05 else
                         "better" if res.diff > 0 else "worse")}
            for (ref, m, key, rkey, ratio, res), p_holm in zip(out, adjusted, strict=True)]


def _features(rows: list[dict]) -> tuple[list[dict], list[int], list[int]]:
    feats, wrong, problem = [], [], []
    for r in rows:
        if "u_attn_entropy" not in r.get("trace", {}):
            continue
        feats.append({**S.trace_features(r["trace"], vocab_size=VOCAB),
                      "length": float(r["num_tokens"])})  # a control: wrong answers run longer?
        gold = acc.gold_answer(str(r["answer"]))
        wrong.append(int(acc.extract_answer(r["text"]) != gold))
        problem.append(int(r.get("problem", r["index"])))
    return feats, wrong, problem


def signal_tables(runs: dict[str, list[dict]]) -> tuple[list[dict], list[dict]]:
    """Per-feature AUROCs and the attention gain, per run (greedy: per problem; sampled: per
    sample, resampling problems)."""
    auc_rows, gain_rows = [], []
    for name, rows in runs.items():
        feats, wrong, problem = _features(rows)
        if len(set(wrong)) < 2:
            continue
        groups = None if name == GREEDY else problem
        for f in S.feature_names(S.SIGNALS) + ["length"]:
            point, ci = S.auroc_ci([x[f] for x in feats], wrong, samples=BOOT // 2, groups=groups)
            auc_rows.append({"run": name, "feature": f, "auroc": point, "ci95": ci,
                             "items": len(wrong), "wrong": sum(wrong)})
        logit = S.feature_names(S.LOGIT_SIGNALS)
        attn = S.feature_names(("u_attn_entropy", "u_attn_varentropy"))
        for label, base_f in (("logit", logit), ("logit + length", logit + ["length"])):
            base = np.array([[x[f] for f in base_f] for x in feats])
            full = np.array([[x[f] for f in base_f + attn] for x in feats])
            g = S.auroc_gain(base, full, wrong, samples=BOOT // 2, groups=groups)
            gain_rows.append({"run": name, "items": "problems" if groups is None else "samples",
                              "base_features": label, **g})
    for r, p in zip(gain_rows, holm([r["p"] for r in gain_rows]), strict=True):
        r["p_holm"] = p
    return auc_rows, gain_rows


def fork_table(runs: dict[str, list[dict]]) -> list[dict]:
    out = []
    for name, rows in runs.items():
        groups = by_problem(rows)
        if name == GREEDY or len(next(iter(groups.values()))) < 2:
            continue
        x, y, prob = [], [], []
        for p, g in groups.items():
            if any("u_attn_entropy" not in r["trace"] for r in g):
                continue
            labels = S.fork_labels([r["token_ids"] for r in g])
            for r, lab in zip(g, labels, strict=True):
                tr = r["trace"]
                for t, v in enumerate(lab):
                    if v is not None:
                        x.append([tr[k][t] for k in S.SIGNALS[:4]])
                        y.append(v)
                        prob.append(p)
        if len(set(y)) < 2:
            continue
        x = np.array(x)
        row = {"run": name, "tokens": len(y), "forks": int(sum(y))}
        for j, k in enumerate(S.SIGNALS[:4]):
            row[f"auroc_{k}"], row[f"ci_{k}"] = S.auroc_ci(x[:, j], y, samples=200, groups=prob)
        g = S.auroc_gain(x[:, :2], x, y, samples=200, groups=prob)
        row.update(auroc_logit=g["auroc_base"], auroc_logit_attn=g["auroc_full"],
                   gain=g["gain"], gain_ci95=g["ci95"])
        out.append(row)
    return out


def _fmt(v, ci=None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    s = f"{v:.3f}" if isinstance(v, float) else str(v)
    return s + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _write(rows: list[dict], path: Path, columns: list[tuple[str, str | None]], title: str):
    if not rows:
        return
    keys = sorted({k for r in rows for k in r})
    with open(path.with_suffix(".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows([{k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()}
                     for r in rows])
    head = "| " + " | ".join(c for c, _ in columns) + " |"
    lines = [f"# {title}", "", head, "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c), r.get(ci) if ci else None)
                                       for c, ci in columns) + " |")
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")


def budget_figure(summary_rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in summary_rows:
        ks = [k for k in KS if f"maj@{k}" in r]
        x = [k * r["tokens_per_sample"] for k in ks]
        y = [r[f"maj@{k}"] for k in ks]
        err = np.array([[y_ - (r[f"maj@{k}_ci"] or [y_, y_])[0],
                         (r[f"maj@{k}_ci"] or [y_, y_])[1] - y_] for k, y_ in zip(ks, y, strict=True)]).T
        if r["method"] == GREEDY:
            ax.axhline(y[0], color="k", ls="--", lw=1)
        line = ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=r["method"])
        xb = [r.get(f"branching@{k}") for k in ks]
        if all(xb) and xb[-1] < 0.9 * x[-1]:  # samples share openings: the forking budget too
            ax.plot(xb, y, ls=":", marker="x", color=line[0].get_color(),
                    label=f"{r['method']} (shared prefixes once)")
    ax.set_xscale("log")
    ax.set_xlabel("generated tokens per problem (k samples)")
    ax.set_ylabel("maj@k accuracy (MultiArith test, 300 problems)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_tables(runs_dir: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    runs = read_runs(runs_dir)
    scores = {m: {p: problem_scores(g) for p, g in by_problem(rows).items()}
              for m, rows in runs.items()}
    summ = summary(scores)
    cols = [("method", None), ("problems", None), ("samples", None), ("tokens_per_sample", None)]
    cols += [(f"maj@{k}", f"maj@{k}_ci") for k in KS] + [(f"pass@{k}", None) for k in KS[1:]]
    cols += [("weighted_vote", "weighted_vote_ci"), ("conf_vote", "conf_vote_ci"),
             ("branching@8", None)]
    _write(summ, out / "summary", cols, "Study 4: accuracy at k samples (95% CIs over problems)")
    _write(tests(scores), out / "tests",
           [("reference", None), ("method", None), ("metric", None), ("token_ratio", None),
            ("difference", "ci95"), ("p", None), ("p_holm", None), ("verdict", None)],
           "Study 4: paired differences over problems, Holm-corrected over every row")
    budget_figure(summ, out / "budget.png")
    auc, gain = signal_tables(runs)
    _write(auc, out / "signals", [("run", None), ("feature", None), ("auroc", "ci95"),
                                  ("items", None), ("wrong", None)],
           "Study 4: AUROC of each trace feature for a wrong answer")
    _write(gain, out / "signals_gain", [("run", None), ("items", None),
                                        ("base_features", None), ("auroc_base", None),
                                        ("auroc_full", None), ("gain", "ci95"), ("p_holm", None)],
           "Study 4: adding the attention features (held-out logistic scores), Holm over rows")
    _write(fork_table(runs), out / "forks",
           [("run", None), ("tokens", None), ("forks", None),
            ("auroc_u_entropy", "ci_u_entropy"), ("auroc_u_attn_entropy", "ci_u_attn_entropy"),
            ("auroc_logit", None), ("auroc_logit_attn", None), ("gain", "gain_ci95")],
           "Study 4: does a step's uncertainty predict that samples sharing its prefix disagree?")
