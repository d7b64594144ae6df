"""`tthc privacy purge`: whole conversations past the retention period leave the tracker store."""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone

import pytest

from assistant.cli import main
from assistant.errors import SetupError
from assistant.retention import cutoff_for, purge_tracker_store

DAY = 86400


def make_tracker_db(path, conversations: dict[str, list[float]]) -> None:
    """The columns of Rasa's SQLTrackerStore `events` table that retention reads."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)"
        )
        for sender, stamps in conversations.items():
            for stamp in stamps:
                connection.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, '{}')",
                    (sender, stamp),
                )


def senders(path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}


@pytest.fixture
def tracker_db(tmp_path):
    now = time.time()
    path = tmp_path / "rasa_tracker.db"
    make_tracker_db(path, {
        "old": [now - 200 * DAY, now - 120 * DAY],
        "ongoing": [now - 200 * DAY, now - 1 * DAY],  # started long ago, still active: kept whole
        "recent": [now - 3 * DAY],
    })
    return path


def test_purge_deletes_only_conversations_that_ended_before_the_cutoff(tracker_db):
    assert purge_tracker_store(tracker_db, cutoff_for(90)) == 1
    assert senders(tracker_db) == {"ongoing", "recent"}
    with sqlite3.connect(tracker_db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM events WHERE sender_id='ongoing'").fetchone()[0] == 2


def test_dry_run_deletes_nothing(tracker_db):
    assert purge_tracker_store(tracker_db, cutoff_for(2), dry_run=True) == 2
    assert senders(tracker_db) == {"old", "ongoing", "recent"}


def test_missing_or_empty_store_is_nothing_to_purge(tmp_path):
    assert purge_tracker_store(tmp_path / "absent.db", cutoff_for(30)) == 0
    sqlite3.connect(tmp_path / "empty.db").close()
    assert purge_tracker_store(tmp_path / "empty.db", cutoff_for(30)) == 0


def test_cutoff_rejects_zero_days():
    with pytest.raises(SetupError, match="retention_days"):
        cutoff_for(0)
    assert cutoff_for(1, now=datetime(2026, 1, 2, tzinfo=timezone.utc)) == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_cli_purge(tracker_db, capsys):
    assert main(["privacy", "purge", "--days", "90", "--tracker-db", str(tracker_db)]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 conversation(s)" in out
    assert "Hand-offs and feedback" in out
    assert senders(tracker_db) == {"ongoing", "recent"}


def test_cli_bad_days_is_one_line_error(tracker_db, capsys):
    assert main(["privacy", "purge", "--days", "0", "--tracker-db", str(tracker_db)]) == 2
    assert "retention_days" in capsys.readouterr().err
