"""The app's data on PostgreSQL (the scale-out profile's `settings.app_database`, assistant/core/storage.py):
hand-offs, feedback, missing procedures, recorded interactions, the retention purge and the /metrics
outbox gauge, against a real PostgreSQL started by the test (tests/support/shared_services.py). The
same functions run on SQLite in the rest of the suite. About 10 seconds.

    .venv/bin/python -m pytest tests/deployment/test_postgres_storage.py -q
"""

from __future__ import annotations

import threading
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from assistant.app import conversation_log, interaction_log, metrics, retention
from assistant.core import storage
from tests.support.zalo_claims import check_claim_lease, check_stale_claim_recovery


def record(sender: str, question: str, **extra) -> interaction_log.InteractionRecord:
    fields = dict(
        id=0,
        created_at=conversation_log.utc_now(),
        sender_id=sender,
        channel="rest",
        action="action_answer_procedure",
        intent="ask_documents",
        question=question,
        outcome="answered",
        codes=["1.001"],
        chosen_option=None,
        chosen_code=None,
        feedback=None,
        action_ms=12,
        turn_ms=80,
    )
    fields.update(extra)
    return interaction_log.InteractionRecord(**fields)


def test_handoffs_feedback_and_missing_procedures_round_trip_masked(database):
    first = conversation_log.flag_handoff(
        "web-1", "rest", [{"sender": "user", "text": "gọi tôi 0912345678"}], db_path=database
    )
    second = conversation_log.flag_handoff("web-2", "zalo", [{"sender": "user", "text": "cần người"}], db_path=database)
    assert second > first
    handoffs = conversation_log.list_handoffs(db_path=database)
    assert [h.sender_id for h in handoffs] == ["web-2", "web-1"]
    assert "0912345678" not in handoffs[1].messages[0]["text"]

    conversation_log.store_feedback("web-1", "good", "lệ phí?", "50.000 đồng 100% giảm", "rest", db_path=database)
    conversation_log.store_feedback("web-2", "bad", "hỏi", "đáp", db_path=database)
    assert [f.rating for f in conversation_log.list_feedback(db_path=database)] == ["bad", "good"]
    assert [f.answer for f in conversation_log.list_feedback(rating="good", db_path=database)] == [
        "50.000 đồng 100% giảm"
    ]

    conversation_log.record_missing_procedure("cấp phép bay flycam?", "rest", db_path=database)
    assert conversation_log.list_missing_procedures(db_path=database)[0].question == "cấp phép bay flycam?"


def test_interactions_choices_feedback_and_filters(database):
    interaction_log.save(record("web-i", "làm căn cước", outcome="asked_back", codes=["1.1", "1.2"]), database)
    interaction_log.save(
        record(
            "web-i",
            '/choose_option{"option_index":"2"}',
            action="action_choose_option",
            chosen_option=2,
            chosen_code="1.2",
        ),
        database,
    )
    interaction_log.save(
        record(
            "web-i", "/feedback_good", action="action_store_feedback", outcome="feedback", codes=[], feedback="good"
        ),
        database,
    )
    rows = interaction_log.list_interactions(db_path=database)
    asked = next(row for row in rows if row.outcome == "asked_back")
    assert asked.chosen_code == "1.2" and asked.chosen_option == 2
    answered = next(row for row in rows if row.action == "action_choose_option")
    assert answered.feedback == "good"
    assert [row.outcome for row in interaction_log.list_interactions(outcome="feedback", db_path=database)] == [
        "feedback"
    ]
    assert interaction_log.list_interactions(channel="zalo", db_path=database) == []


def test_many_threads_write_at_once(database):
    """The app server writes from several threads: pooled connections, no lost or shared rows."""
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                interaction_log.save(record(f"web-thread-{n}", f"câu {i}"), database)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with closing(storage.connect(database)) as connection:
        count = connection.execute("SELECT COUNT(*) FROM interactions WHERE sender_id LIKE 'web-thread-%'").fetchone()[
            0
        ]
    assert count == 80


def test_the_retention_purge_on_postgres(database):
    conversation_log.flag_handoff("web-old", "rest", [{"sender": "user", "text": "cũ"}], db_path=database)
    interaction_log.save(record("web-old", "cũ"), database)
    with closing(storage.connect(database)) as connection, connection:
        for table in ("handoffs", "interactions"):
            connection.execute(
                f"UPDATE {table} SET created_at = '2020-01-01T00:00:00+00:00' WHERE sender_id = ?", ("web-old",)
            )
    counts = retention.purge_app_records(datetime.now(timezone.utc) - timedelta(days=90), database)
    assert counts["handoffs"] == 1 and counts["interactions"] == 1, counts
    assert all(h.sender_id != "web-old" for h in conversation_log.list_handoffs(db_path=database))
    assert conversation_log.list_handoffs(db_path=database), "recent hand-offs were deleted too"
    # No tracker store yet in this database: nothing to purge, no error.
    assert retention.purge_tracker_store(database, datetime.now(timezone.utc)) == 0


def test_the_metrics_read_the_zalo_outbox_in_postgres(database):
    assert metrics.zalo_outbox_counts(database) is None  # no Zalo store yet
    with closing(
        storage.connect(
            database,
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY "
            "AUTOINCREMENT, user_id TEXT, dead INTEGER NOT NULL DEFAULT 0);",
            autocommit=True,
        )
    ) as connection:
        connection.executemany("INSERT INTO outbox (user_id, dead) VALUES (?, ?)", [("u", 0), ("u", 0), ("v", 1)])
    assert metrics.zalo_outbox_counts(database) == {"waiting": 2, "dead": 1}


def test_a_wrong_password_or_host_is_one_clear_error(database, monkeypatch):
    from assistant.cli.launcher import processes
    from assistant.core.errors import SetupError
    from assistant.core.settings import load_settings

    monkeypatch.setenv("TTHC_DEPLOYMENT__PROFILE", "scale-out")
    monkeypatch.setenv("TTHC_DEPLOYMENT__POSTGRES_PORT", "1")
    with pytest.raises(SetupError) as refused:
        processes.check_shared_services(load_settings())
    message = str(refused.value)
    assert "PostgreSQL at postgresql://tthc@127.0.0.1:1/tthc" in message and "TTHC_PG_PASSWORD" in message
    assert "\n" not in message


def test_code_written_against_sqlite3_keeps_working(database, tmp_path):
    """INSERT OR IGNORE and cursor.lastrowid, as other modules use them, on both engines."""
    schema = (
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
        "share REAL NOT NULL DEFAULT 0);"
    )
    for target in (database, tmp_path / "app.db"):
        with closing(storage.connect(target, schema)) as connection, connection:
            first = connection.execute("INSERT INTO notes (name) VALUES (?)", ("a",)).lastrowid
            second = connection.execute("INSERT INTO notes (name, share) VALUES (?, ?)", ("b", 0.1234567891)).lastrowid
            ignored = connection.execute("INSERT OR IGNORE INTO notes (name) VALUES (?)", ("a",))
            assert second == first + 1 and ignored.rowcount == 0, (target, first, second)
            assert connection.has_table("notes") and not connection.has_table("nothing")
            assert {"id", "name", "share"} <= connection.columns("notes")
            share = connection.execute("SELECT share FROM notes WHERE name = 'b'").fetchone()["share"]
            assert abs(share - 0.1234567891) < 1e-12  # REAL is double precision on PostgreSQL too


def test_tthc_up_profile_scale_out_stops_with_one_line_when_postgres_is_down(tmp_path):
    """`tthc up --profile scale-out` checks PostgreSQL before it starts anything."""
    import os
    import subprocess

    from assistant.core.settings import PROJECT_ROOT
    from tests.support.ports import free_port

    env = {
        **os.environ,
        "TTHC_ACTION_TOKEN": "t" * 32,
        "TTHC_DEPLOYMENT__POSTGRES_PORT": str(free_port()),
        "TTHC_CATALOG__DATA_DIR": str(tmp_path),
        "TTHC_SERVER__APP_PORT": str(free_port()),
        "TTHC_SERVER__RASA_PORT": str(free_port()),
    }
    env.pop("TTHC_DEPLOYMENT__PROFILE", None)
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "tthc"), "up", "--profile", "scale-out", "--only", "app"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach PostgreSQL" in lines[0] and "Traceback" not in lines[0], lines


def test_zalo_message_claims_with_a_lease_on_postgres(database):
    """A Zalo msg_id claimed by a node that died is refused within the lease, taken over after it."""
    check_claim_lease(database)


def test_zalo_messages_a_dead_node_accepted_are_recovered_once_on_postgres(database):
    """A message a node accepted and died on is answered by one other node's recovery after the lease."""
    check_stale_claim_recovery(database)
