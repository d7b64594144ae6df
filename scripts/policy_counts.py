#!/usr/bin/env python3
"""Which dialogue policy predicted the bot's actions, counted over Rasa tracker databases (SQLite).

Every `ActionExecuted` event Rasa stores names the policy that chose it. This is how the switch to
RulePolicy alone was checked (docs/benchmarks.md): with TED and Memoization also configured, RulePolicy
had made every prediction.

    .venv/bin/python scripts/policy_counts.py /tmp/bench-data/rasa_tracker.db [more.db ...]
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path


def policy_counts(database: Path) -> Counter:
    counts: Counter = Counter()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        for (data,) in connection.execute("SELECT data FROM events WHERE type_name = 'action'"):
            counts[json.loads(data).get("policy") or "(none: session start, listen)"] += 1
    return counts


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: scripts/policy_counts.py TRACKER_DB [TRACKER_DB ...]", file=sys.stderr)
        return 2
    total: Counter = Counter()
    for path in map(Path, paths):
        if not path.is_file():
            print(
                f"{path}: no such file; pass Rasa's tracker database (<catalog.data_dir>/rasa_tracker.db)",
                file=sys.stderr,
            )
            return 2
        try:
            counts = policy_counts(path)
        except sqlite3.DatabaseError as exc:
            print(f"{path}: not a Rasa tracker database ({exc})", file=sys.stderr)
            return 2
        print(f"{path}: " + ", ".join(f"{name} {n}" for name, n in counts.most_common()))
        total += counts
    print("total: " + ", ".join(f"{name} {n}" for name, n in total.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
