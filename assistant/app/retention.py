"""Retention: delete stored conversations older than `privacy.retention_days`.

Two stores hold what citizens typed:
- Rasa's SQL tracker store (the SQLite file `TTHC_TRACKER_DB` the launcher gives Rasa, or PostgreSQL on
  the scale-out profile, `settings.tracker_database`): whole conversations. A
  conversation is deleted only when its *latest* event is older than the cutoff, so an ongoing
  conversation is never cut in half.
- The app database: hand-offs, feedback and questions missing from the catalogue
  (`assistant.app.conversation_log.purge_older_than`), every question with what the assistant did
  (`assistant.app.interaction_log.purge_older_than`), and staff replies and handled marks of hand-offs
  (`assistant.app.handoff_desk.purge_older_than`). The catalogue team's labels (masked question text, no sender)
  are kept until staff delete them; their tie to the purged interactions (`asked_at`) is cut
  (`assistant.app.question_labels.unlink_older_than`).

Through assistant/core/storage.py (SQLite or PostgreSQL); no Rasa import, so it runs in the app env.
"""

from __future__ import annotations

from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

from assistant.core import storage
from assistant.core.errors import SetupError


def cutoff_for(retention_days: int, now: datetime | None = None) -> datetime:
    if retention_days < 1:
        raise SetupError(f"retention must be at least 1 day, got {retention_days}; set privacy.retention_days >= 1")
    return (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)


def _expired_senders_query() -> str:
    return "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < ?"


def purge_tracker_store(db_path: Path | str, cutoff: datetime, dry_run: bool = False) -> int:
    """Delete conversations whose last event is before `cutoff`; returns how many (or would be).
    `db_path`: the SQLite file or the postgresql:// URL of Rasa's tracker store."""
    if not storage.is_postgres(db_path) and not Path(db_path).exists():
        return 0
    with closing(storage.connect(db_path)) as connection, connection:
        if not connection.has_table("events"):
            return 0
        cutoff_ts = cutoff.timestamp()
        expired = connection.execute(
            f"SELECT COUNT(*) FROM ({_expired_senders_query()}) AS expired", (cutoff_ts,)
        ).fetchone()[0]
        if not dry_run and expired:
            connection.execute(f"DELETE FROM events WHERE sender_id IN ({_expired_senders_query()})", (cutoff_ts,))
    return int(expired)


def purge_app_records(cutoff: datetime, db_path: Path | None = None) -> dict[str, int]:
    """Delete hand-offs, feedback, missing-procedure questions and recorded interactions created before
    `cutoff`, and unlink the labels from them; counts per table."""
    from assistant.app import conversation_log, handoff_desk, interaction_log, question_labels

    counts = dict(conversation_log.purge_older_than(cutoff, db_path))
    counts["interactions"] = interaction_log.purge_older_than(cutoff, db_path)
    counts.update(handoff_desk.purge_older_than(cutoff, db_path))  # after the hand-offs: their orphans go too
    counts["question_labels_unlinked"] = question_labels.unlink_older_than(cutoff, db_path)  # after the interactions
    return counts
