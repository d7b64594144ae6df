"""`tthc privacy purge`: whole conversations past the retention period leave the tracker store."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone

import pytest

from assistant.app import conversation_log, interaction_log
from assistant.app.retention import cutoff_for, purge_tracker_store
from assistant.cli import main
from assistant.core.errors import SetupError

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
    make_tracker_db(
        path,
        {
            "old": [now - 200 * DAY, now - 120 * DAY],
            "ongoing": [now - 200 * DAY, now - 1 * DAY],  # started long ago, still active: kept whole
            "recent": [now - 3 * DAY],
        },
    )
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


def age_app_records(app_db, days: int) -> None:
    """Pretend every stored hand-off, feedback and recorded question was written `days` ago."""
    stamp = datetime.fromtimestamp(time.time() - days * DAY, timezone.utc).isoformat(timespec="seconds")
    with sqlite3.connect(app_db) as connection:
        for table in ("handoffs", "feedback", "interactions"):
            connection.execute(f"UPDATE {table} SET created_at = ?", (stamp,))


def record_question(sender: str, db_path) -> None:
    """One action call as the action endpoint records it (interaction_log)."""
    tracker = {
        "sender_id": sender,
        "latest_input_channel": "rest",
        "events": [],
        "latest_message": {"text": "lệ phí làm căn cước", "intent": {"name": "ask_fee"}},
    }
    result = {"events": [{"event": "slot", "name": "procedure_code", "value": "1.001"}], "responses": []}
    interaction_log.record({"next_action": "action_answer_procedure", "tracker": tracker}, result, 12.0, db_path)


def test_cli_purge(tracker_db, tmp_path, capsys):
    app_db = tmp_path / "app.db"
    conversation_log.flag_handoff("old", "rest", [{"sender": "user", "text": "gặp cán bộ"}], db_path=app_db)
    conversation_log.store_feedback("old", "bad", "hỏi", "đáp", db_path=app_db)
    record_question("old", db_path=app_db)
    age_app_records(app_db, 200)
    conversation_log.store_feedback("new", "good", "hỏi", "đáp", db_path=app_db)
    record_question("new", db_path=app_db)

    assert main(["privacy", "purge", "--days", "90", "--tracker-db", str(tracker_db), "--app-db", str(app_db)]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 conversation(s)" in out
    assert "deleted 1 handoffs, deleted 1 feedback" in out and "deleted 1 interactions" in out
    assert senders(tracker_db) == {"ongoing", "recent"}
    assert [record.sender_id for record in conversation_log.list_feedback(db_path=app_db)] == ["new"]
    assert conversation_log.list_handoffs(db_path=app_db) == []
    assert [record.sender_id for record in interaction_log.list_interactions(db_path=app_db)] == ["new"]


def test_cli_dry_run_touches_nothing(tracker_db, tmp_path, capsys):
    app_db = tmp_path / "app.db"
    conversation_log.store_feedback("old", "bad", "hỏi", "đáp", db_path=app_db)
    record_question("old", db_path=app_db)
    age_app_records(app_db, 200)
    assert (
        main(["privacy", "purge", "--days", "2", "--dry-run", "--tracker-db", str(tracker_db), "--app-db", str(app_db)])
        == 0
    )
    assert "would delete 2 conversation(s)" in capsys.readouterr().out
    assert senders(tracker_db) == {"old", "ongoing", "recent"}
    assert len(conversation_log.list_feedback(db_path=app_db)) == 1
    assert len(interaction_log.list_interactions(db_path=app_db)) == 1


def test_cli_bad_days_is_one_line_error(tracker_db, tmp_path, capsys):
    assert (
        main(["privacy", "purge", "--days", "0", "--tracker-db", str(tracker_db), "--app-db", str(tmp_path / "app.db")])
        == 2
    )
    assert "retention_days" in capsys.readouterr().err
