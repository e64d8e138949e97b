"""Does our GSM8K scoring agree with lm-evaluation-harness's on the same generations?

Input: the harness's logged samples of a GSM8K-CoT task (`--log_samples` writes
`samples_<task>_<date>.jsonl`; `simple_evaluate(...)["samples"][task]` is the same list): one
record per (doc, filter) with the generation (`resps`), the filter's answer (`filtered_resps`)
and the harness's `exact_match`. Each generation is scored again with our runner's metric
(`evaluate_records(metrics=["accuracy"])`: the number after '####', else the last number,
compared after numeric normalisation) and compared per doc with each harness filter
(strict-match: "The answer is N."; flexible-extract: the last number-like string).

    python -m alpha.integrations.gsm8k_agreement out/lm_eval/*/samples_gsm8k_cot_local_*.jsonl

Reads JSON only; lm_eval is not imported.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from alpha.evaluation import evaluate_records
from alpha.evaluation.accuracy import extract_answer


def read_samples(path: str | Path) -> list[dict]:
    """The records of one harness samples JSONL file."""
    text = Path(path).read_text(encoding="utf-8")  # split at "\n" only: U+2028 may sit in a string
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def by_doc(samples: list[dict]) -> dict[int, dict]:
    """doc_id -> {"text", "answer", "filters": {filter: (extracted, exact_match)}}.

    Refuses samples whose filters saw different generations of one doc (then they are not
    one run's samples) and repeats > 1 (each doc must have one generation)."""
    docs: dict[int, dict] = {}
    for s in samples:
        if len(s["resps"]) != 1 or len(s["resps"][0]) != 1:
            raise ValueError(f"doc {s['doc_id']} has {len(s['resps'])} generations; the check "
                             f"needs one per doc (repeats: 1)")
        text = s["resps"][0][0]
        d = docs.setdefault(s["doc_id"], {"text": text, "answer": s["doc"]["answer"],
                                          "target": s["target"], "filters": {}})
        if d["text"] != text:
            raise ValueError(f"doc {s['doc_id']} has different generations under different "
                             f"filters; give the samples of one run")
        d["filters"][s["filter"]] = (s["filtered_resps"][0], float(s["exact_match"]))
    return docs


def compare(samples: list[dict]) -> dict:
    """Per-doc rows and accuracies: ours and each harness filter, and where they differ."""
    docs = by_doc(samples)
    ids = sorted(docs)
    records = [{"prompt": str(i), "text": docs[i]["text"], "answer": docs[i]["answer"]}
               for i in ids]
    ours = evaluate_records(records, metrics=["accuracy"]).per_prompt
    rows, accuracy = [], defaultdict(float)
    filters = sorted({f for d in docs.values() for f in d["filters"]})
    for i, score in zip(ids, ours, strict=True):
        d = docs[i]
        row = {"doc_id": i, "target": d["target"], "ours": extract_answer(d["text"]),
               "ours_correct": score["accuracy"]}
        accuracy["ours"] += score["accuracy"] / len(ids)
        for f in filters:
            extracted, em = d["filters"][f]
            row[f] = extracted
            row[f"{f}_correct"] = em
            accuracy[f] += em / len(ids)
        rows.append(row)
    differ = {f: [r["doc_id"] for r in rows if r["ours_correct"] != r[f"{f}_correct"]]
              for f in filters}
    return {"n": len(ids), "accuracy": dict(accuracy), "differ": differ, "rows": rows}


def report(result: dict) -> str:
    """Accuracies and the docs where ours and a harness filter disagree, as text."""
    lines = [f"{result['n']} docs; accuracy: "
             + ", ".join(f"{k}={v:.4f}" for k, v in result["accuracy"].items())]
    for f, ids in result["differ"].items():
        lines.append(f"ours vs {f}: {len(ids)} docs differ")
        for r in (r for r in result["rows"] if r["doc_id"] in ids):
            lines.append(f"  doc {r['doc_id']}: target={r['target']!r} ours={r['ours']!r} "
                         f"({r['ours_correct']:.0f}) {f}={r[f]!r} ({r[f + '_correct']:.0f})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("samples", help="the harness's samples_<task>_<date>.jsonl")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = p.parse_args(argv)
    result = compare(read_samples(args.samples))
    print(json.dumps(result, indent=1) if args.json else report(result))


if __name__ == "__main__":
    main()
