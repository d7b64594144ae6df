"""assistant/rasa_entry.py: Rasa's CLI with CPU fixes that must not change Rasa's behaviour."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from jsonschema import ValidationError  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered  # noqa: E402

from assistant import rasa_entry  # noqa: E402
from store_support import PROJECT_ROOT  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def installed():
    rasa_entry.install()


def remote_action() -> RemoteAction:
    return RemoteAction("action_answer_procedure", None)


def test_action_responses_are_still_validated():
    good = {"events": [{"event": "slot", "name": "procedure_code", "value": "1.001"}],
            "responses": [{"text": "Dạ, hồ sơ gồm …"}]}
    assert remote_action()._validate_action_result(good)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        remote_action()._validate_action_result({"events": "not a list", "responses": []})


def test_events_are_resolved_as_rasa_does():
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("user") is UserUttered  # the cached path
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=ActionExecuted) is ActionExecuted
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    restored = Event.from_parameters({"event": "slot", "name": "procedure_code", "value": "1.001"})
    assert restored == SlotSet("procedure_code", "1.001")


def test_runs_rasas_own_cli():
    result = subprocess.run([sys.executable, "-m", "assistant.rasa_entry", "--version"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120, env={"RASA_TELEMETRY_ENABLED": "false",
                                                                               "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-500:]
    assert "Rasa Version" in result.stdout and "3.6" in result.stdout


def test_sqlite_tracker_store_keeps_its_connection(tmp_path):
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy.pool import QueuePool

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    assert isinstance(store.engine.pool, QueuePool)
    tracker = DialogueStateTracker.from_events("citizen", [UserUttered("làm căn cước cần gì")])
    asyncio.run(store.save(tracker))
    connection = store.engine.pool._pool.queue[0].dbapi_connection
    for _ in range(3):  # loads and saves reuse the one connection instead of reconnecting
        loaded = asyncio.run(store.retrieve("citizen"))
        loaded.update(UserUttered("còn lệ phí?"))
        asyncio.run(store.save(loaded))
    assert store.engine.pool.checkedin() == 1
    assert store.engine.pool._pool.queue[0].dbapi_connection is connection
    assert [e.text for e in asyncio.run(store.retrieve("citizen")).events if isinstance(e, UserUttered)] == \
        ["làm căn cước cần gì"] + ["còn lệ phí?"] * 3


def test_action_calls_carry_the_latest_events_and_the_whole_state():
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    domain = Domain.from_yaml('version: "3.1"\nslots:\n  procedure_code:\n    type: text\n'
                              '    mappings: [{type: custom}]\n')
    events = [SlotSet("procedure_code", "1.001234")]
    for turn in range(40):
        events += [ActionExecuted("action_listen"), UserUttered(f"câu hỏi {turn}"),
                   ActionExecuted("action_answer_procedure")]
    tracker = DialogueStateTracker.from_events("citizen", events, domain.slots)
    call = remote_action()._action_call_format(tracker, domain)
    full = tracker.current_state(EventVerbosity.ALL)
    assert len(full["events"]) > rasa_entry.ACTION_CALL_EVENTS
    assert call["tracker"]["events"] == full["events"][-rasa_entry.ACTION_CALL_EVENTS:]
    assert {k: v for k, v in call["tracker"].items() if k != "events"} == \
        {k: v for k, v in full.items() if k != "events"}
    assert call["tracker"]["slots"]["procedure_code"] == "1.001234"  # set before the window, still sent
    assert call["next_action"] == "action_answer_procedure" and call["sender_id"] == "citizen"
    assert call["domain"] == domain.as_dict()

    short = DialogueStateTracker.from_events("citizen", events[:7], domain.slots)
    assert remote_action()._action_call_format(short, domain)["tracker"] == short.current_state(EventVerbosity.ALL)
