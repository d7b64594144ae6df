"""scripts/policy_counts.py: counts which policy predicted each action in Rasa tracker databases."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "policy_counts.py"


def tracker_db(path: Path, policies: list[str | None]) -> Path:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, data TEXT)")
        for policy in policies:
            connection.execute(
                "INSERT INTO events (sender_id, type_name, data) VALUES ('a', 'action', ?)",
                (json.dumps({"event": "action", "name": "x", "policy": policy}),),
            )
        connection.execute("INSERT INTO events (sender_id, type_name, data) VALUES ('a', 'user', '{}')")
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_counts_predictions_per_policy_across_databases(tmp_path):
    first = tracker_db(tmp_path / "a.db", ["RulePolicy", "RulePolicy", None])
    second = tracker_db(tmp_path / "b.db", ["TEDPolicy", "RulePolicy"])
    result = run(str(first), str(second))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "total: RulePolicy 3, (none: session start, listen) 1, TEDPolicy 1"


def test_bad_paths_get_one_line(tmp_path):
    missing = run(str(tmp_path / "missing.db"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "notes.txt").write_text("not a database", encoding="utf-8")
    wrong = run(str(tmp_path / "notes.txt"))
    assert wrong.returncode == 2 and "not a Rasa tracker database" in wrong.stderr and "Traceback" not in wrong.stderr
