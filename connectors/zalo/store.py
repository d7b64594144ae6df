"""Durable state of the Zalo connector: one SQLite file, or PostgreSQL on the scale-out profile
(`outbox_path` is then a postgresql:// URL; assistant/core/storage.py).

- outbox: replies Zalo did not accept yet, re-delivered in order when the API is back;
  after too many attempts a reply is parked as dead (kept and logged, never dropped);
- seen_messages: msg_ids claimed for an answer (and whether it is done), so a redelivered event is
  answered once; a claim not done within MESSAGE_CLAIM_SECONDS (its node died) may be taken over, by a
  redelivery or by any node's periodic recovery, which answers it from the event kept with the claim
  (the event, the citizen's text included, is cleared once the reply is sent or queued);
- tokens: the latest access/refresh token pair (Zalo refresh tokens are single-use, so the
  pair obtained by a refresh must survive a restart, and every Rasa worker reads it before use);
- leases: short named locks between processes (the token refresh: exactly one worker refreshes);
- offered_buttons: the Rasa payload behind each button title recently shown to a user, so a tap,
  which comes back as the title the citizen sees, reaches Rasa as the payload.

Several Rasa worker processes (and, on PostgreSQL, several Rasa instances) share it: each process
opens its own connection on first use (Rasa builds the channel before Sanic forks the workers), and
outbox rows are claimed by one process before it sends them, so each reply is delivered once.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core import storage

SEEN_MESSAGES_KEPT = 20_000
# A msg_id claimed longer ago than this and not done is taken over by a redelivery: its node died between
# the claim and queueing the reply. Well above a slow answer (Rasa's REST timeout is 10 s), so a duplicate
# arriving while the first node is still answering is refused.
MESSAGE_CLAIM_SECONDS = 120
# A claim its node left undone is answered by another node's recovery only this long after the message:
# a reply much later than that would no longer make sense to the citizen.
MESSAGE_RECOVERY_SECONDS = 3600
OFFERED_BUTTONS_SECONDS = 24 * 3600  # a button tapped later than this is read as typed text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    dead INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT NOT NULL DEFAULT '',
    claimed_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (dead, id);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS offered_buttons (
    user_id TEXT NOT NULL,
    title TEXT NOT NULL,
    payload TEXT NOT NULL,
    offered_at REAL NOT NULL,
    PRIMARY KEY (user_id, title)
);
CREATE TABLE IF NOT EXISTS seen_messages (
    msg_id TEXT PRIMARY KEY,
    seen_at REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    first_seen_at REAL NOT NULL DEFAULT 0,
    event TEXT NOT NULL DEFAULT ''
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
    """Small synchronous store; every call is a short transaction (SQLite file or PostgreSQL URL)."""

    PRUNE_EVERY = 1000  # new msg_ids between prunes of the oldest ones

    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.path = path if storage.is_postgres(path) else Path(path)
        self.clock = clock  # message claims' time (tests pass a fake clock)
        self._connection: storage.Database | None = None
        self._pid = 0
        self._claims = 0
        # Who holds claims and leases: one id per process (set again after a fork).
        self.holder = ""
        self._db  # noqa: B018 (open now: a bad path fails at start-up, not on the first message)

    @property
    def _db(self) -> storage.Database:
        """This process's connection; a forked worker opens its own instead of sharing its parent's
        (and a PostgreSQL connection that broke is opened again)."""
        if self._connection is None or self._pid != os.getpid() or self._connection.closed:
            connection = storage.connect(self.path, _SCHEMA, autocommit=True, wal=True)
            self._migrate(connection)
            self._connection, self._pid = connection, os.getpid()
            if not self.holder or not self.holder.startswith(f"{os.getpid()}-"):
                self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        return self._connection

    @staticmethod
    def _migrate(connection: storage.Database) -> None:
        """Outbox files from before claims get the two claim columns; msg_ids seen before claim leases
        count as done (they were answered or given up on)."""
        if "claimed_by" not in connection.columns("outbox"):
            connection.execute("ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT ''")
            connection.execute("ALTER TABLE outbox ADD COLUMN claimed_until REAL NOT NULL DEFAULT 0")
        columns = connection.columns("seen_messages")
        if "done" not in columns:
            connection.execute("ALTER TABLE seen_messages ADD COLUMN done INTEGER NOT NULL DEFAULT 1")
        if "event" not in columns:
            connection.execute("ALTER TABLE seen_messages ADD COLUMN first_seen_at REAL NOT NULL DEFAULT 0")
            connection.execute("ALTER TABLE seen_messages ADD COLUMN event TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None

    @property
    def where(self) -> str:
        """The file or database, for messages (no password)."""
        return storage.describe(self.path)

    # -- duplicate deliveries ------------------------------------------------------------------
    def claim_message(self, msg_id: str, event: dict[str, Any] | None = None) -> bool:
        """True when this node is to answer msg_id: the first time it is seen, or when an earlier claim
        was not marked done within MESSAGE_CLAIM_SECONDS (the node holding it died before queueing the
        reply). False for a redelivery of a done msg_id or one claimed within the lease. `event` (what
        answering needs) is kept with the claim until it is done, for `take_over_stale_claims`."""
        now = self.clock()
        # One statement, so two nodes taking over the same stale claim cannot both win.
        cursor = self._db.execute(
            "INSERT INTO seen_messages (msg_id, seen_at, done, first_seen_at, event) VALUES (?, ?, 0, ?, ?) "
            "ON CONFLICT (msg_id) DO UPDATE SET seen_at = excluded.seen_at "
            "WHERE seen_messages.done = 0 AND seen_messages.seen_at <= ?",
            (msg_id, now, now, json.dumps(event, ensure_ascii=False) if event else "", now - MESSAGE_CLAIM_SECONDS),
        )
        first = cursor.rowcount == 1
        if first:
            self._claims += 1
            if self._claims % self.PRUNE_EVERY == 0:
                self._prune_seen()
        return first

    def message_done(self, msg_id: str) -> None:
        """The reply to msg_id was sent or queued in the outbox: no redelivery may take the claim over,
        and the event kept for a recovery (the citizen's text) is cleared."""
        self._db.execute("UPDATE seen_messages SET done = 1, event = '' WHERE msg_id = ?", (msg_id,))

    def take_over_stale_claims(self, limit: int = 20) -> list[dict[str, Any]]:
        """The events of claims whose node left them undone for MESSAGE_CLAIM_SECONDS (and whose message
        is younger than MESSAGE_RECOVERY_SECONDS), each now claimed by this node: one row at a time in one
        statement, so of several nodes recovering at once exactly one gets each event."""
        now = self.clock()
        stale = now - MESSAGE_CLAIM_SECONDS
        rows = self._db.execute(
            "SELECT msg_id, event FROM seen_messages WHERE done = 0 AND event != '' AND seen_at <= ? "
            "AND first_seen_at >= ? ORDER BY first_seen_at LIMIT ?",
            (stale, now - MESSAGE_RECOVERY_SECONDS, limit),
        ).fetchall()
        taken = []
        for msg_id, event in rows:
            cursor = self._db.execute(
                "UPDATE seen_messages SET seen_at = ? WHERE msg_id = ? AND done = 0 AND seen_at <= ?",
                (now, msg_id, stale),
            )
            if cursor.rowcount == 1:
                taken.append(json.loads(event))
        return taken

    def _prune_seen(self) -> None:
        """Keep the newest SEEN_MESSAGES_KEPT msg_ids (a redelivery comes within minutes)."""
        row = self._db.execute(
            "SELECT seen_at FROM seen_messages ORDER BY seen_at DESC LIMIT 1 OFFSET ?", (SEEN_MESSAGES_KEPT,)
        ).fetchone()
        if row is not None:
            self._db.execute("DELETE FROM seen_messages WHERE seen_at <= ?", (row[0],))

    # -- outbox --------------------------------------------------------------------------------
    def enqueue(self, user_id: str, message: dict[str, Any], error: str) -> int:
        return self._db.insert(
            "INSERT INTO outbox (user_id, message, created_at, attempts, last_error) VALUES (?, ?, ?, 0, ?)",
            (user_id, json.dumps(message, ensure_ascii=False), time.time(), error),
        )

    def pending(self, limit: int = 500) -> list[OutboxItem]:
        """Replies still to deliver, oldest first."""
        return self._items("WHERE dead = 0", limit)

    def all_items(self, limit: int = 500) -> list[OutboxItem]:
        """Waiting and dead replies, oldest first (for operators)."""
        return self._items("", limit)

    def _items(self, where: str, limit: int, params: tuple = ()) -> list[OutboxItem]:
        rows = self._db.execute(
            f"SELECT id, user_id, message, attempts, last_error, created_at, dead FROM outbox {where} "
            "ORDER BY id LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], bool(r[6])) for r in rows]

    def revive_dead(self) -> int:
        """Put dead replies back in line with a fresh attempt budget; returns how many."""
        return self._db.execute("UPDATE outbox SET dead = 0, attempts = 0 WHERE dead = 1").rowcount

    def pending_count(self, user_id: str | None = None) -> int:
        if user_id is None:
            row = self._db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 0").fetchone()
        else:
            row = self._db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 0 AND user_id = ?", (user_id,)).fetchone()
        return int(row[0])

    def dead_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 1").fetchone()[0])

    def claim_user_batch(
        self, seconds: float, skip_users: set[str] = frozenset(), limit: int = 100
    ) -> list[OutboxItem]:
        """Claim, for this process, the waiting replies of the oldest user nobody is sending to.

        All of that user's waiting replies are claimed in one transaction (oldest first), so their
        order holds and no other process sends them; a claim lapses after `seconds` (a worker that
        died mid-flush). [] when nothing is left to claim."""
        now = time.time()
        with self._db.transaction("zalo-outbox") as db:
            busy = {
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT user_id FROM outbox WHERE dead = 0 AND claimed_until > ?", (now,)
                )
            }
            excluded = busy | set(skip_users)
            user = None
            for (candidate,) in db.execute(
                "SELECT user_id FROM outbox WHERE dead = 0 GROUP BY user_id ORDER BY MIN(id)"
            ):
                if candidate not in excluded:
                    user = candidate
                    break
            if user is None:
                return []
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM outbox WHERE dead = 0 AND user_id = ? ORDER BY id LIMIT ?", (user, limit)
                )
            ]
            db.executemany(
                "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?",
                [(self.holder, now + seconds, item_id) for item_id in ids],
            )
        return self._items("WHERE claimed_by = ? AND dead = 0 AND user_id = ?", limit, (self.holder, user))

    def release_claims(self) -> None:
        """Give back what this process claimed but did not send (another flush may take it)."""
        self._db.execute("UPDATE outbox SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ?", (self.holder,))

    def delivered(self, item_id: int) -> None:
        self._db.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    def failed(self, item_id: int, error: str, dead: bool) -> None:
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dead = ?, claimed_by = '', claimed_until = 0 "
            "WHERE id = ?",
            (error, 1 if dead else 0, item_id),
        )

    # -- leases (locks between processes) ------------------------------------------------------
    def try_lease(self, name: str, seconds: float) -> bool:
        """Take the named lease for this process unless another holds it unexpired."""
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE leases.expires_at < ? OR leases.holder = excluded.holder",
            (name, self.holder, now + seconds, now),
        )
        return cursor.rowcount == 1

    def release_lease(self, name: str) -> None:
        self._db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, self.holder))

    # -- buttons -------------------------------------------------------------------------------
    def remember_buttons(self, user_id: str, payload_by_title: dict[str, str]) -> None:
        """The Rasa payload behind each button title just offered to `user_id` (newest wins)."""
        now = time.time()
        db = self._db
        db.execute("DELETE FROM offered_buttons WHERE offered_at < ?", (now - OFFERED_BUTTONS_SECONDS,))
        db.executemany(
            "INSERT INTO offered_buttons (user_id, title, payload, offered_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, title) DO UPDATE SET payload = excluded.payload, offered_at = excluded.offered_at",
            [(user_id, title, payload, now) for title, payload in payload_by_title.items()],
        )

    def button_payload(self, user_id: str, text: str) -> str | None:
        """The payload of a button offered to `user_id` whose title is `text`, if recent."""
        row = self._db.execute(
            "SELECT payload FROM offered_buttons WHERE user_id = ? AND title = ? AND offered_at >= ?",
            (user_id, text.strip(), time.time() - OFFERED_BUTTONS_SECONDS),
        ).fetchone()
        return row[0] if row else None

    # -- tokens --------------------------------------------------------------------------------
    def load_tokens(self, seed_refresh_token: str) -> tuple[str, str] | None:
        """The stored pair, unless the operator has since configured a different refresh token.
        Read before every send: another worker may have refreshed it."""
        row = self._db.execute(
            "SELECT access_token, refresh_token, seed_refresh_token FROM tokens WHERE id = 1"
        ).fetchone()
        if row is None or row[2] != seed_refresh_token:
            return None
        return row[0], row[1]

    def save_tokens(self, access_token: str, refresh_token: str, seed_refresh_token: str) -> None:
        self._db.execute(
            "INSERT INTO tokens (id, access_token, refresh_token, seed_refresh_token, updated_at) "
            "VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET access_token = excluded.access_token, "
            "refresh_token = excluded.refresh_token, seed_refresh_token = excluded.seed_refresh_token, "
            "updated_at = excluded.updated_at",
            (access_token, refresh_token, seed_refresh_token, time.time()),
        )
