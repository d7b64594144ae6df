"""Stores for the Rasa server (loaded by `rasa run` from endpoints.yml; runs in .venv-rasa).

`CachedSQLTrackerStore` is Rasa's SQL tracker store with each worker's recent conversations kept in
memory, so a message does not re-read and replay its whole conversation.

`SQLiteLockStore` lets several Rasa worker processes on one machine share conversation locks
without an extra service. Rasa runs a single worker unless its lock store works across processes
(the in-memory one does not), and one worker process uses one of the machine's cores: the chat path
then saturates while the other core idles. Redis stays the answer for several machines
(endpoints.scale-out.yml: `RedisLockStore`, Rasa's own with the same wait); this is the single-machine one.

Both wait for a conversation's lock as Rasa does, except for one case (`ServeWhenNoneAhead`): a message
whose own ticket expired while it waited.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.core.lock_store import RedisLockStore as RasaRedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")

SCHEMA = "CREATE TABLE IF NOT EXISTS conversation_locks (conversation_id TEXT PRIMARY KEY, lock TEXT NOT NULL)"


class ServeWhenNoneAhead:
    """Rasa's wait for a conversation's lock (`LockStore._acquire_lock`), minus a way to wait forever.

    Rasa serves a waiting message when its ticket is the first live one, and gives up (LockError) only when
    the lock is gone. A ticket that expires while its message waits is never first again, so that message
    waits until something cancels it: with the short lifetime `tthc up` sets (TICKET_LOCK_LIFETIME, so that
    a Rasa that died holding a conversation does not block it for a minute), a message that arrives less than
    Rasa's 1 s retry after the dead one's ticket expires with it, and hung until Sanic's 60 s response
    timeout (tests/deployment/test_scale_out.py); a Zalo message, which no client waits for, would hang for
    good. Here a message is served as soon as no live ticket is ahead of its own, expired or not, and a lock
    that is gone means nobody holds the conversation: it is served too. With its ticket live, this is Rasa's
    rule unchanged (the first live ticket is served)."""

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if lock is None:
                return self.create_lock(conversation_id)
            lock.remove_expired_tickets()
            if all(waiting.number >= ticket for waiting in lock.tickets):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)


class RedisLockStore(ServeWhenNoneAhead, RasaRedisLockStore):
    """Rasa's Redis lock store (same settings as its `type: redis`) with `ServeWhenNoneAhead`'s wait.

    endpoints.scale-out.yml::

        lock_store:
          type: assistant.rasa_process.stores.RedisLockStore
          url: localhost
          port: 6379
          key_prefix: tthc
    """

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {**endpoint_config.kwargs, "host": endpoint_config.url or "localhost", **kwargs}
        super().__init__(**kwargs)


class SQLiteLockStore(ServeWhenNoneAhead, LockStore):
    """Rasa's ticket locks in a SQLite file shared by the worker processes of one machine.

    Each read-modify-write of a lock (issue a ticket, finish serving, clean up) runs in one
    IMMEDIATE transaction, so two workers never hand out the same ticket for a conversation.

    endpoints.yml::

        lock_store:
          type: assistant.rasa_process.stores.SQLiteLockStore
          db: /path/to/rasa_locks.db
    """

    def __init__(self, endpoint_config: EndpointConfig | None = None, db: str | os.PathLike | None = None) -> None:
        path = db or (endpoint_config.kwargs.get("db") if endpoint_config else None)
        if not path:
            raise ValueError("SQLiteLockStore needs `db:` (the lock file's path) in endpoints.yml.")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection: sqlite3.Connection | None = None
        self._connection_pid = -1
        with self._transaction() as db_conn:
            db_conn.execute(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        # One connection per process: a connection must not cross a fork into a worker.
        if self._connection is None or self._connection_pid != os.getpid():
            self._connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self._connection.execute("PRAGMA journal_mode=WAL")
            # Locks live for seconds and expire by themselves: no fsync per ticket (it stalled
            # the worker's event loop several times per message).
            self._connection.execute("PRAGMA synchronous=OFF")
            self._connection_pid = os.getpid()
        return self._connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _read(db: sqlite3.Connection, conversation_id: str) -> TicketLock | None:
        row = db.execute("SELECT lock FROM conversation_locks WHERE conversation_id = ?", (conversation_id,)).fetchone()
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    @staticmethod
    def _delete(db: sqlite3.Connection, conversation_id: str) -> bool:
        return db.execute("DELETE FROM conversation_locks WHERE conversation_id = ?", (conversation_id,)).rowcount > 0

    @staticmethod
    def _write(db: sqlite3.Connection, lock: TicketLock) -> None:
        db.execute(
            "INSERT OR REPLACE INTO conversation_locks (conversation_id, lock) VALUES (?, ?)",
            (lock.conversation_id, lock.dumps()),
        )

    def _change(self, conversation_id: str, change: Callable[[TicketLock], T], create: bool = False) -> T | None:
        """Apply `change` to the stored lock and save it, atomically; None when there is no lock."""
        with self._transaction() as db:
            lock = self._read(db, conversation_id)
            if lock is None:
                if not create:
                    return None
                lock = self.create_lock(conversation_id)
            result = change(lock)
            self._write(db, lock)
            return result

    # The storage primitives Rasa's LockStore builds on.
    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._read(self._db(), conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._write(self._db(), lock)

    def delete_lock(self, conversation_id: str) -> None:
        self._log_deletion(conversation_id, self._delete(self._db(), conversation_id))

    # Read-modify-write operations, made atomic across processes.
    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True)
        except Exception as e:
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        with self._transaction() as db:
            lock = self._read(db, conversation_id)
            if lock is None:
                return
            lock.remove_ticket_for(ticket_number)
            if lock.is_someone_waiting():
                self._write(db, lock)
            else:
                self._delete(db, conversation_id)


class CachedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store that reuses the conversation a worker saved last, when still current.

    Rasa loads a conversation for every message by reading every event of the session and replaying
    them into a tracker: the cost grows with the conversation (at 40 turns, a quarter of a worker's
    busy time under scripts/load_test.py). Here a worker remembers each tracker it saved, with the id of
    the newest stored event and the tracker's event count. The next load asks the database only for the
    newest event id and hands the remembered tracker back when nothing was stored since, by this worker
    or another (the lock store serialises a conversation's messages across workers), and the tracker
    got no event after its save; otherwise it reads the database as Rasa does. A remembered tracker is
    handed out once, so a message that fails before its save leaves nothing stale behind.

    Same settings as Rasa's `SQL` type, plus `cache_size` (conversations kept per worker)::

        tracker_store:
          type: assistant.rasa_process.stores.CachedSQLTrackerStore
          dialect: "sqlite"
          db: /path/to/rasa_tracker.db
          cache_size: 500
    """

    def __init__(self, *args: Any, cache_size: int = 500, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = max(0, int(cache_size))
        self._saved: OrderedDict[str, tuple[int | None, int, DialogueStateTracker]] = OrderedDict()

    @SQLTrackerStore.domain.setter
    def domain(self, domain: Any) -> None:
        SQLTrackerStore.domain.fset(self, domain)
        self._saved.clear()  # remembered trackers hold the old domain's slots

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        remembered = self._saved.pop(sender_id, None)
        if remembered is not None:
            newest_id, event_count, tracker = remembered
            if len(tracker.events) == event_count and self._newest_event_id(sender_id) == newest_id:
                return tracker
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._saved.pop(tracker.sender_id, None)
        await super().save(tracker)
        if self.cache_size:
            self._saved[tracker.sender_id] = (self._newest_event_id(tracker.sender_id), len(tracker.events), tracker)
            while len(self._saved) > self.cache_size:
                self._saved.popitem(last=False)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Rasa's load, reading only the event column: ORM objects per row cost more than the replay."""
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions)
            events = [json.loads(data) for (data,) in query.with_entities(self.SQLEvent.data)]
        if not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _newest_event_id(self, sender_id: str) -> int | None:
        with self.session_scope() as session:
            return session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()
