"""assistant.rasa_process.stores.SQLiteLockStore: the lock store endpoints.yml gives Rasa, so several Rasa
worker processes on one machine serve one conversation at a time, in arrival order."""

from __future__ import annotations

import asyncio
import multiprocessing

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from rasa.core.lock_store import LockStore  # noqa: E402
from rasa.core.utils import number_of_sanic_workers  # noqa: E402
from store_support import endpoint_config, endpoints_env  # noqa: E402

from assistant.rasa_process.stores import SQLiteLockStore  # noqa: E402


@pytest.fixture
def lock_db(tmp_path, monkeypatch):
    endpoints_env(monkeypatch, tmp_path)
    return tmp_path / "locks.db"


def test_endpoints_yml_gives_rasa_this_store_and_lets_it_run_several_workers(lock_db, monkeypatch):
    config = endpoint_config("endpoints.yml", "lock_store")
    store = LockStore.create(config)
    assert isinstance(store, SQLiteLockStore) and store.path == lock_db
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert number_of_sanic_workers(config) == 2


def test_tickets_are_served_in_order_across_store_instances(lock_db):
    """Two instances on one file stand for two worker processes."""
    first, second = SQLiteLockStore(db=lock_db), SQLiteLockStore(db=lock_db)
    ticket_a = first.issue_ticket("citizen-1")
    ticket_b = second.issue_ticket("citizen-1")
    assert ticket_b == ticket_a + 1
    assert not second.get_lock("citizen-1").is_locked(ticket_a)
    assert second.get_lock("citizen-1").is_locked(ticket_b)  # waits for the first message
    first.cleanup("citizen-1", ticket_a)
    assert not second.get_lock("citizen-1").is_locked(ticket_b)
    second.cleanup("citizen-1", ticket_b)
    assert first.get_lock("citizen-1") is None  # nobody waiting: the lock row is gone
    assert second.issue_ticket("citizen-2") == 0  # conversations do not share tickets


def test_expired_tickets_do_not_block_a_conversation(lock_db):
    store = SQLiteLockStore(db=lock_db)
    store.issue_ticket("citizen-1", lock_lifetime=-1)  # a worker died holding it
    fresh = store.issue_ticket("citizen-1")
    store.update_lock("citizen-1")
    assert not store.get_lock("citizen-1").is_locked(fresh)


def test_lock_context_serialises_one_conversation(lock_db):
    store = SQLiteLockStore(db=lock_db)
    order: list[str] = []

    async def handle(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with store.lock("citizen-1", wait_time_in_seconds=0.01):
            order.append(f"{name} start")
            await asyncio.sleep(0.05)
            order.append(f"{name} end")

    async def both() -> None:
        await asyncio.gather(handle("first", 0), handle("second", 0.01))

    asyncio.run(both())
    assert order == ["first start", "first end", "second start", "second end"]


def _issue_many(path: str, count: int, queue) -> None:
    store = SQLiteLockStore(db=path)
    queue.put([store.issue_ticket("citizen-1", lock_lifetime=60) for _ in range(count)])


def test_concurrent_processes_never_get_the_same_ticket(lock_db):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_issue_many, args=(str(lock_db), 50, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    tickets = [ticket for _ in workers for ticket in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(tickets) == list(range(150))


def test_missing_db_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="db:"):
        SQLiteLockStore()


def wait_for_lock(store: LockStore, ticket: int, within_s: float, acquire=None) -> bool:
    """Whether the message holding `ticket` of citizen-1 is served within `within_s` (retrying every 0.05 s)."""
    acquire = acquire or store._acquire_lock

    async def attempt() -> bool:
        try:
            await asyncio.wait_for(acquire("citizen-1", ticket, 0.05), within_s)
            return True
        except asyncio.TimeoutError:
            return False

    return asyncio.run(attempt())


def test_a_message_whose_ticket_expired_while_it_waited_is_served_not_left_waiting(lock_db):
    """A Rasa died holding the conversation (its ticket is never finished); the next message's ticket expires
    within the same retry, before the dead one is seen gone. Rasa's own wait never serves it again."""
    import time

    store = SQLiteLockStore(db=lock_db)
    store.issue_ticket("citizen-1", lock_lifetime=0.2)  # the dead Rasa's
    waiting = store.issue_ticket("citizen-1", lock_lifetime=0.2)
    time.sleep(0.3)  # both expired
    assert not wait_for_lock(store, waiting, 1, acquire=lambda *a: LockStore._acquire_lock(store, *a)), (
        "Rasa's wait should hang here; if it no longer does, ServeWhenNoneAhead can go"
    )
    assert wait_for_lock(store, waiting, 1)


def test_a_live_ticket_ahead_still_holds_a_message_whose_own_ticket_expired(lock_db):
    store = SQLiteLockStore(db=lock_db)
    holder = store.issue_ticket("citizen-1", lock_lifetime=30)
    waiting = store.issue_ticket("citizen-1", lock_lifetime=-1)
    assert not wait_for_lock(store, waiting, 0.5)  # the conversation's current message goes on alone
    store.cleanup("citizen-1", holder)
    assert wait_for_lock(store, waiting, 0.5)
