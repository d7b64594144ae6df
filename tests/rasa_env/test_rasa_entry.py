"""assistant/rasa_process/entry.py: Rasa's CLI with CPU fixes that must not change Rasa's behaviour."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from jsonschema import ValidationError  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered  # noqa: E402
from store_support import PROJECT_ROOT  # noqa: E402

from assistant.rasa_process import entry as rasa_entry  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def installed():
    rasa_entry.install()


def remote_action() -> RemoteAction:
    return RemoteAction("action_answer_procedure", None)


def test_action_responses_are_still_validated():
    good = {
        "events": [{"event": "slot", "name": "procedure_code", "value": "1.001"}],
        "responses": [{"text": "Dạ, hồ sơ gồm …"}],
    }
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
    result = subprocess.run(
        [sys.executable, "-m", "assistant.rasa_process.entry", "--version"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"RASA_TELEMETRY_ENABLED": "false", "PATH": "/usr/bin:/bin"},
    )
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
    assert [e.text for e in asyncio.run(store.retrieve("citizen")).events if isinstance(e, UserUttered)] == [
        "làm căn cước cần gì"
    ] + ["còn lệ phí?"] * 3


def test_action_calls_carry_the_latest_events_and_the_whole_state():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    domain = Domain.from_yaml(
        'version: "3.1"\nslots:\n  procedure_code:\n    type: text\n    mappings: [{type: custom}]\n'
    )
    events = [SlotSet("procedure_code", "1.001234")]
    for turn in range(40):
        events += [
            ActionExecuted("action_listen"),
            UserUttered(f"câu hỏi {turn}"),
            ActionExecuted("action_answer_procedure"),
        ]
    tracker = DialogueStateTracker.from_events("citizen", events, domain.slots)
    call = remote_action()._action_call_format(tracker, domain)
    full = tracker.current_state(EventVerbosity.ALL)
    assert len(full["events"]) > rasa_entry.ACTION_CALL_EVENTS
    assert call["tracker"]["events"] == full["events"][-rasa_entry.ACTION_CALL_EVENTS :]
    assert {k: v for k, v in call["tracker"].items() if k != "events"} == {
        k: v for k, v in full.items() if k != "events"
    }
    assert call["tracker"]["slots"]["procedure_code"] == "1.001234"  # set before the window, still sent
    assert call["next_action"] == "action_answer_procedure" and call["sender_id"] == "citizen"
    assert call["domain"] == domain.as_dict()

    short = DialogueStateTracker.from_events("citizen", events[:7], domain.slots)
    assert remote_action()._action_call_format(short, domain)["tracker"] == short.current_state(EventVerbosity.ALL)


# Each patch is checked against the Rasa version it was read in (issue 16): on that version all apply, on
# another none does and each says so in one warning line.


def test_the_lock_pins_the_rasa_the_patches_were_written_for():
    lock = (PROJECT_ROOT / "requirements" / "rasa.lock").read_text(encoding="utf-8")
    assert f"rasa=={rasa_entry.RASA_VERSION}\n" in lock
    assert rasa_entry.installed_rasa_version() == rasa_entry.RASA_VERSION
    assert {patch.written_for for patch in rasa_entry.PATCHES} == {rasa_entry.RASA_VERSION}


def test_every_patch_applies_on_the_rasa_it_was_written_for():
    import rasa.core.tracker_store as tracker_store
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    assert rasa_entry.install() == [patch.name for patch in rasa_entry.PATCHES]
    ours = "assistant.rasa_process.entry"
    assert RemoteAction._validate_action_result.__module__ == ours
    assert RemoteAction._action_call_format.__module__ == ours
    assert Event.resolve_by_type.__module__ == ours
    assert tracker_store.create_engine_kwargs.__module__ == ours
    assert event.contains(Engine, "connect", rasa_entry._sqlite_normal_sync)


ANOTHER_RASA = """
import json, sys
import rasa
rasa.__version__ = "3.7.0"
import rasa.core.tracker_store as tracker_store
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from sqlalchemy import event
from sqlalchemy.engine import Engine

def targets():
    return [RemoteAction.__dict__["_validate_action_result"], RemoteAction.__dict__["_action_call_format"],
            Event.__dict__["resolve_by_type"], tracker_store.create_engine_kwargs]

from assistant.rasa_process import entry as rasa_entry
before = targets()
applied = rasa_entry.install()
print(json.dumps({"applied": applied, "unchanged": [a is b for a, b in zip(before, targets())],
                  "listener": event.contains(Engine, "connect", rasa_entry._sqlite_normal_sync)}))
"""


def _run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"RASA_TELEMETRY_ENABLED": "false", "PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "ignore"},
    )


def test_on_another_rasa_version_no_patch_applies_and_each_warns_in_one_line():
    import json

    result = _run_python(ANOTHER_RASA)
    assert result.returncode == 0, result.stderr[-800:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"applied": [], "unchanged": [True] * 4, "listener": False}
    warnings = [line for line in result.stderr.splitlines() if "not applying the" in line]
    assert len(warnings) == len(rasa_entry.PATCHES)
    for patch, line in zip(rasa_entry.PATCHES, warnings, strict=True):
        assert f"not applying the {patch.name} patch (written for Rasa 3.6.21, this is Rasa 3.7.0)" in line
        assert patch.target in line and "requirements/rasa.lock" in line


def test_tthc_rasa_refuses_another_rasa_version_with_one_line():
    code = (
        "import sys, rasa\nrasa.__version__ = '3.7.0'\nfrom assistant.rasa_process import entry as rasa_entry\n"
        "sys.argv = ['rasa_entry', '--project-defaults', 'data', 'validate']\nsys.exit(rasa_entry.main())\n"
    )
    result = _run_python(code)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("tthc: error:")]
    assert len(errors) == 1 and "3.7.0" in errors[0] and "requirements/rasa.lock" in errors[0]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train"], {"data": ["nlu_data"], "out": "models/rasa"}),
        (["train", "nlu"], {"nlu": "nlu_data", "out": "models/rasa"}),
        (["train", "core"], {"stories": "nlu_data", "out": "models/rasa"}),
        (["shell"], {"model": "models/rasa"}),
        (["run"], {"model": "models/rasa"}),
        (["test"], {"model": "models/rasa", "nlu": "nlu_data", "stories": "tests"}),
        (["test", "core"], {"model": ["models/rasa"], "stories": "tests"}),
        (["test", "nlu"], {"model": "models/rasa", "nlu": "nlu_data"}),
        (["interactive"], {"data": ["nlu_data"], "out": "models/rasa"}),
        (["data", "validate"], {"data": "nlu_data"}),
        (["data", "validate", "stories"], {"data": "nlu_data"}),
        # what the command line says wins, in every spelling argparse accepts
        (["train", "--data", "a", "b", "--out=/tmp/m"], {"data": ["a", "b"], "out": "/tmp/m"}),
        (["shell", "-m", "x.tar.gz"], {"model": "x.tar.gz"}),
        (["test", "-s", "t.yml", "-u", "n"], {"stories": "t.yml", "nlu": "n"}),
    ],
)
def test_project_defaults_replace_rasas_default_paths_only(argv, expected):
    from rasa.__main__ import create_argument_parser

    parsed = vars(rasa_entry.use_project_paths(create_argument_parser()).parse_args(argv))
    assert {key: parsed[key] for key in expected} == expected
    rasas = vars(create_argument_parser().parse_args(argv))
    others = set(rasas) - {"data", "nlu", "stories", "model", "out", "conversation_id", "func"}  # (new per parser)
    assert {key: parsed[key] for key in others} == {key: rasas[key] for key in others}
