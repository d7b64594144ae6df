"""Hand-offs that lead somewhere (issue 14 item 6): staff see open hand-offs, mark them handled, and write
back to a Zalo citizen from the staff page.

A hand-off is flagged by `action_handoff` in `conversation_log` (table `handoffs`). This module adds, in the
same app database:
- `handoff_handled`: which hand-offs a staff member marked handled, and when (absent = open);
- `handoff_replies`: what staff wrote back (masked by `privacy.mask_pii` before it is stored) and the Zalo
  outbox rows that carry it.

Only a Zalo conversation can be answered (`REPLY_CHANNELS`): the Zalo user id is the conversation id, and the
OA may send it customer-service messages. A web chat is anonymous, so its citizen was given the hotline and
the counter (`assistant.app.answers.handoff`).

A reply is not sent by the app server itself: it is put in the Zalo connector's outbox
(`connectors.zalo.store.ZaloStore`, `settings.zalo_store`: a SQLite file, or PostgreSQL on scale-out), and the
Zalo channel in the Rasa server delivers it through the OA API with its token handling and retries (its flusher
runs every `flush_interval_seconds`, 30 s by default). If the citizen already has replies waiting there, the staff reply
queues behind them, so the conversation stays in order. The delivery state shown to staff is read back from
the outbox: the row is deleted when Zalo accepted it ("sent"), kept while it waits ("waiting", with the
last error once an attempt failed) and marked dead after too many attempts ("failed").

The staff page never sees a Zalo user id: a conversation is shown as a short hash (`conversation_ref`).

Functions (all take an optional `db_path`; default: the app database):
- `staff_can_reply(channel) -> bool`
- `list_cases(status="open", limit=100, db_path=None, outbox_path=None) -> list[HandoffCase]` (newest first)
- `get_case(handoff_id, ...) -> HandoffCase` (LookupError when there is none)
- `set_handled(handoff_id, handled=True, ...) -> HandoffCase`
- `reply(handoff_id, text, ...) -> StaffReply` (LookupError, ReplyRefused)
- `purge_older_than(cutoff, db_path=None) -> dict[str, int]` (retention)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from assistant.app import conversation_log
from assistant.core import storage
from assistant.core.privacy import mask_pii

REPLY_CHANNELS = ("zalo",)
STATUSES = ("open", "handled", "all")
MAX_REPLY_CHARS = 2000  # one Zalo text message (longer text is refused by Zalo, error -210)
REPLY_PREFIX = "Cán bộ tiếp nhận trả lời Anh/Chị:\n"  # the citizen sees that a person, not the bot, writes
OUTBOX_REASON = "staff reply from the staff page (delivered by the Zalo channel's flusher)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handoff_handled (
    handoff_id INTEGER PRIMARY KEY,  -- handoffs.id
    handled_at TEXT NOT NULL         -- ISO 8601 UTC, seconds
);
CREATE TABLE IF NOT EXISTS handoff_replies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    handoff_id INTEGER NOT NULL,     -- handoffs.id
    created_at TEXT NOT NULL,        -- ISO 8601 UTC, seconds
    text TEXT NOT NULL,              -- masked
    outbox_ids TEXT NOT NULL         -- JSON list of the Zalo outbox rows carrying it
);
CREATE INDEX IF NOT EXISTS handoff_replies_handoff ON handoff_replies (handoff_id, id);
"""


class ReplyRefused(ValueError):
    """A reply that cannot be sent; str() is the Vietnamese reason for the staff member."""


@dataclass(frozen=True)
class StaffReply:
    id: int
    created_at: str  # ISO 8601, UTC
    text: str  # masked
    delivery: str  # "sent" | "waiting" | "failed" | "unknown"
    delivery_error: str = ""  # masked; the outbox's last error while waiting or failed

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HandoffCase:
    id: int
    created_at: str  # ISO 8601, UTC
    channel: str
    conversation: str  # short hash of the conversation id, never the id itself
    status: str  # "open" | "handled"
    handled_at: str | None
    can_reply: bool
    messages: list[dict[str, str]]  # masked, oldest first
    replies: list[StaffReply] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def staff_can_reply(channel: str | None) -> bool:
    """Whether staff can write back to a citizen of this channel (Zalo: yes; the anonymous web chat: no)."""
    return (channel or "") in REPLY_CHANNELS


def conversation_ref(channel: str, sender_id: str) -> str:
    """A short stable stand-in for a conversation id (Zalo: the connector's log reference `zu-…`)."""
    digest = hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:10]
    return ("zu-" if channel == "zalo" else "hc-") + digest


def _connect(db_path: Path | str | None) -> storage.Database:
    connection = conversation_log.connect(db_path)  # the hand-offs table
    connection.create_schema(_SCHEMA)
    return connection


def default_outbox() -> Path | str:
    """The Zalo connector's store: a SQLite file, or PostgreSQL on the scale-out profile."""
    from assistant.core.settings import get_settings

    return get_settings().zalo_store


def _outbox_rows(outbox_path: Path | str | None, ids: list[int]) -> dict[int, tuple[int, str, bool]] | None:
    """{id: (attempts, last_error, dead)} of the outbox rows still there; None when there is no outbox."""
    target = outbox_path or default_outbox()
    select = f"SELECT id, attempts, last_error, dead FROM outbox WHERE id IN ({', '.join('?' for _ in ids)})"
    try:
        if storage.is_postgres(target):
            with closing(storage.connect(target)) as connection:
                if not connection.has_table("outbox"):
                    return None
                rows = connection.execute(select, ids).fetchall() if ids else []
        else:
            if not Path(target).is_file():
                return None
            with closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=10)) as connection:
                rows = connection.execute(select, ids).fetchall() if ids else []
    except storage.ERRORS:
        return None
    return {int(row[0]): (int(row[1]), str(row[2] or ""), bool(row[3])) for row in rows}


def _delivery(outbox_ids: list[int], outbox: dict[int, tuple[int, str, bool]] | None) -> tuple[str, str]:
    if outbox is None:
        return "unknown", ""
    waiting = [outbox[i] for i in outbox_ids if i in outbox]
    if not waiting:
        return "sent", ""  # the connector deletes a row once Zalo accepted it
    errors = [error for attempts, error, _ in waiting if attempts and error]
    error = mask_pii(errors[0])[:300] if errors else ""
    return ("failed" if any(dead for _, _, dead in waiting) else "waiting"), error


def _cases(
    where: str, parameters: tuple, limit: int, db_path: Path | str | None, outbox_path: Path | str | None
) -> list[HandoffCase]:
    with closing(_connect(db_path)) as connection:
        rows = connection.execute(
            "SELECT h.id, h.sender_id, h.channel, h.created_at, h.messages, d.handled_at FROM handoffs h "
            f"LEFT JOIN handoff_handled d ON d.handoff_id = h.id {where} ORDER BY h.id DESC LIMIT ?",
            (*parameters, max(0, limit)),
        ).fetchall()
        ids = [row["id"] for row in rows]
        replies = (
            connection.execute(
                f"SELECT * FROM handoff_replies WHERE handoff_id IN ({', '.join('?' for _ in ids)}) ORDER BY id", ids
            ).fetchall()
            if ids
            else []
        )
    outbox_ids = [int(i) for reply in replies for i in json.loads(reply["outbox_ids"])]
    outbox = _outbox_rows(outbox_path, outbox_ids) if replies else {}
    by_handoff: dict[int, list[StaffReply]] = {}
    for reply in replies:
        delivery, error = _delivery([int(i) for i in json.loads(reply["outbox_ids"])], outbox)
        by_handoff.setdefault(reply["handoff_id"], []).append(
            StaffReply(reply["id"], reply["created_at"], mask_pii(reply["text"]), delivery, error)
        )
    return [
        HandoffCase(
            id=row["id"],
            created_at=row["created_at"],
            channel=row["channel"],
            conversation=conversation_ref(row["channel"], row["sender_id"]),
            status="handled" if row["handled_at"] else "open",
            handled_at=row["handled_at"],
            can_reply=staff_can_reply(row["channel"]),
            # Stored masked; masked again on the way out, so nothing unmasked ever leaves the database.
            messages=[
                {"sender": str(m.get("sender", "")), "text": mask_pii(str(m.get("text", "")))}
                for m in json.loads(row["messages"])
            ],
            replies=by_handoff.get(row["id"], []),
        )
        for row in rows
    ]


def list_cases(
    status: str = "open", limit: int = 100, db_path: Path | str | None = None, outbox_path: Path | str | None = None
) -> list[HandoffCase]:
    """Hand-offs with their state and staff replies, newest first; `status`: open, handled or all."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    where = {"open": "WHERE d.handled_at IS NULL", "handled": "WHERE d.handled_at IS NOT NULL", "all": ""}[status]
    return _cases(where, (), limit, db_path, outbox_path)


def get_case(handoff_id: int, db_path: Path | str | None = None, outbox_path: Path | str | None = None) -> HandoffCase:
    found = _cases("WHERE h.id = ?", (handoff_id,), 1, db_path, outbox_path)
    if not found:
        raise LookupError(f"Không có yêu cầu gặp cán bộ số {handoff_id} (có thể đã bị xóa theo thời hạn lưu trữ).")
    return found[0]


def set_handled(
    handoff_id: int, handled: bool = True, db_path: Path | str | None = None, outbox_path: Path | str | None = None
) -> HandoffCase:
    """Mark a hand-off handled (or open again); marking twice keeps the first time."""
    get_case(handoff_id, db_path, outbox_path)
    with closing(_connect(db_path)) as connection, connection:
        if handled:
            connection.execute(
                "INSERT INTO handoff_handled (handoff_id, handled_at) VALUES (?, ?) "
                "ON CONFLICT (handoff_id) DO NOTHING",
                (handoff_id, conversation_log.utc_now()),
            )
        else:
            connection.execute("DELETE FROM handoff_handled WHERE handoff_id = ?", (handoff_id,))
    return get_case(handoff_id, db_path, outbox_path)


def reply(
    handoff_id: int, text: str, db_path: Path | str | None = None, outbox_path: Path | str | None = None
) -> StaffReply:
    """Queue a staff member's reply to the Zalo citizen of a hand-off in the Zalo outbox; the masked text is
    kept with the hand-off. Raises LookupError (no such hand-off) or ReplyRefused (the reason)."""
    from connectors.zalo.messages import build_messages
    from connectors.zalo.store import ZaloStore

    body = (text or "").strip()
    if not body:
        raise ReplyRefused("Nội dung trả lời trống: vui lòng nhập câu trả lời cho người dân.")
    if len(body) > MAX_REPLY_CHARS:
        raise ReplyRefused(f"Nội dung trả lời dài {len(body)} ký tự: vui lòng rút gọn (tối đa {MAX_REPLY_CHARS}).")
    case = get_case(handoff_id, db_path, outbox_path)
    if not case.can_reply:
        raise ReplyRefused(
            "Hội thoại trên trang web là ẩn danh nên không gửi trả lời được; người dân đã được "
            "hướng dẫn gọi đường dây nóng hoặc đến bộ phận một cửa."
        )
    with closing(_connect(db_path)) as connection:
        sender_id = connection.execute("SELECT sender_id FROM handoffs WHERE id = ?", (handoff_id,)).fetchone()[0]
    store = ZaloStore(outbox_path or default_outbox())
    try:
        outbox_ids = [
            store.enqueue(sender_id, message, OUTBOX_REASON) for message in build_messages(REPLY_PREFIX + body)
        ]
    finally:
        store.close()
    with closing(_connect(db_path)) as connection, connection:
        reply_id = connection.insert(
            "INSERT INTO handoff_replies (handoff_id, created_at, text, outbox_ids) VALUES (?, ?, ?, ?)",
            (handoff_id, conversation_log.utc_now(), mask_pii(body), json.dumps(outbox_ids)),
        )
    return next(r for r in get_case(handoff_id, db_path, outbox_path).replies if r.id == reply_id)


def purge_older_than(cutoff: datetime, db_path: Path | str | None = None) -> dict[str, int]:
    """Delete staff replies and handled marks older than `cutoff`, and those of hand-offs already deleted
    (retention: `conversation_log.purge_older_than` deletes the hand-offs); counts per table."""
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware (UTC)")
    limit = cutoff.astimezone(timezone.utc).isoformat(timespec="seconds")
    orphan = "handoff_id NOT IN (SELECT id FROM handoffs)"
    with closing(_connect(db_path)) as connection, connection:
        return {
            "handoff_replies": connection.execute(
                f"DELETE FROM handoff_replies WHERE created_at < ? OR {orphan}", (limit,)
            ).rowcount,
            "handoff_handled": connection.execute(
                f"DELETE FROM handoff_handled WHERE handled_at < ? OR {orphan}", (limit,)
            ).rowcount,
        }
