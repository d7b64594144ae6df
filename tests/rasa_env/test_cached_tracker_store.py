"""assistant.rasa_process.stores.CachedSQLTrackerStore: Rasa's SQL store that reuses a worker's saved trackers
only while the database holds nothing newer, so every load still returns what the database says."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from rasa.core.tracker_store import SQLTrackerStore, TrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import BotUttered, UserUttered  # noqa: E402
from store_support import DOMAIN, endpoint_config, endpoints_env, tracker_with_context  # noqa: E402

from assistant.rasa_process.stores import CachedSQLTrackerStore  # noqa: E402


def run(coroutine):
    return asyncio.run(coroutine)


def texts(tracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))]


@pytest.fixture
def database(tmp_path):
    return str(tmp_path / "trackers.db")


@pytest.fixture
def database_reads(monkeypatch):
    """Counts the loads that read and replay events (Rasa's own retrieve)."""
    reads = []
    rasa_retrieve = SQLTrackerStore.retrieve

    async def counting_retrieve(self, sender_id):
        reads.append(sender_id)
        return await rasa_retrieve(self, sender_id)

    monkeypatch.setattr(SQLTrackerStore, "retrieve", counting_retrieve)
    return reads


def store(database: str, **kwargs) -> CachedSQLTrackerStore:
    return CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=database, **kwargs)


def test_next_message_reuses_the_saved_tracker(database, database_reads):
    worker = store(database)
    tracker = tracker_with_context("citizen")
    run(worker.save(tracker))
    loaded = run(worker.retrieve("citizen"))
    assert loaded is tracker and database_reads == []
    loaded.update(UserUttered("còn lệ phí thì sao?"))
    run(worker.save(loaded))
    # what was stored is complete: a fresh process reads the same conversation
    assert texts(run(store(database).retrieve("citizen"))) == texts(loaded)


def test_a_message_handled_by_another_worker_is_read_from_the_database(database, database_reads):
    first, second = store(database), store(database)
    run(first.save(tracker_with_context("citizen")))
    elsewhere = run(second.retrieve("citizen"))
    elsewhere.update(UserUttered("nộp ở đâu?"))
    run(second.save(elsewhere))
    assert texts(run(first.retrieve("citizen")))[-1] == "nộp ở đâu?"
    assert database_reads == ["citizen", "citizen"]


def test_events_added_after_the_save_are_not_handed_out(database):
    worker = store(database)
    tracker = tracker_with_context("citizen")
    run(worker.save(tracker))
    tracker.update(UserUttered("tin nhắn chưa lưu"))  # e.g. a message whose handling then failed
    assert "tin nhắn chưa lưu" not in texts(run(worker.retrieve("citizen")))


def test_a_saved_tracker_is_handed_out_once(database, database_reads):
    worker = store(database)
    tracker = tracker_with_context("citizen")
    run(worker.save(tracker))
    assert run(worker.retrieve("citizen")) is tracker
    again = run(worker.retrieve("citizen"))
    assert again is not tracker and texts(again) == texts(tracker) and database_reads == ["citizen"]


def test_remembers_at_most_cache_size_conversations(database, database_reads):
    worker = store(database, cache_size=2)
    for sender in ("a", "b", "c"):
        run(worker.save(tracker_with_context(sender)))
    for sender in ("a", "b", "c"):
        assert run(worker.retrieve(sender)) is not None
    assert database_reads == ["a"]


def test_a_new_domain_forgets_remembered_trackers(database, database_reads):
    worker = store(database)
    run(worker.save(tracker_with_context("citizen")))
    worker.domain = Domain.empty()
    run(worker.retrieve("citizen"))
    assert database_reads == ["citizen"]


def test_unknown_conversation_is_none(database):
    assert run(store(database).retrieve("nobody")) is None


def test_endpoints_yml_uses_it(monkeypatch, tmp_path):
    endpoints_env(monkeypatch, tmp_path)
    created = TrackerStore.create(endpoint_config("endpoints.yml", "tracker_store"), DOMAIN)
    assert isinstance(created, CachedSQLTrackerStore) and created.cache_size == 500
