"""Hand-off flags, citizen feedback and questions missing from the catalogue, kept for the staff page
and the catalogue team.

The database is `<catalog.data_dir>/app.db` (SQLite), or PostgreSQL on the scale-out profile
(`settings.app_database`, assistant/core/storage.py); one short connection per call so any thread or
worker can use it. Every stored text passes through `privacy.mask_pii` first.

Functions for other areas (all take an optional `db_path`; default from settings):
- `flag_handoff(sender_id, channel, messages, db_path=None) -> int`
- `store_feedback(sender_id, rating, question, answer, channel="", db_path=None) -> int`
- `list_handoffs(limit=100, db_path=None) -> list[HandoffRecord]` (newest first)
- `list_feedback(limit=100, rating=None, db_path=None) -> list[FeedbackRecord]` (newest first)
- `record_missing_procedure(question, channel="", db_path=None) -> int` (an administrative question
  whose procedure the catalogue does not hold; masked question, date and channel only, no sender)
- `list_missing_procedures(limit=100, db_path=None) -> list[MissingProcedureRecord]` (newest first)
- `purge_older_than(cutoff, db_path=None) -> dict[str, int]` (retention; counts per table)
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.core import storage
from assistant.core.privacy import mask_pii
from assistant.core.settings import get_settings

RATINGS = ("good", "bad")
MAX_STORED_MESSAGES = 20
MAX_TEXT_CHARS = 4000  # one stored message; longer text is cut (it is a log, not an archive)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    messages TEXT NOT NULL          -- JSON list of {"sender": "user"|"bot", "text": ...}
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('good', 'bad')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS missing_procedures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL          -- masked; not linked to a sender
);
"""
MAX_QUESTION_CHARS = 500  # a missing-procedure record is a hint for the catalogue team, not a transcript


@dataclass(frozen=True)
class HandoffRecord:
    """A conversation a citizen asked to hand to staff. `messages`: last turns, oldest first."""

    id: int
    sender_id: str
    channel: str
    created_at: str  # ISO 8601, UTC
    messages: list[dict[str, str]]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FeedbackRecord:
    """A good/bad rating with the question asked and the answer the bot gave."""

    id: int
    sender_id: str
    channel: str
    created_at: str  # ISO 8601, UTC
    rating: str  # "good" | "bad"
    question: str
    answer: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MissingProcedureRecord:
    """An administrative question the catalogue had no procedure for (the knowledge base's scope)."""

    id: int
    channel: str
    created_at: str  # ISO 8601, UTC
    question: str

    def as_dict(self) -> dict:
        return asdict(self)


def default_db_path() -> Path:
    """The single-VM profile's SQLite file (the scale-out profile's data is in PostgreSQL)."""
    settings = get_settings()
    return settings.data_dir / "app.db"


def connect(db_path: Path | str | None, schema: str = _SCHEMA) -> storage.Database:
    """A connection to the app database (default: the configured one, `settings.app_database`: a SQLite
    file or PostgreSQL) with `schema`'s tables created. Rows answer row["name"] and row[0]."""
    if not db_path:
        settings = get_settings()
        # default_db_path() on the single-VM profile (the same file as settings.app_database), so the
        # tests that point it at a temporary file keep their own database.
        db_path = settings.app_database if settings.deployment.scale_out else default_db_path()
    return storage.connect(db_path, schema)


def utc_now() -> str:
    """The timestamp format of every app-database record (UTC, ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _clean(text: str | None) -> str:
    return mask_pii((text or "")[:MAX_TEXT_CHARS])


def flag_handoff(sender_id: str, channel: str, messages: list[dict[str, str]], db_path: Path | None = None) -> int:
    """Flag a conversation for staff. `messages`: [{"sender": "user"|"bot", "text": ...}], oldest
    first; only the last MAX_STORED_MESSAGES are kept, masked. Returns the new record id."""
    kept = [{"sender": m.get("sender", ""), "text": _clean(m.get("text"))} for m in messages[-MAX_STORED_MESSAGES:]]
    with closing(connect(db_path)) as connection, connection:
        return connection.insert(
            "INSERT INTO handoffs (sender_id, channel, created_at, messages) VALUES (?, ?, ?, ?)",
            (sender_id, channel or "", utc_now(), json.dumps(kept, ensure_ascii=False)),
        )


def store_feedback(
    sender_id: str,
    rating: str,
    question: str,
    answer: str,
    channel: str = "",
    db_path: Path | None = None,
) -> int:
    """Store a rating ("good" or "bad") with the masked question and answer. Returns the record id."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
    with closing(connect(db_path)) as connection, connection:
        return connection.insert(
            "INSERT INTO feedback (sender_id, channel, created_at, rating, question, answer) VALUES (?, ?, ?, ?, ?, ?)",
            (sender_id, channel or "", utc_now(), rating, _clean(question), _clean(answer)),
        )


def record_missing_procedure(question: str, channel: str = "", db_path: Path | None = None) -> int:
    """Record an administrative question whose procedure is not in the catalogue: the masked question
    (first MAX_QUESTION_CHARS characters), the channel and the time. Returns the record id."""
    with closing(connect(db_path)) as connection, connection:
        return connection.insert(
            "INSERT INTO missing_procedures (channel, created_at, question) VALUES (?, ?, ?)",
            (channel or "", utc_now(), mask_pii((question or "")[:MAX_QUESTION_CHARS])),
        )


def list_missing_procedures(limit: int = 100, db_path: Path | None = None) -> list[MissingProcedureRecord]:
    """Questions missing from the catalogue, newest first (at most `limit`)."""
    with closing(connect(db_path)) as connection:
        rows = connection.execute("SELECT * FROM missing_procedures ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [MissingProcedureRecord(**{key: row[key] for key in row.keys()}) for row in rows]


def list_handoffs(limit: int = 100, db_path: Path | None = None) -> list[HandoffRecord]:
    """Flagged conversations, newest first (at most `limit`)."""
    with closing(connect(db_path)) as connection:
        rows = connection.execute("SELECT * FROM handoffs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [
        HandoffRecord(
            id=row["id"],
            sender_id=row["sender_id"],
            channel=row["channel"],
            created_at=row["created_at"],
            messages=json.loads(row["messages"]),
        )
        for row in rows
    ]


def list_feedback(limit: int = 100, rating: str | None = None, db_path: Path | None = None) -> list[FeedbackRecord]:
    """Feedback, newest first (at most `limit`); `rating` = "good" / "bad" filters."""
    if rating is not None and rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
    query = "SELECT * FROM feedback"
    parameters: tuple = ()
    if rating:
        query += " WHERE rating = ?"
        parameters = (rating,)
    with closing(connect(db_path)) as connection:
        rows = connection.execute(query + " ORDER BY id DESC LIMIT ?", (*parameters, limit)).fetchall()
    return [FeedbackRecord(**{key: row[key] for key in row.keys()}) for row in rows]


def purge_older_than(cutoff: datetime, db_path: Path | None = None) -> dict[str, int]:
    """Delete hand-offs, feedback and missing-procedure questions created before `cutoff` (retention);
    returns counts per table."""
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware (UTC)")
    # created_at is ISO 8601 UTC with the same format, so text order is time order.
    limit = cutoff.astimezone(timezone.utc).isoformat(timespec="seconds")
    counts = {}
    with closing(connect(db_path)) as connection, connection:
        for table in ("handoffs", "feedback", "missing_procedures"):
            counts[table] = connection.execute(f"DELETE FROM {table} WHERE created_at < ?", (limit,)).rowcount
    return counts
