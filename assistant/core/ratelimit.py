"""Per-sender token-bucket rate limiters, framework-free.

Pure Python so both the app server (FastAPI, Python 3.11) and Rasa-side channels (Python 3.10)
can use it. Each key (client IP, Zalo user id, chat sender id …) owns a bucket of `burst` tokens
refilled at `per_minute / 60` tokens per second; a request takes one token or is refused with the
number of seconds until the next token.

- `TokenBucketLimiter`: in memory, for one process. Buckets are kept in LRU order and the least
  recently used are dropped beyond `max_keys`, so a flood of distinct keys cannot exhaust memory.
- `SharedTokenBucketLimiter`: the same buckets in a SQLite file, so every Rasa worker process (and
  every process on the machine) draws from one bucket per key: with two workers a sender still gets
  the configured rate, not twice it. Each process opens its own connection on first use (after
  Sanic forked the workers); each acquire is one short write transaction. Buckets that have refilled
  completely are pruned, since a full bucket and a missing one mean the same.
- `RedisTokenBucketLimiter`: the same buckets in Redis, shared by every process on every node of the
  scale-out profile (one Lua script per acquire, atomic, timed by the Redis server's clock so the
  nodes' clocks need not agree). If Redis stops answering, requests are let through (one warning a
  minute): a rate limit must not take the service down with it.
- `sender_limiter(...)`: the shared one when a path or `redis://` URL is given (credentials.yml
  `rate_limit_db`, else env `TTHC_RATE_LIMIT_DB`, which `tthc up` sets), else the in-memory one.
  A Redis password comes from env TTHC_REDIS_PASSWORD, never from the URL in a file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RATE_LIMIT_DB_ENV = "TTHC_RATE_LIMIT_DB"
REDIS_PASSWORD_ENV = "TTHC_REDIS_PASSWORD"
logger = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    def __init__(
        self,
        per_minute: float,
        burst: int,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive (use no limiter to disable)")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for `key`. Returns 0.0 when allowed, else seconds until a token is free."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = _Bucket(tokens=self.burst, updated=now)
            else:
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
                bucket.updated = now
            self._buckets[key] = bucket  # most recently used last
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


class SharedTokenBucketLimiter:
    """Token buckets in a SQLite file shared by processes; `namespace` separates limiters in one file."""

    PRUNE_EVERY = 500  # acquires between prunes of refilled buckets

    def __init__(
        self, path: str | Path, per_minute: float, burst: int, namespace: str, clock: Callable[[], float] = time.time
    ) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive (use no limiter to disable)")
        self.path = Path(path)
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.namespace = namespace
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._acquires = 0
        self._connection()  # fail at start-up, not on the first message, when the file cannot be opened

    def _connection(self) -> sqlite3.Connection:
        """This process's connection: a forked worker never reuses its parent's."""
        if self._db is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=5, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL)"
            )
            self._db, self._pid = db, os.getpid()
        return self._db

    def acquire(self, key: str) -> float:
        """Take one token for `key`. Returns 0.0 when allowed, else seconds until a token is free."""
        full_key = f"{self.namespace}:{key}"
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                row = db.execute("SELECT tokens, updated FROM buckets WHERE key = ?", (full_key,)).fetchone()
                tokens = self.burst if row is None else min(self.burst, row[0] + max(0.0, now - row[1]) * self.rate)
                wait = 0.0
                if tokens >= 1.0:
                    tokens -= 1.0
                else:
                    wait = (1.0 - tokens) / self.rate
                db.execute(
                    "INSERT INTO buckets (key, tokens, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
                    (full_key, tokens, now),
                )
                self._acquires += 1
                if self._acquires % self.PRUNE_EVERY == 0:
                    self._prune(db, now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return wait

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        refill_seconds = self.burst / self.rate
        db.execute(
            "DELETE FROM buckets WHERE key LIKE ? AND updated < ?", (f"{self.namespace}:%", now - refill_seconds)
        )


# KEYS[1] bucket; ARGV rate (tokens/s), burst. Returns the wait in seconds as a string (0 = allowed).
_REDIS_ACQUIRE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = burst
if bucket[1] then
  tokens = math.min(burst, tonumber(bucket[1]) + math.max(0, now - tonumber(bucket[2])) * rate)
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisTokenBucketLimiter:
    """Token buckets in Redis (keys `tthc:ratelimit:<namespace>:<key>`, expiring once refilled)."""

    WARN_EVERY = 60.0  # seconds between warnings while Redis is unreachable

    def __init__(self, url: str, per_minute: float, burst: int, namespace: str) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive (use no limiter to disable)")
        import redis

        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.namespace = namespace
        self._errors = (redis.exceptions.RedisError, OSError)
        self._client = redis.Redis.from_url(
            url, password=os.environ.get(REDIS_PASSWORD_ENV) or None, socket_timeout=2, socket_connect_timeout=2
        )
        self._script = self._client.register_script(_REDIS_ACQUIRE)
        self._warned = 0.0
        self._client.ping()  # fail at start-up, not on the first message, when Redis cannot be reached

    def acquire(self, key: str) -> float:
        """Take one token for `key`. Returns 0.0 when allowed, else seconds until a token is free."""
        try:
            wait = self._script(keys=[f"tthc:ratelimit:{self.namespace}:{key}"], args=[self.rate, self.burst])
        except self._errors as exc:
            if time.monotonic() - self._warned > self.WARN_EVERY:
                self._warned = time.monotonic()
                logger.warning("rate limit %s: Redis unreachable (%s); letting requests through", self.namespace, exc)
            return 0.0
        return float(wait)


Limiter = TokenBucketLimiter | SharedTokenBucketLimiter | RedisTokenBucketLimiter


def sender_limiter(per_minute: float, burst: int, namespace: str, path: str | Path | None = None) -> Limiter:
    """A limiter shared by all processes when a database path or redis:// URL is configured (argument,
    else env TTHC_RATE_LIMIT_DB), else one in memory for this process."""
    path = path or os.environ.get(RATE_LIMIT_DB_ENV, "")
    if str(path).startswith(("redis://", "rediss://")):
        return RedisTokenBucketLimiter(str(path), per_minute, burst, namespace)
    if path:
        return SharedTokenBucketLimiter(path, per_minute, burst, namespace)
    return TokenBucketLimiter(per_minute, burst)
