"""The human continuations' own metric values, beside a run's (issue 25: "report metrics beside
human text's value": lower perplexity is not better when human text sits higher).

    python scripts/score_human.py RUN_DIR [RUN_DIR ...]     # writes RUN_DIR/human_metrics.json

Each finished run whose rows carry a `reference` (continuation datasets: the passage's true
next tokens) is scored as if the references were its generations: the run's own metrics and
options, the same generating model (perplexity of the reference given the prompt, re-scored) and
oracle, the same seed. Metrics that compare a text set with the references (MAUVE, BLEU) or
describe the generation itself (tokens/s, wall time, EOS rate, generated tokens) are left out.
A run folder's `human_metrics.json` holds the aggregates, the metric list and each reference's
per-prompt values (`rows`: index and metrics, as in generations.jsonl; the paired distance
tests read them, alpha.evaluation.human_distance); `alpha.runner.tables` puts a `human` row and
|distance to human| columns beside the methods when it finds them.
"""

from __future__ import annotations

import json
from pathlib import Path

from alpha.evaluation.human_distance import distance

NOT_FOR_HUMAN = ("mauve", "bleu", "generated_tokens", "tokens_per_s", "wall_time_s", "eos_rate")
HUMAN_FILE = "human_metrics.json"


def human_records(rows: list[dict], tokenizer) -> list[dict]:
    """The run's rows with each reference in place of the generation (rows without one are
    dropped); token counts from the generating model's tokenizer."""
    out = []
    for r in rows:
        ref = r.get("reference")
        if not isinstance(ref, str) or not ref.strip():
            continue
        n = len(tokenizer(ref, add_special_tokens=False)["input_ids"])
        out.append({"index": r["index"], "prompt": r["prompt"], "text": ref, "reference": ref,
                    "answer": r.get("answer"), "num_tokens": n, "finish_reason": "length"})
    return out


def human_metrics(config: dict) -> list[str]:
    return [m for m in (config.get("evaluation") or {}).get("metrics") or []
            if m not in NOT_FOR_HUMAN]


def score_run(run_dir: Path, models: dict | None = None) -> dict:
    """Score a finished run's references; write and return `human_metrics.json`'s content.
    `models`: a dict the caller keeps across runs, so the generating model and the oracle of a
    study's many run folders are loaded once (keyed by their loading arguments)."""
    from alpha.evaluation import evaluate_records
    from alpha.models import load_model_and_tokenizer
    from alpha.runner import config as hc
    from alpha.runner.runs import read_rows

    meta = json.loads((run_dir / "metrics.json").read_text())
    if meta.get("status") != "complete":
        raise ValueError(f"{run_dir} is not a finished run (metrics.json status "
                         f"{meta.get('status')!r}); finish it first")
    cfg = json.loads((run_dir / "run_config.json").read_text())["config"]
    settings = hc.settings({**cfg, "output_dir": str(run_dir)})
    rows = read_rows(run_dir)
    models = {} if models is None else models

    def load(kwargs: dict):
        key = json.dumps(kwargs, sort_keys=True, default=str)
        if key not in models:
            models[key] = load_model_and_tokenizer(**kwargs)
        return models[key]

    model, tok = load(hc.model_kwargs(cfg["model"], settings))
    records = human_records(rows, tok)
    if not records:
        raise ValueError(f"{run_dir}: no row has a reference (a continuation dataset has them, "
                         f"e.g. dataset=owt); nothing to score")
    oracle_kw = hc.oracle_kwargs(cfg, settings)
    oracle = load(oracle_kw) if oracle_kw else (None, None)
    metrics = human_metrics(cfg)
    options = {**((cfg.get("evaluation") or {}).get("options") or {}),
               "perplexity_source": "rescore"}  # references have no generation log-probs
    report = evaluate_records(records, metrics=metrics, model=model, tokenizer=tok,
                              oracle=oracle[0], oracle_tokenizer=oracle[1], options=options,
                              seed=int(cfg.get("seed", 0)))
    rows = [{"index": r["index"], "metrics": {m: v for m, v in values.items() if v is not None}}
            for r, values in zip(records, report.per_prompt, strict=True)]
    out = {"n": len(records), "metrics": report.aggregates, "scored": metrics, "rows": rows}
    (run_dir / HUMAN_FILE).write_text(json.dumps(out, indent=1) + "\n")
    return out


# ---------------------------------------------------------------- beside the methods (tables)

def human_values(runs) -> dict[str, float]:
    """Each metric's human value: the mean over the runs that were scored (every run of a study
    continues the same passages, so they agree up to the rows each run covers)."""
    values: dict[str, list[float]] = {}
    for run in runs:
        f = Path(run.source) / HUMAN_FILE
        if run.problem or not f.exists():
            continue
        for m, agg in json.loads(f.read_text())["metrics"].items():
            if isinstance(agg.get("mean"), (int, float)):
                values.setdefault(m, []).append(float(agg["mean"]))
    if not values:
        raise ValueError("no run folder holds human_metrics.json; score the human continuations "
                         "first: python scripts/score_human.py RUN_DIR ...")
    return {m: sum(v) / len(v) for m, v in values.items()}


def human_rows(runs) -> list[dict] | None:
    """The human continuations' per-prompt rows (`index`, `metrics`) from the first scored run
    that kept them (scored before rows were kept: None, so no paired distance test)."""
    for run in runs:
        f = Path(run.source) / HUMAN_FILE
        if not run.problem and f.exists():
            rows = json.loads(f.read_text()).get("rows")
            if rows:
                return rows
    return None


def distance_records(table, human: dict[str, float], metrics: list[str]) -> list[dict]:
    """One record per table row: each metric's mean and its distance to human."""
    missing = [m for m in metrics if m not in human]
    if missing:
        raise ValueError(f"--human names {missing}, which the human scoring has no value for; "
                         f"scored: {sorted(human)}")
    out = []
    for config in table.configs:
        rec = {"config": config}
        for m in metrics:
            if m in table.stats[config]:
                v = table.stats[config][m][0]
                rec[m], rec[f"{m}_to_human"] = v, distance(m, v, human[m])
        out.append(rec)
    return out


def distance_markdown(records: list[dict], human: dict[str, float], metrics: list[str]) -> str:
    """Rows: methods then `human`; cells "mean (distance)"; bold = the nearest to human."""
    best = {m: min((r[f"{m}_to_human"] for r in records if f"{m}_to_human" in r), default=None)
            for m in metrics}
    lines = ["| config | " + " | ".join(metrics) + " |", "|" + "---|" * (len(metrics) + 1)]
    for r in records:
        cells = []
        for m in metrics:
            if m not in r:
                cells.append("-")
                continue
            text = f"{r[m]:.4g} ({r[f'{m}_to_human']:.3g})"
            cells.append(f"**{text}**" if r[f"{m}_to_human"] == best[m] else text)
        lines.append(f"| {r['config']} | " + " | ".join(cells) + " |")
    lines.append("| human | " + " | ".join(f"{human[m]:.4g}" for m in metrics) + " |")
    lines += ["", "Each cell: the method's mean over seeds (its distance to human text's value: "
              "|log m - log h| for perplexities, |m - h| otherwise); **bold** = nearest to human. "
              "Human = the references scored as generations (scripts/score_human.py)."]
    return "\n".join(lines) + "\n"
