"""endpoints.scale-out.yml against real servers: Rasa's SQLTrackerStore on PostgreSQL and
RedisLockStore on Redis, as two Rasa replicas would share them.

Starts a throw-away `postgres` and `redis-server` (Debian packages `postgresql`, `redis-server`)
on free 127.0.0.1 ports in 5500–5599, in a temporary directory (tests/support/shared_services.py);
fails naming scripts/ensure_test_packages.sh when the binaries are not installed.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from rasa.core.lock_store import LockStore, RedisLockStore  # noqa: E402
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore  # noqa: E402
from store_support import DOMAIN, endpoint_config, tracker_with_context  # noqa: E402

from tests.support.ports import NoFreePort, free_port  # noqa: E402
from tests.support.shared_services import ServiceError, running_postgres, running_redis  # noqa: E402

PORT_RANGE = range(5500, 5600)


def server_port() -> int:
    try:
        return free_port(PORT_RANGE)
    except NoFreePort as exc:
        pytest.skip(f"{exc} for the test servers")


@pytest.fixture(scope="module")
def postgres_server():
    try:
        with running_postgres("tthc_trackers", port=server_port()) as pg:
            yield {
                "TTHC_PG_HOST": pg["host"],
                "TTHC_PG_PORT": pg["port"],
                "TTHC_PG_DB": pg["db"],
                "TTHC_PG_USER": pg["user"],
                "TTHC_PG_PASSWORD": "",
            }
    except ServiceError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def redis_server():
    try:
        with running_redis(port=server_port()) as redis:
            yield {
                "TTHC_REDIS_HOST": redis["host"],
                "TTHC_REDIS_PORT": redis["port"],
                "TTHC_REDIS_DB": "1",
                "TTHC_REDIS_PASSWORD": "",
            }
    except ServiceError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def scale_out_env(monkeypatch, postgres_server, redis_server):
    for name, value in {
        **postgres_server,
        **redis_server,
        "TTHC_ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook",
        "TTHC_ACTION_TOKEN": "test-action-token",
    }.items():
        monkeypatch.setenv(name, value)


def open_tracker_store() -> TrackerStore:
    return TrackerStore.create(endpoint_config("endpoints.scale-out.yml", "tracker_store"), domain=DOMAIN)


def open_lock_store() -> LockStore:
    return LockStore.create(endpoint_config("endpoints.scale-out.yml", "lock_store"))


def test_postgres_tracker_store_shared_by_two_replicas(scale_out_env):
    replica_a, replica_b = open_tracker_store(), open_tracker_store()
    assert isinstance(replica_a, SQLTrackerStore)
    assert replica_a.engine.dialect.name == "postgresql"
    asyncio.run(replica_a.save(tracker_with_context("citizen-pg")))

    restored = asyncio.run(replica_b.retrieve("citizen-pg"))
    assert restored is not None
    assert restored.get_slot("procedure_code") == "1.001234"
    assert restored.latest_message.text == "làm căn cước cần giấy tờ gì"
    assert asyncio.run(replica_b.retrieve("someone-else")) is None


def test_redis_lock_store_serializes_a_conversation_across_replicas(scale_out_env):
    replica_a, replica_b = open_lock_store(), open_lock_store()
    assert isinstance(replica_a, RedisLockStore)

    async def scenario() -> None:
        async with replica_a.lock("citizen-redis", lock_lifetime=30):
            waiting_ticket = replica_b.issue_ticket("citizen-redis", lock_lifetime=30)
            shared = replica_b.get_lock("citizen-redis")
            assert shared is not None and shared.is_locked(waiting_ticket), "replica B must wait for A"
            replica_b.cleanup("citizen-redis", waiting_ticket)
        assert replica_b.get_lock("citizen-redis") is None, "the lock is released for every replica"

    asyncio.run(scenario())


def test_a_replicas_remembered_conversation_gives_way_to_what_another_replica_stored(scale_out_env):
    """The per-worker cache of CachedSQLTrackerStore must never hide a turn another node saved."""
    from rasa.shared.core.events import UserUttered

    from assistant.rasa_process.stores import CachedSQLTrackerStore

    replica_a, replica_b = open_tracker_store(), open_tracker_store()
    assert isinstance(replica_a, CachedSQLTrackerStore)
    asyncio.run(replica_a.save(tracker_with_context("citizen-cache")))  # A remembers its tracker
    on_b = asyncio.run(replica_b.retrieve("citizen-cache"))
    on_b.update(UserUttered("lệ phí bao nhiêu", {"name": "ask_fee", "confidence": 1.0}))
    asyncio.run(replica_b.save(on_b))

    on_a = asyncio.run(replica_a.retrieve("citizen-cache"))
    assert on_a.latest_message.text == "lệ phí bao nhiêu", "replica A served its stale remembered copy"
    assert len(on_a.events) == len(on_b.events)


def postgres_url(env: dict[str, str]) -> str:
    return f"postgresql://{env['TTHC_PG_USER']}@{env['TTHC_PG_HOST']}:{env['TTHC_PG_PORT']}/{env['TTHC_PG_DB']}"


def test_the_zalo_store_on_postgres_is_shared_by_two_instances(postgres_server):
    """Dedupe, outbox claims, leases, buttons and tokens of two Rasa instances in one PostgreSQL."""
    from connectors.zalo.store import ZaloStore

    node_a, node_b = ZaloStore(postgres_url(postgres_server)), ZaloStore(postgres_url(postgres_server))
    node_b.holder = "other-node-" + node_b.holder  # another machine (same pid possible there)
    assert node_a.claim_message("msg-pg-1") is True
    assert node_b.claim_message("msg-pg-1") is False, "a redelivery to the other instance is answered twice"

    for text in ("một", "hai"):
        node_a.enqueue("user-pg", {"text": text}, "down")
    node_a.enqueue("user-pg-2", {"text": "ba"}, "down")
    first = node_a.claim_user_batch(60)
    second = node_b.claim_user_batch(60)
    assert [item.message["text"] for item in first] == ["một", "hai"]
    assert [item.message["text"] for item in second] == ["ba"], "B took A's user or nothing"
    assert node_b.claim_user_batch(60) == [] and node_a.claim_user_batch(60) == []
    for item in first + second:
        (node_a if item in first else node_b).delivered(item.id)
    assert node_a.pending_count() == 0

    assert node_a.try_lease("zalo-token-refresh", 30) is True
    assert node_b.try_lease("zalo-token-refresh", 30) is False
    node_a.release_lease("zalo-token-refresh")
    assert node_b.try_lease("zalo-token-refresh", 30) is True

    node_a.remember_buttons("user-pg", {"Lệ phí": '/ask_fee{"procedure_code":"1.1"}'})
    node_a.remember_buttons("user-pg", {"Lệ phí": '/ask_fee{"procedure_code":"2.2"}'})
    assert node_b.button_payload("user-pg", "Lệ phí") == '/ask_fee{"procedure_code":"2.2"}'
    node_a.save_tokens("access-2", "refresh-2", "seed")
    node_b.save_tokens("access-3", "refresh-3", "seed")
    assert node_a.load_tokens("seed") == ("access-3", "refresh-3")
    created = node_a._db.execute("SELECT created_at FROM outbox LIMIT 1").fetchone()
    assert created is None  # delivered rows are gone


def test_rate_limits_in_redis_are_one_bucket_for_every_instance(redis_server):
    from assistant.core.ratelimit import RedisTokenBucketLimiter, sender_limiter

    url = f"redis://{redis_server['TTHC_REDIS_HOST']}:{redis_server['TTHC_REDIS_PORT']}/{redis_server['TTHC_REDIS_DB']}"
    node_a = sender_limiter(60, 3, "zalo-sender", url)
    node_b = sender_limiter(60, 3, "zalo-sender", url)
    assert isinstance(node_a, RedisTokenBucketLimiter)
    waits = [node_a.acquire("user-1"), node_b.acquire("user-1"), node_a.acquire("user-1"), node_b.acquire("user-1")]
    assert waits[:3] == [0.0, 0.0, 0.0] and 0 < waits[3] <= 1.0, waits  # burst 3 shared, then ~1 s to wait
    assert node_b.acquire("user-2") == 0.0  # another sender has its own bucket


def test_a_dead_replicas_lock_lets_the_next_message_through_once_expired(scale_out_env):
    """Replica A dies holding a conversation; on replica B its next message is served once A's ticket expired,
    even when its own ticket expired within the same retry (Rasa's own wait would never serve it)."""
    from assistant.rasa_process.stores import RedisLockStore as ProjectRedisLockStore

    replica_a, replica_b = open_lock_store(), open_lock_store()
    assert isinstance(replica_b, ProjectRedisLockStore) and replica_b.key_prefix == "tthc:lock:"

    async def scenario() -> None:
        replica_a.issue_ticket("citizen-dead", lock_lifetime=0.3)  # never finished: A was killed
        waiting = replica_b.issue_ticket("citizen-dead", lock_lifetime=0.3)
        assert replica_b.get_lock("citizen-dead").is_locked(waiting)
        lock = await asyncio.wait_for(replica_b._acquire_lock("citizen-dead", waiting, 0.5), 3)
        assert lock is not None
        replica_b.cleanup("citizen-dead", waiting)
        assert replica_b.get_lock("citizen-dead") is None

    asyncio.run(scenario())
