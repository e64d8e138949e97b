"""The leaderboard's confirmatory methods, chosen from dev alone before any test run.

    python experiments/leaderboard/choose.py experiments/leaderboard/results/winners.yaml \
        --out experiments/leaderboard/results/confirmatory.yaml      # prints [m1,m2,...]

Rule (README, written before the runs): the 4 methods with the best dev objective among those
with tunables (ties: the order of conf/tune/leaderboard.yaml), plus `alpha` and `top_p` whatever
their rank (the question the project asks), without repeats. The file records the rule, each
method's dev objective and the choice; the printed list is a Hydra list for `methods=`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

TOP = 4
ALWAYS = ("alpha", "top_p")


def choose(winners: dict) -> list[str]:
    tuned = [m for m, w in winners.items() if w.get("tuned")]
    best = sorted(tuned, key=lambda m: -float(winners[m]["objective"]))[:TOP]  # stable on ties
    return list(dict.fromkeys([*best, *ALWAYS]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("winners", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    if not a.winners.exists():
        print(f"error: {a.winners} does not exist; run the dev stage first", file=sys.stderr)
        return 2
    winners = yaml.safe_load(a.winners.read_text()) or {}
    missing = [m for m in ALWAYS if m not in winners]
    if missing:
        print(f"error: {a.winners} has no dev winner for {missing}; finish their dev trials",
              file=sys.stderr)
        return 2
    chosen = choose(winners)
    a.out.write_text(yaml.safe_dump({
        "rule": f"top {TOP} tuned methods by dev objective, plus {', '.join(ALWAYS)}",
        "dev_objective": {m: float(w["objective"]) for m, w in winners.items()},
        "confirmatory": chosen}, sort_keys=False))
    print("[" + ",".join(chosen) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
