"""Stores for the Rasa server (loaded by `rasa run` from endpoints.yml; runs in .venv-rasa).

`SQLiteLockStore` lets several Rasa worker processes on one machine share conversation locks
without an extra service. Rasa runs a single worker unless its lock store works across processes
(the in-memory one does not), and one worker process uses one of the machine's cores: the chat path
then saturates while the other core idles. Redis stays the answer for several machines
(endpoints.scale-out.yml); this is the single-machine one.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")

SCHEMA = "CREATE TABLE IF NOT EXISTS conversation_locks (conversation_id TEXT PRIMARY KEY, lock TEXT NOT NULL)"


class SQLiteLockStore(LockStore):
    """Rasa's ticket locks in a SQLite file shared by the worker processes of one machine.

    Each read-modify-write of a lock (issue a ticket, finish serving, clean up) runs in one
    IMMEDIATE transaction, so two workers never hand out the same ticket for a conversation.

    endpoints.yml::

        lock_store:
          type: assistant.rasa_stores.SQLiteLockStore
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
    def _read(db: sqlite3.Connection, conversation_id: str) -> Optional[TicketLock]:
        row = db.execute(
            "SELECT lock FROM conversation_locks WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
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
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
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
            raise LockError(f"Error while acquiring lock. Error:\n{e}")

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
