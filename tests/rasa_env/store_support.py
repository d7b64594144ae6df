"""Helpers for the tracker/lock store tests (Rasa env): a small domain, a tracker with context,
and reading the repo's endpoint files exactly as `rasa run` does."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [ask_documents, ask_fee]
slots:
  procedure_code:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
"""
)


def tracker_with_context(sender_id: str) -> DialogueStateTracker:
    """A conversation where the citizen asked about a procedure and the bot remembered it."""
    tracker = DialogueStateTracker(sender_id, DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("làm căn cước cần giấy tờ gì", intent={"name": "ask_documents", "confidence": 0.9}))
    tracker.update(SlotSet("procedure_code", "1.001234"))
    tracker.update(BotUttered("Hồ sơ gồm: tờ khai …"))
    tracker.update(ActionExecuted("action_listen"))
    return tracker


def endpoints_env(monkeypatch, directory: Path) -> None:
    """Set every ${VAR} endpoints.yml reads, with the databases in `directory`."""
    monkeypatch.setenv("TTHC_TRACKER_DB", str(directory / "trackers.db"))
    monkeypatch.setenv("TTHC_LOCK_DB", str(directory / "locks.db"))
    monkeypatch.setenv("TTHC_ACTION_ENDPOINT_URL", "http://127.0.0.1:1/webhook")
    monkeypatch.setenv("TTHC_ACTION_TOKEN", "test-action-token")


def endpoint_config(file_name: str, key: str):
    """The `key` section of a repo endpoints file, with ${VARS} expanded from the environment."""
    return read_endpoint_config(str(PROJECT_ROOT / file_name), key)
