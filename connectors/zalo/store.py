"""Durable state of the Zalo connector in one SQLite file.

- outbox: replies Zalo did not accept yet, re-delivered in order when the API is back;
  after too many attempts a reply is parked as dead (kept and logged, never dropped);
- seen_messages: msg_ids already answered, so a redelivered event is answered once;
- tokens: the latest access/refresh token pair (Zalo refresh tokens are single-use, so the
  pair obtained by a refresh must survive a restart).
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEEN_MESSAGES_KEPT = 20_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (dead, id);
CREATE TABLE IF NOT EXISTS seen_messages (
    msg_id TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    seed_refresh_token TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class OutboxItem:
    id: int
    user_id: str
    message: dict[str, Any]
    attempts: int
    last_error: str
    created_at: float = 0.0
    dead: bool = False


class ZaloStore:
    """Small synchronous SQLite store; every call is a short local transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- duplicate deliveries ------------------------------------------------------------------
    def claim_message(self, msg_id: str) -> bool:
        """True the first time a msg_id is seen, False for a redelivery."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO seen_messages (msg_id, seen_at) VALUES (?, ?)", (msg_id, time.time())
        )
        if cursor.rowcount and cursor.lastrowid % 1000 == 0:
            self._prune_seen()
        return cursor.rowcount == 1

    def _prune_seen(self) -> None:
        self._db.execute(
            "DELETE FROM seen_messages WHERE rowid NOT IN "
            "(SELECT rowid FROM seen_messages ORDER BY seen_at DESC LIMIT ?)",
            (SEEN_MESSAGES_KEPT,),
        )

    # -- outbox --------------------------------------------------------------------------------
    def enqueue(self, user_id: str, message: dict[str, Any], error: str) -> int:
        cursor = self._db.execute(
            "INSERT INTO outbox (user_id, message, created_at, attempts, last_error) VALUES (?, ?, ?, 0, ?)",
            (user_id, json.dumps(message, ensure_ascii=False), time.time(), error),
        )
        return int(cursor.lastrowid)

    def pending(self, limit: int = 500) -> list[OutboxItem]:
        """Replies still to deliver, oldest first."""
        return self._items("WHERE dead = 0", limit)

    def all_items(self, limit: int = 500) -> list[OutboxItem]:
        """Waiting and dead replies, oldest first (for operators)."""
        return self._items("", limit)

    def _items(self, where: str, limit: int) -> list[OutboxItem]:
        rows = self._db.execute(
            f"SELECT id, user_id, message, attempts, last_error, created_at, dead FROM outbox {where} "
            "ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], bool(r[6])) for r in rows]

    def revive_dead(self) -> int:
        """Put dead replies back in line with a fresh attempt budget; returns how many."""
        return self._db.execute("UPDATE outbox SET dead = 0, attempts = 0 WHERE dead = 1").rowcount

    def pending_count(self, user_id: str | None = None) -> int:
        if user_id is None:
            row = self._db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 0").fetchone()
        else:
            row = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE dead = 0 AND user_id = ?", (user_id,)
            ).fetchone()
        return int(row[0])

    def dead_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 1").fetchone()[0])

    def delivered(self, item_id: int) -> None:
        self._db.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    def failed(self, item_id: int, error: str, dead: bool) -> None:
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dead = ? WHERE id = ?",
            (error, 1 if dead else 0, item_id),
        )

    # -- tokens --------------------------------------------------------------------------------
    def load_tokens(self, seed_refresh_token: str) -> tuple[str, str] | None:
        """The stored pair, unless the operator has since configured a different refresh token."""
        row = self._db.execute(
            "SELECT access_token, refresh_token, seed_refresh_token FROM tokens WHERE id = 1"
        ).fetchone()
        if row is None or row[2] != seed_refresh_token:
            return None
        return row[0], row[1]

    def save_tokens(self, access_token: str, refresh_token: str, seed_refresh_token: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO tokens (id, access_token, refresh_token, seed_refresh_token, updated_at) "
            "VALUES (1, ?, ?, ?, ?)",
            (access_token, refresh_token, seed_refresh_token, time.time()),
        )
