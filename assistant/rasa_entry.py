"""`rasa` with fixes for the per-message cost of Rasa Open Source 3.6 (runs in .venv-rasa).

`tthc up` starts the Rasa server as `python -m assistant.rasa_entry run …`: the same arguments and
behaviour as the `rasa` command, after `install()` replaced the hot spots a profile of the chat path
under load showed (py-spy on a Rasa worker, scripts/load_test.py; docs/benchmarks.md):

- Every custom-action response is checked with `jsonschema.validate`, which first re-validates the
  constant response schema against its meta-schema: about 14 % of the Rasa process's CPU. Here the
  validator is built once; responses are validated exactly as before, with Rasa's error message.
- Every stored event's class is found by walking all `Event` subclasses, for each event each time a
  conversation is loaded: cached by type name (misses still take Rasa's own path).
- SQLite tracker-store commits wait for no fsync (synchronous=NORMAL on the WAL file, see below).
- SQLite tracker-store connections stay open between messages instead of one per database session.
- Action calls carry the conversation's last ACTION_CALL_EVENTS events instead of the whole session.
"""
from __future__ import annotations

import sys
from typing import Any, Optional, Type

_installed = False

# Events sent with each custom-action call: about 17 turns. The actions look back at most 10 messages
# (assistant/actions/support.py); slots, the latest message and the active loop are sent in full anyway.
ACTION_CALL_EVENTS = 120


def _install_response_validator() -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result


def _install_event_class_cache() -> None:
    from rasa.shared.core.events import Event

    rasa_resolve = Event.resolve_by_type
    known: dict[str, Type[Event]] = {}

    def resolve_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
        event_class = known.get(type_name)
        if event_class is None:
            event_class = rasa_resolve(type_name, default)
            if event_class is not None and event_class is not default:
                known[type_name] = event_class
        return event_class

    Event.resolve_by_type = staticmethod(resolve_by_type)


def _install_sqlite_durability() -> None:
    """SQLite connections (the tracker store) commit with synchronous=NORMAL.

    The launcher puts the tracker file in WAL mode, where NORMAL survives a crash of any process and
    loses at most the last commits on a power cut, instead of an fsync per commit that blocks the
    worker's event loop while it waits for the disk."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _normal_sync(dbapi_connection: Any, connection_record: Any) -> None:
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _install_sqlite_connection_pool() -> None:
    """A file-based SQLite tracker store keeps its connections open (a QueuePool).

    SQLAlchemy 1.4 gives a file-based SQLite database no pool, so Rasa opened and closed a connection
    for every load and save of a conversation; each close of the last connection checkpoints the WAL
    file and each open reads the schema again: about 7 % of a Rasa worker's busy time (py-spy under
    scripts/load_test.py). A worker runs one message at a time on its event loop, so a pooled
    connection is never shared at once; `check_same_thread` is off because SQLAlchemy may hand it to
    another thread later (sqlite3 connections are safe across threads when not used concurrently)."""
    import rasa.core.tracker_store as tracker_store
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import QueuePool

    rasa_engine_kwargs = tracker_store.create_engine_kwargs

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        kwargs = rasa_engine_kwargs(url)
        parsed = make_url(str(url)) if isinstance(url, str) else url
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            kwargs = {**kwargs, "poolclass": QueuePool, "connect_args": {"check_same_thread": False}}
        return kwargs

    tracker_store.create_engine_kwargs = create_engine_kwargs


def _install_action_call_event_window() -> None:
    """Custom-action calls send the session's last ACTION_CALL_EVENTS events, not all of them.

    Rasa serialises every event of the session into each action call, and the app server parses it
    again: at 40 turns that is ~175 KB per call, a cost that grows with every turn of a conversation.
    Everything else in the call is as Rasa builds it (`RemoteAction._action_call_format`): the tracker
    state's slots, latest message, active loop and latest action, and the domain."""
    import itertools

    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.trackers import EventVerbosity

    def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        state = tracker.current_state(EventVerbosity.NONE)
        first = max(0, len(tracker.events) - ACTION_CALL_EVENTS)
        state["events"] = [event.as_dict() for event in itertools.islice(tracker.events, first, None)]
        result = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state,
                  "version": rasa.__version__}
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain.as_dict()
        return result

    RemoteAction._action_call_format = _action_call_format


def install() -> None:
    """Apply the fixes once (idempotent)."""
    global _installed
    if not _installed:
        _install_response_validator()
        _install_event_class_cache()
        _install_sqlite_durability()
        _install_sqlite_connection_pool()
        _install_action_call_event_window()
        _installed = True


def main() -> int:
    from rasa.__main__ import main as rasa_main

    install()
    sys.argv[0] = "rasa"
    return rasa_main()


if __name__ == "__main__":
    sys.exit(main())
