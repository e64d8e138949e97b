"""The human continuations' own metric values, beside a run's (issue 25: "report metrics beside
human text's value": lower perplexity is not better when human text sits higher).

    python scripts/score_human.py RUN_DIR [RUN_DIR ...]     # writes RUN_DIR/human_metrics.json

Each finished run whose rows carry a `reference` (continuation datasets: the passage's true
next tokens) is scored as if the references were its generations: the run's own metrics and
options, the same generating model (perplexity of the reference given the prompt, re-scored) and
oracle, the same seed. Metrics that compare a text set with the references (MAUVE, BLEU) or
describe the generation itself (tokens/s, wall time, EOS rate, generated tokens) are left out.
A run folder's `human_metrics.json` holds the aggregates and the metric list; `alpha.runner.
tables` puts a `human` row and |distance to human| columns beside the methods when it finds them.
"""

from __future__ import annotations

import json
from pathlib import Path

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


def score_run(run_dir: Path) -> dict:
    """Score a finished run's references; write and return `human_metrics.json`'s content."""
    from alpha.evaluation import evaluate_records
    from alpha.models import load_model_and_tokenizer
    from alpha.runner import config as hc

    meta = json.loads((run_dir / "metrics.json").read_text())
    if meta.get("status") != "complete":
        raise ValueError(f"{run_dir} is not a finished run (metrics.json status "
                         f"{meta.get('status')!r}); finish it first")
    cfg = json.loads((run_dir / "run_config.json").read_text())["config"]
    settings = hc.settings({**cfg, "output_dir": str(run_dir)})
    rows = [json.loads(x) for x in (run_dir / "generations.jsonl").read_text().splitlines()
            if x.strip()]
    model, tok = load_model_and_tokenizer(**hc.model_kwargs(cfg["model"], settings))
    records = human_records(rows, tok)
    if not records:
        raise ValueError(f"{run_dir}: no row has a reference (a continuation dataset has them, "
                         f"e.g. dataset=owt); nothing to score")
    oracle_kw = hc.oracle_kwargs(cfg, settings)
    oracle = load_model_and_tokenizer(**oracle_kw) if oracle_kw else (None, None)
    metrics = human_metrics(cfg)
    options = {**((cfg.get("evaluation") or {}).get("options") or {}),
               "perplexity_source": "rescore"}  # references have no generation log-probs
    report = evaluate_records(records, metrics=metrics, model=model, tokenizer=tok,
                              oracle=oracle[0], oracle_tokenizer=oracle[1], options=options,
                              seed=int(cfg.get("seed", 0)))
    out = {"n": len(records), "metrics": report.aggregates, "scored": metrics}
    (run_dir / HUMAN_FILE).write_text(json.dumps(out, indent=1) + "\n")
    return out
