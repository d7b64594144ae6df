"""A throw-away PostgreSQL and Redis for the scale-out tests, started as the tests' own processes.

Debian's `postgresql` and `redis-server` packages (scripts/ensure_test_packages.sh installs them),
each on a free 127.0.0.1 port with its data in a temporary directory, stopped and deleted afterwards.
As root, PostgreSQL runs as the `postgres` user (it refuses root). A missing binary or a server that
does not come up raises ServiceError, whose message names the fix: the caller fails the test with it.
Needs psycopg2 and redis (both environments have them).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port

FIX = "run scripts/ensure_test_packages.sh as root (it installs postgresql and redis-server)"


class ServiceError(RuntimeError):
    """PostgreSQL or Redis is missing or did not start; the message names the fix."""


def postgres_bin(name: str) -> str:
    found = shutil.which(name) or (sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [None])[-1]
    if not found:
        raise ServiceError(f"PostgreSQL's {name} is not installed; {FIX}")
    return found


def as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` system user when we are root."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if not runuser:
        raise ServiceError(
            "running as root and `runuser` is missing, so PostgreSQL cannot be started; run the tests as a normal user"
        )
    return [runuser, "-u", "postgres", "--", *command]


@contextmanager
def running_postgres(database: str = "tthc", user: str = "tthc", port: int | None = None) -> Iterator[dict[str, str]]:
    """A PostgreSQL with `database` owned by `user` (trust authentication, fsync off); yields
    host, port, db, user as the deployment settings name them."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    workdir = Path(tempfile.mkdtemp(prefix="tthc-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, user="postgres", group="postgres")
    data, port = workdir / "data", port or free_port()
    try:
        result = subprocess.run(
            as_postgres_user([initdb, "-D", str(data), "-A", "trust", "-U", user, "--no-sync", "-E", "UTF8"]),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed: {result.stderr.strip()[-300:]}")
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        result = subprocess.run(
            as_postgres_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start"]),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            log = (workdir / "log").read_text(errors="replace")[-500:] if (workdir / "log").exists() else ""
            raise ServiceError(f"PostgreSQL did not start: {result.stderr.strip()[-300:]} {log}")
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user=user, dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute(f'CREATE DATABASE "{database}"')
        connection.close()
        yield {"host": "127.0.0.1", "port": str(port), "db": database, "user": user}
    finally:
        if data.exists():
            subprocess.run(
                as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True, timeout=60
            )
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def running_redis(port: int | None = None) -> Iterator[dict[str, str]]:
    """A Redis without persistence; yields host and port."""
    binary = shutil.which("redis-server")
    if not binary:
        raise ServiceError(f"redis-server is not installed; {FIX}")
    workdir = Path(tempfile.mkdtemp(prefix="tthc-redis-"))
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise ServiceError(f"redis-server did not come up on port {port} within 20 s") from None
                time.sleep(0.1)
        yield {"host": "127.0.0.1", "port": str(port)}
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
