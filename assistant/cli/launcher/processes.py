"""Start the app server and the Rasa server as child processes, wait until ready, stop them cleanly."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from assistant.cli.launcher.rasa_model import rasa_environment, rasa_server_command
from assistant.core import storage
from assistant.core.errors import SetupError
from assistant.core.ratelimit import RATE_LIMIT_DB_ENV, REDIS_PASSWORD_ENV
from assistant.core.settings import ACTION_TOKEN_ENV, ADMIN_TOKEN_ENV, PROJECT_ROOT, Settings, configured_secret
from connectors.zalo.config import zalo_env_defaults


def ensure_port_free(host: str, port: int, what: str, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise SetupError(
                f"port {port} on {host} is in use, so the {what} cannot start; stop what uses it "
                f"or set {setting}=<another port>"
            ) from None


_generated_action_token = ""

# The readiness check of the Rasa server: the web chat channel's status route (see rasa_server).
RASA_READY_PATH = "/webhooks/rest/"


def action_token(settings: Settings) -> str:
    """The secret Rasa sends with each action call: TTHC_ACTION_TOKEN or settings.local.yml, else one
    generated for this launcher run (both servers get it from here; it is never printed or stored)."""
    global _generated_action_token
    configured = configured_secret(ACTION_TOKEN_ENV, settings.security.action_token)
    if configured:
        return configured
    if not _generated_action_token:
        _generated_action_token = secrets.token_urlsafe(32)
    return _generated_action_token


def endpoints_file(settings: Settings) -> str:
    """Rasa's endpoints: SQLite stores on one machine, PostgreSQL + Redis on the scale-out profile."""
    return "endpoints.scale-out.yml" if settings.deployment.scale_out else "endpoints.yml"


def action_endpoint_url(settings: Settings) -> str:
    return settings.deployment.action_endpoint_url or f"{settings.server.app_url}/webhook"


def scale_out_env(settings: Settings) -> dict[str, str]:
    """What endpoints.scale-out.yml reads, and where the Zalo store and the rate limits live then."""
    deployment = settings.deployment
    return {
        "TTHC_PG_HOST": deployment.postgres_host,
        "TTHC_PG_PORT": str(deployment.postgres_port),
        "TTHC_PG_DB": deployment.postgres_db,
        "TTHC_PG_USER": deployment.postgres_user,
        storage.POSTGRES_PASSWORD_ENV: os.environ.get(storage.POSTGRES_PASSWORD_ENV, ""),
        "TTHC_REDIS_HOST": deployment.redis_host,
        "TTHC_REDIS_PORT": str(deployment.redis_port),
        "TTHC_REDIS_DB": str(deployment.redis_db),
        REDIS_PASSWORD_ENV: os.environ.get(REDIS_PASSWORD_ENV, ""),
        "TTHC_ZALO_OUTBOX": str(settings.zalo_store),
        RATE_LIMIT_DB_ENV: deployment.redis_url,
    }


def ensure_data_dir_writable(settings: Settings) -> None:
    """Both servers write their databases and logs in catalog.data_dir (var/): one line naming the fix
    before anything starts, instead of a traceback here or in a server that just started."""
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SetupError(
            f"{data_dir} is not a writable directory ({exc.strerror or exc}); the servers keep their databases "
            "and logs there: give the service user write access (e.g. chown -R tthc: "
            f"{data_dir}) or set TTHC_CATALOG__DATA_DIR to a writable directory"
        ) from None


def check_shared_services(settings: Settings) -> None:
    """On the scale-out profile, PostgreSQL and Redis must answer before anything starts."""
    if not settings.deployment.scale_out:
        return
    deployment = settings.deployment
    fix = (
        "start it, or set TTHC_DEPLOYMENT__POSTGRES_HOST/_PORT/_DB/_USER and TTHC_PG_PASSWORD "
        '(docs/deploy.md, "Scale-out")'
    )
    try:
        database = storage.connect(settings.app_database)
        database.execute("SELECT 1")
        database.close()
    except storage.ERRORS as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SetupError(
            f"the scale-out profile cannot reach PostgreSQL at {storage.describe(settings.app_database)} "
            f"({reason}); {fix}"
        ) from None
    import redis

    try:
        redis.Redis.from_url(
            deployment.redis_url,
            password=os.environ.get(REDIS_PASSWORD_ENV) or None,
            socket_connect_timeout=5,
            socket_timeout=5,
        ).ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        raise SetupError(
            f"the scale-out profile cannot reach Redis at {deployment.redis_url} ({exc}); start it, "
            "or set TTHC_DEPLOYMENT__REDIS_HOST/_PORT/_DB and TTHC_REDIS_PASSWORD "
            '(docs/deploy.md, "Scale-out")'
        ) from None


# Rasa's conversation lock: a ticket in the lock store (Redis on scale-out, var/rasa_locks.db on one VM) that
# expires after TICKET_LOCK_LIFETIME seconds (Rasa's documented variable, read once at import; Rasa's default
# is 60). A Rasa killed in the middle of a turn never finishes its ticket, and the conversation's next message,
# on any node, waits until the ticket expires: 60 s is longer than any client waits (the web chat widget 20 s,
# the load test 10 s). 6 s is above the longest turn measured under the 50-user load through nginx on this
# project's 2-core machine (3.96 s at load average 5-7, 5.6 s at 5-12; docs/benchmarks.md) and leaves a 10 s
# client 3 s for the turn itself after the wait (Rasa retries the lock every second). A turn that runs longer
# than this keeps running; only a second message of the same conversation arriving meanwhile (Zalo: two quick
# messages) is then handled beside it instead of after it. The project's lock stores serve a message whose
# own ticket expired while it waited (assistant/rasa_process/stores.py, ServeWhenNoneAhead; docs/deploy.md,
# "When a node dies in the middle of a message").
LOCK_LIFETIME_ENV = "TICKET_LOCK_LIFETIME"
DEFAULT_LOCK_LIFETIME_S = 6


def lock_lifetime() -> str:
    """TICKET_LOCK_LIFETIME from the environment (a whole number of seconds, as Rasa reads it), else 6."""
    value = os.environ.get(LOCK_LIFETIME_ENV, "").strip()
    if not value:
        return str(DEFAULT_LOCK_LIFETIME_S)
    if not value.isdigit() or int(value) < 1:
        raise SetupError(
            f"{LOCK_LIFETIME_ENV}={value!r} is not a whole number of seconds; Rasa reads it with int(): set it to "
            f"e.g. {DEFAULT_LOCK_LIFETIME_S}, or remove it for the default"
        )
    return str(int(value))


def rasa_server_env(settings: Settings) -> dict[str, str]:
    """Values that endpoints.yml (or endpoints.scale-out.yml) and credentials.yml read through ${VAR}."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = rasa_environment(
        {
            **zalo_env_defaults(),  # unset ZALO_* -> "": Rasa refuses unset ${VAR}; the channel then stays off
            "TTHC_ACTION_ENDPOINT_URL": action_endpoint_url(settings),
            ACTION_TOKEN_ENV: action_token(settings),
            "TTHC_TRACKER_DB": str(data_dir / "rasa_tracker.db"),
            "TTHC_LOCK_DB": str(data_dir / "rasa_locks.db"),
            "SANIC_WORKERS": str(max(1, settings.server.rasa_workers)),
            # A kept-alive connection stays with the worker that accepted it, so one busy client (or
            # proxy) loads one worker; a connection per request lets an idle worker take it (50-user
            # load test, one run each: 26.7 -> 32.4 replies/s; runs vary by several replies/s).
            "SANIC_KEEP_ALIVE": "false",
            "TTHC_ZALO_OUTBOX": str(settings.zalo_outbox_path),
            # Rate-limit buckets of the chat and Zalo channels, shared by all Rasa workers.
            RATE_LIMIT_DB_ENV: str(data_dir / "rate_limits.sqlite"),
            # How long a conversation's lock outlives a Rasa that died holding it (above).
            LOCK_LIFETIME_ENV: lock_lifetime(),
            # Several nodes: PostgreSQL and Redis instead of the files above (same speed-ups otherwise).
            **(scale_out_env(settings) if settings.deployment.scale_out else {}),
        }
    )
    env.pop(ADMIN_TOKEN_ENV, None)  # Rasa has no admin actions
    return env


@dataclass
class Server:
    name: str
    command: list[str]
    ready_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # A new process group, so Ctrl-C reaches us first and we stop children in order.
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def is_ready(self) -> bool:
        try:
            return httpx.get(self.ready_url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


APP_MALLOC_ARENAS = "2"  # glibc malloc arenas of the app server (MALLOC_ARENA_MAX)


def app_server(settings: Settings, log_dir: Path) -> Server:
    return Server(
        name="app server",
        command=[
            sys.executable,
            "-m",
            "uvicorn",
            "assistant.app.server.app:create_app",
            "--factory",
            "--host",
            settings.server.host,
            "--port",
            str(settings.server.app_port),
            "--no-access-log",
        ],
        ready_url=f"{settings.server.app_url}/health",
        # Passive OpenMP waits: busy-spinning threads made 2-thread queries ~15x slower under load.
        # One BLAS thread: the per-question matrix-vector product over the catalogue is tiny, and a
        # second thread only waits for a busy core under load.
        # Two glibc malloc arenas instead of 16 (8 per core): searches run in up to 40 worker threads, and each
        # thread's own arena kept its freed e5 activations; measured in docs/benchmarks.md ("Issue 13, the app
        # server's memory on the full catalogue"). MALLOC_ARENA_MAX in the environment wins.
        env=dict(
            os.environ,
            MALLOC_ARENA_MAX=os.environ.get("MALLOC_ARENA_MAX", APP_MALLOC_ARENAS),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            OMP_WAIT_POLICY="PASSIVE",
            OPENBLAS_NUM_THREADS="1",
            **{ACTION_TOKEN_ENV: action_token(settings)},
        ),
        log_path=log_dir / "app.log",
    )


def chat_origins(settings: Settings) -> list[str]:
    """Origins whose pages may call Rasa's REST channel: the configured ones and our own chat page."""
    return list(dict.fromkeys([*settings.server.allowed_origins, settings.server.app_url]))


def use_write_ahead_log(db_path: Path) -> None:
    """Switch a SQLite file to WAL (persistent), so Rasa's workers read while another one writes."""
    connection = sqlite3.connect(db_path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def rasa_server(settings: Settings, model: Path, log_dir: Path) -> Server:
    """Rasa without its HTTP API: the port carries only the input channels (web chat, Zalo).

    With `--enable-api` anyone reaching the port could read and write conversations and unload or
    replace the model; nothing here needs the API, so it stays off (docs/security.md)."""
    env = rasa_server_env(settings)
    if not settings.deployment.scale_out:
        use_write_ahead_log(Path(env["TTHC_TRACKER_DB"]))
    return Server(
        name="Rasa server",
        command=[
            *rasa_server_command(),
            "run",
            "--model",
            str(model),
            "--interface",
            settings.server.host,
            "--port",
            str(settings.server.rasa_port),
            "--endpoints",
            endpoints_file(settings),
            "--credentials",
            "credentials.yml",
            "--cors",
            *chat_origins(settings),
        ],
        ready_url=f"{settings.server.rasa_url}{RASA_READY_PATH}",
        env=env,
        log_path=log_dir / "rasa.log",
    )


def start_all(servers: list[Server], timeout: float = 300) -> None:
    """Start every server and wait until all answer; on failure stop them and say where the log is.

    The default leaves room for a busy 2-core machine: each Rasa worker loads TensorFlow and the model."""
    for server in servers:
        server.start()
    deadline = time.monotonic() + timeout
    pending = list(servers)
    while pending:
        for server in list(pending):
            if server.process.poll() is not None:
                stop_all(servers)
                raise SetupError(f"the {server.name} exited at start-up; see {server.log_path}")
            if server.is_ready():
                pending.remove(server)
        if pending and time.monotonic() > deadline:
            stop_all(servers)
            names = ", ".join(s.name for s in pending)
            raise SetupError(f"{names} not ready after {timeout:.0f} s; see the logs in {servers[0].log_path.parent}")
        time.sleep(0.5)


def stop_all(servers: list[Server]) -> None:
    for server in reversed(servers):
        server.stop()


def wait_until_one_exits(servers: list[Server]) -> Server:
    while True:
        for server in servers:
            if server.process.poll() is not None:
                return server
        time.sleep(0.5)
