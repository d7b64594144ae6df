"""The catalogue team's labels and the unanswered list on PostgreSQL (the scale-out profile's app database),
against a real PostgreSQL started by the test (tests/support/shared_services.py); the same functions run on
SQLite in tests/api/test_learning_api.py. The labels file goes to the catalogue's data dir.

    .venv/bin/python -m pytest tests/deployment/test_postgres_labels.py -q
"""

from __future__ import annotations

from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from assistant.app import conversation_log, interaction_log, question_labels, retention, unanswered
from assistant.core import storage
from knowledge_base.labelled import read_labelled


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(conversation_log, "default_db_path", lambda: tmp_path / "app.db")
    return tmp_path


def asked(sender: str, question: str, outcome: str, when: datetime, database: str) -> None:
    interaction_log.save(
        interaction_log.InteractionRecord(
            id=0,
            created_at=when.isoformat(timespec="seconds"),
            sender_id=sender,
            channel="zalo",
            action="action_check_scope",
            intent="ask_documents",
            question=question,
            outcome=outcome,
            codes=[],
            chosen_option=None,
            chosen_code=None,
            feedback=None,
            action_ms=5,
            turn_ms=None,
        ),
        database,
    )


def test_labels_unanswered_and_retention_on_postgres(database, data_dir):
    now = datetime.now(timezone.utc)
    # The database is shared with other test files: a suffix of letters (digits would be masked as an ID).
    suffix = "".join(chr(ord("a") + int(digit)) for digit in now.strftime("%H%M%S%f"))
    old, new = f"bay flycam cũ {suffix}", f"xin phép bay flycam {suffix}, gọi 0912345678"
    asked("pg-old", old, "abstained", now - timedelta(days=200), database)
    asked("pg-new", new, "not_in_catalogue", now - timedelta(hours=1), database)

    report = unanswered.unanswered_groups(channel="zalo", db_path=database)
    assert {v.question for g in report.groups for v in g.variants} >= {old, interaction_log.mask_pii(new)}

    labels = question_labels.set_labels([old, new], "not_in_catalogue", db_path=database)
    assert "0912345678" not in labels[1].question
    assert labels[0].asked_at < labels[1].asked_at  # from the interactions: when each was first asked
    again = question_labels.set_labels([old], "procedure", "1.001193", db_path=database)
    assert again[0].id == labels[0].id and again[0].code == "1.001193"
    corrected = question_labels.update_label(labels[1].id, "not_procedure", db_path=database)
    assert corrected.kind == "not_procedure" and corrected.code is None
    found = question_labels.labels_for([old, labels[1].question], database)
    assert {label.kind for label in found.values()} == {"procedure", "not_procedure"}
    assert {q.question for q in read_labelled(data_dir)} >= {old, labels[1].question}

    counts = retention.purge_app_records(now - timedelta(days=90), database)
    assert counts["question_labels_unlinked"] >= 1
    remaining = {label.question: label for label in question_labels.list_labels(db_path=database)}
    assert {old, labels[1].question} <= set(remaining)  # labels are kept; their tie to purged questions is cut
    assert remaining[old].asked_at == "" and remaining[labels[1].question].asked_at == labels[1].asked_at
    assert old in {q.question for q in read_labelled(data_dir)}
    assert question_labels.delete_label(labels[0].id, database)
    assert question_labels.delete_label(labels[1].id, database)
    with closing(storage.connect(database)) as connection:
        assert connection.has_table("question_labels")
