"""Committed results against the configs that made them (experiments/provenance.yaml).

    python scripts/provenance.py                                   # check: one line per changed result
    python scripts/provenance.py --update experiments/ablations_real   # record today's digest

Exit 1 when a committed result's configs changed since it was made (re-run its command, then
--update it) or a stale entry's README does not say so. alpha/runner/provenance.py has the rule.
"""

from __future__ import annotations

import argparse
import re
import sys

from alpha.runner import provenance


def update(folders: list[str]) -> None:
    """Rewrite the `digest:` line of each named entry in place (comments and layout kept)."""
    entries = provenance.load()
    text = provenance.FILE.read_text()
    for folder in folders:
        folder = folder.rstrip("/")
        if folder not in entries:
            sys.exit(f"error: {folder} is not an entry of {provenance.FILE} (known: {sorted(entries)})")
        value = provenance.digest(entries[folder])
        block = re.compile(rf"(\n  {re.escape(folder)}:\n(?:    .*\n|      .*\n)*?    digest: )\S+")
        text, n = block.subn(lambda m, v=value: m.group(1) + v, text, count=1)
        if not n:
            sys.exit(f"error: the entry {folder} has no `digest:` line to update")
        print(f"{folder}: {value}")
    provenance.FILE.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--update", nargs="+", metavar="FOLDER", help="record today's digest")
    args = ap.parse_args()
    if args.update:
        update(args.update)
        return 0
    problems = provenance.check()
    for p in problems:
        print(p)
    print("every committed result matches its configs" if not problems else
          f"{len(problems)} committed result(s) to re-run or mark stale", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
