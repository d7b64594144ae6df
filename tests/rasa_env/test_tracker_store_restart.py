"""The SQLite tracker store from endpoints.yml keeps a conversation across a Rasa restart:
a tracker saved by one store instance is read back, slots and events intact, by a new instance
opened on the same file (what a restarted `rasa run` does)."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from rasa.core.tracker_store import SQLTrackerStore, TrackerStore  # noqa: E402
from rasa.shared.core.events import UserUttered  # noqa: E402
from store_support import DOMAIN, endpoint_config, endpoints_env, tracker_with_context  # noqa: E402


@pytest.fixture
def tracker_db(tmp_path, monkeypatch):
    endpoints_env(monkeypatch, tmp_path)
    return tmp_path / "trackers.db"


def open_store() -> TrackerStore:
    config = endpoint_config("endpoints.yml", "tracker_store")
    assert config is not None, "endpoints.yml has no tracker_store section"
    assert "${" not in str(config.kwargs.get("db")), (
        "endpoints.yml: write ${TTHC_TRACKER_DB} unquoted; Rasa expands env vars only in plain YAML scalars"
    )
    return TrackerStore.create(config, domain=DOMAIN)


def test_conversation_survives_reopening_the_store(tracker_db):
    first = open_store()
    assert isinstance(first, SQLTrackerStore)
    asyncio.run(first.save(tracker_with_context("citizen-1")))
    first.engine.dispose()  # the old process is gone

    second = open_store()
    restored = asyncio.run(second.retrieve("citizen-1"))
    assert restored is not None
    assert restored.get_slot("procedure_code") == "1.001234"
    assert restored.latest_message.text == "làm căn cước cần giấy tờ gì"
    assert [e.type_name for e in restored.events][:3] == ["action", "user", "slot"]

    # The follow-up after the restart is appended to the same conversation.
    restored.update(UserUttered("còn lệ phí thì sao?", intent={"name": "ask_fee", "confidence": 0.9}))
    asyncio.run(second.save(restored))
    again = asyncio.run(open_store().retrieve("citizen-1"))
    assert again.get_slot("procedure_code") == "1.001234"
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == [
        "làm căn cước cần giấy tờ gì",
        "còn lệ phí thì sao?",
    ]
    assert tracker_db.stat().st_size > 0


def test_unknown_sender_has_no_tracker(tracker_db):
    assert asyncio.run(open_store().retrieve("nobody")) is None
