"""One storage layer for the app's data and the Zalo state: a SQLite file by default, PostgreSQL when
the scale-out profile configures a database URL (docs/deploy.md "Scale-out").

The callers (conversation_log, interaction_log, connectors/zalo/store.py, retention, metrics) write
their SQL once, in the subset both engines understand: `?` placeholders, `INSERT ... ON CONFLICT`,
`INSERT ... RETURNING id` (through `Database.insert`), `CREATE TABLE/INDEX IF NOT EXISTS` with
`INTEGER PRIMARY KEY AUTOINCREMENT` and `REAL` columns (translated for PostgreSQL: BIGSERIAL and
DOUBLE PRECISION). Rows answer both `row[0]` and `row["name"]`, as sqlite3.Row does. For code written
against sqlite3, `INSERT OR IGNORE` and `cursor.lastrowid` work on PostgreSQL too; `INSERT OR REPLACE`,
`sqlite_master` and PRAGMAs do not (use `ON CONFLICT (...) DO UPDATE`, `has_table`, `columns`).

- `connect(target, schema=None, autocommit=False) -> Database`: `target` is a file path (SQLite) or a
  `postgresql://user@host:port/db` URL. The password never sits in the URL: it comes from the
  environment variable TTHC_PG_PASSWORD (the one endpoints.scale-out.yml gives Rasa's tracker store).
  PostgreSQL connections are pooled per process (a forked worker never reuses its parent's), and a
  schema is created once per process, under an advisory lock so several processes starting together
  do not race on CREATE TABLE.
- `Database.transaction(name)`: an exclusive write transaction, one at a time per `name` across every
  process and machine (SQLite: BEGIN IMMEDIATE on the file; PostgreSQL: a transaction-scoped advisory
  lock). Needs `autocommit=True`.
- `ERRORS`: the exceptions either engine raises (for `except storage.ERRORS`).

Stdlib plus psycopg2 (imported only for PostgreSQL); no Rasa or pydantic import, so it runs in both
environments (the app server on Python 3.11, the Rasa channels on 3.10).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

POSTGRES_PASSWORD_ENV = "TTHC_PG_PASSWORD"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")

try:  # both lock files install psycopg2-binary; without it only SQLite works
    import psycopg2 as _psycopg2

    ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, _psycopg2.Error)
except ImportError:  # pragma: no cover - the lock files install it
    _psycopg2 = None
    ERRORS = (sqlite3.Error,)


def is_postgres(target: str | os.PathLike | None) -> bool:
    return str(target or "").startswith(POSTGRES_SCHEMES)


def postgres_url(host: str, port: int | str, db: str, user: str) -> str:
    """The URL `connect` takes, without the password (TTHC_PG_PASSWORD)."""
    return f"postgresql://{user}@{host}:{port}/{db}"


def describe(target: str | os.PathLike) -> str:
    """Where the data is, for messages and logs (never a password)."""
    return re.sub(r"://[^@/]*:[^@/]*@", "://***@", str(target))


# ---- SQL for PostgreSQL --------------------------------------------------------------------------

_QUOTED_OR_MARK = re.compile(r"'(?:[^']|'')*'|\?|%")


def _postgres_sql(sql: str) -> str:
    """`?` -> `%s` and every literal `%` -> `%%` (psycopg2's paramstyle); a `?` in a quoted string stays."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        return "%s" if token == "?" else token.replace("%", "%%")

    return _QUOTED_OR_MARK.sub(swap, sql)


_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)


def _postgres_statement(sql: str) -> str:
    """SQLite's `INSERT OR IGNORE INTO ...` is PostgreSQL's `INSERT INTO ... ON CONFLICT DO NOTHING`."""
    if _INSERT_OR_IGNORE.match(sql) and "RETURNING" not in sql.upper():
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql, count=1).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return _postgres_sql(sql)


def _postgres_schema(schema: str) -> str:
    schema = re.sub(r"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY", schema, flags=re.IGNORECASE)
    schema = re.sub(r"\bREAL\b", "DOUBLE PRECISION", schema)
    return re.sub(r"--[^\n]*", "", schema)  # comments may hold "?" or "%"


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return zlib.crc32(name.encode("utf-8")) - 2**31


class Row(tuple):
    """A result row: by position and by column name (sqlite3.Row's interface)."""

    _columns: dict[str, int]

    def __new__(cls, values: Sequence[Any], columns: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._columns = columns
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._columns[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._columns)


class _PostgresCursor:
    def __init__(self, cursor: Any, inserted: bool = False) -> None:
        self._cursor = cursor
        self._inserted = inserted
        self.rowcount = cursor.rowcount
        self._columns = {d[0]: i for i, d in enumerate(cursor.description)} if cursor.description else {}

    @property
    def lastrowid(self) -> int | None:
        """sqlite3's lastrowid: the id the INSERT just generated (this session's lastval()); None when
        the statement inserted nothing with a generated id. Prefer `Database.insert`."""
        if not (self._inserted and self.rowcount > 0):
            return None
        connection = self._cursor.connection
        in_transaction = not connection.autocommit  # a failed lastval() must not abort the caller's transaction
        with connection.cursor() as cursor:
            if in_transaction:
                cursor.execute("SAVEPOINT tthc_lastval")
            try:
                cursor.execute("SELECT lastval()")
                value = cursor.fetchone()[0]
            except _psycopg2.Error:  # no sequence used in this session
                if in_transaction:
                    cursor.execute("ROLLBACK TO SAVEPOINT tthc_lastval")
                return None
            if in_transaction:
                cursor.execute("RELEASE SAVEPOINT tthc_lastval")
            return int(value)

    def fetchone(self) -> Row | None:
        values = self._cursor.fetchone()
        return None if values is None else Row(values, self._columns)

    def fetchall(self) -> list[Row]:
        return [Row(values, self._columns) for values in self._cursor.fetchall()]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


# ---- PostgreSQL connections, pooled per process ---------------------------------------------------

_pool_lock = threading.Lock()
_idle: dict[tuple[int, str], list[Any]] = {}
_schemas_done: set[tuple[int, str, str]] = set()
MAX_IDLE_CONNECTIONS = 8


def _postgres_connection(url: str) -> Any:
    if _psycopg2 is None:
        raise RuntimeError("PostgreSQL needs psycopg2: install requirements/app.lock (./start does it)")
    key = (os.getpid(), url)
    with _pool_lock:
        idle = _idle.setdefault(key, [])
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
    password = os.environ.get(POSTGRES_PASSWORD_ENV) or None
    return _psycopg2.connect(url, password=password, connect_timeout=10, application_name="tthc")


def _give_back(url: str, connection: Any) -> None:
    if connection.closed:
        return
    try:
        if connection.info.transaction_status != 0:  # not idle: end what the caller left open
            connection.rollback()
    except _psycopg2.Error:
        connection.close()
        return
    with _pool_lock:
        idle = _idle.setdefault((os.getpid(), url), [])
        if len(idle) < MAX_IDLE_CONNECTIONS:
            idle.append(connection)
            return
    connection.close()


class Database:
    """One connection to the app database or the Zalo store, whichever engine holds it.

    `with db:` commits on success and rolls back on an error (when not in autocommit mode);
    `close()` ends it (a PostgreSQL connection goes back to this process's pool)."""

    def __init__(
        self, target: str | os.PathLike, autocommit: bool = False, wal: bool = False, timeout: float = 10
    ) -> None:
        self.target = str(target)
        self.dialect = "postgresql" if is_postgres(target) else "sqlite"
        self.autocommit = autocommit
        if self.dialect == "sqlite":
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                str(path), timeout=timeout, check_same_thread=False, isolation_level=None if autocommit else ""
            )
            self._connection.row_factory = sqlite3.Row
            if wal:
                self._connection.execute("PRAGMA journal_mode=WAL")
        else:
            self._connection = _postgres_connection(self.target)
            self._connection.autocommit = autocommit

    @property
    def closed(self) -> bool:
        return self._connection is None or (self.dialect == "postgresql" and bool(self._connection.closed))

    # -- statements --------------------------------------------------------------------------------
    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        if self.dialect == "sqlite":
            return self._connection.execute(sql, tuple(parameters))
        cursor = self._connection.cursor()
        cursor.execute(_postgres_statement(sql), tuple(parameters))
        return _PostgresCursor(cursor, inserted=sql.lstrip()[:6].upper() == "INSERT")

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.dialect == "sqlite":
            self._connection.executemany(sql, [tuple(row) for row in rows])
        else:
            self._connection.cursor().executemany(_postgres_statement(sql), [tuple(row) for row in rows])

    def insert(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run an INSERT into a table with an `id` key; returns the new row's id."""
        rows = self.execute(f"{sql} RETURNING id", parameters).fetchall()
        return int(rows[0][0])

    def create_schema(self, schema: str) -> None:
        """CREATE TABLE/INDEX IF NOT EXISTS statements (SQLite's types; translated for PostgreSQL)."""
        if self.dialect == "sqlite":
            self._connection.executescript(schema)  # commits first, as sqlite3 always does
            return
        done = (os.getpid(), self.target, schema)
        if done in _schemas_done:
            return
        previous = self._connection.autocommit
        self._connection.autocommit = False
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("tthc-schema"),))
                cursor.execute(_postgres_schema(schema))
            self._connection.commit()
        except BaseException:
            self._connection.rollback()
            raise
        finally:
            self._connection.autocommit = previous
        _schemas_done.add(done)

    executescript = create_schema  # sqlite3's name for it, for callers written against sqlite3

    def has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
        return self.execute(sql, (name,)).fetchone() is not None

    def columns(self, table: str) -> set[str]:
        if self.dialect == "sqlite":
            return {row[1] for row in self.execute(f"PRAGMA table_info({table})")}
        return {
            row[0]
            for row in self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = ?",
                (table,),
            )
        }

    # -- transactions ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, name: str) -> Iterator[Database]:
        """An exclusive write transaction, one at a time per `name` everywhere (autocommit mode only)."""
        if not self.autocommit:
            raise RuntimeError("Database.transaction needs a connection opened with autocommit=True")
        if self.dialect == "sqlite":
            self._connection.execute("BEGIN IMMEDIATE")
        else:
            self._connection.cursor().execute("BEGIN")
            self._connection.cursor().execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(name),))
        try:
            yield self
        except BaseException:
            self._raw("ROLLBACK")
            raise
        self._raw("COMMIT")

    def _raw(self, statement: str) -> None:
        if self.dialect == "sqlite":
            self._connection.execute(statement)
        else:
            self._connection.cursor().execute(statement)

    def commit(self) -> None:
        if not self.autocommit:
            self._connection.commit()

    def rollback(self) -> None:
        if not self.autocommit:
            self._connection.rollback()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def close(self) -> None:
        if self._connection is None:
            return
        if self.dialect == "sqlite":
            self._connection.close()
        else:
            _give_back(self.target, self._connection)
        self._connection = None


def connect(
    target: str | os.PathLike,
    schema: str | None = None,
    autocommit: bool = False,
    wal: bool = False,
    timeout: float = 10,
) -> Database:
    """A connection to `target` (file path or postgresql:// URL) with `schema`'s tables created."""
    database = Database(target, autocommit=autocommit, wal=wal, timeout=timeout)
    if schema:
        try:
            database.create_schema(schema)
        except BaseException:
            database.close()
            raise
    return database
