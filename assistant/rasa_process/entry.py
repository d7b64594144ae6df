"""`rasa` with fixes for the per-message cost of Rasa Open Source 3.6 (runs in .venv-rasa).

`tthc up` starts the Rasa server as `python -m assistant.rasa_process.entry run …`: the same arguments and
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
- A trained TensorFlow model (DIET, the response selector) is loaded by restoring its weights into the
  variables its first prediction creates, not by first training it on one example as Rasa does to create
  every variable: that traced training graph and its optimizer state were about half of a Rasa worker's
  memory. Should a prediction variable find no weight in the file, Rasa's own load runs instead.

Each fix was written against the source of one Rasa version, which it names (`PATCHES`). On any other
version it is not applied: one warning line says which and what to do, and Rasa runs unchanged (slower).

`python -m assistant.rasa_process.entry --project-defaults …` (what `tthc rasa …` runs) also makes Rasa's own
defaults the project's: data in nlu_data/, models in models/rasa/ (see `PROJECT_PATHS`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# The Rasa release every patch below was read against (requirements/rasa.lock pins it).
RASA_VERSION = "3.6.21"

# Decided once per process: patch name -> applied.
_decided: dict[str, bool] = {}

# Events sent with each custom-action call: about 17 turns. The actions look back at most 10 messages
# (assistant/app/actions/support.py); slots, the latest message and the active loop are sent in full anyway.
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
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        event_class = known.get(type_name)
        if event_class is None:
            event_class = rasa_resolve(type_name, default)
            if event_class is not None and event_class is not default:
                known[type_name] = event_class
        return event_class

    Event.resolve_by_type = staticmethod(resolve_by_type)


def _sqlite_normal_sync(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _install_sqlite_durability() -> None:
    """SQLite connections (the tracker store) commit with synchronous=NORMAL.

    The launcher puts the tracker file in WAL mode, where NORMAL survives a crash of any process and
    loses at most the last commits on a power cut, instead of an fsync per commit that blocks the
    worker's event loop while it waits for the disk. (A SQLAlchemy listener, not a replaced function;
    version-checked like the others because it relies on how Rasa 3.6 opens its tracker store.)"""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _sqlite_normal_sync)


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
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain.as_dict()
        return result

    RemoteAction._action_call_format = _action_call_format


def _install_model_load_without_training_step() -> None:
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.models import RasaModel

    rasa_load = RasaModel.load.__func__

    def load(
        cls: type[RasaModel],
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode or not predict_data_example:  # training goes on: Rasa's load builds what it needs
            return rasa_load(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )
        config = kwargs.get("config", {})
        model = cls(*args, **kwargs)
        model.compile(
            optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=config.get(RUN_EAGERLY)
        )
        restored = model.load_weights(model_file_name)  # restores each variable as the prediction below creates it
        model.run_inference(predict_data_example)
        try:
            restored.assert_existing_objects_matched()
        except AssertionError as error:
            logger.warning(
                "%s: a prediction variable has no saved weight (%s); loading it as Rasa does", cls.__name__, error
            )
            return rasa_load(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )
        restored.expect_partial()  # the optimizer's saved state is for training, which this model will not do
        return model

    RasaModel.load = classmethod(load)


@dataclass(frozen=True)
class Patch:
    name: str
    target: str  # what it replaces in Rasa: the place to re-read on another Rasa version
    written_for: str  # the Rasa version whose source `target` was read in
    apply: Callable[[], None]


PATCHES: tuple[Patch, ...] = (
    Patch(
        "action-response validator",
        "rasa.core.actions.action.RemoteAction._validate_action_result",
        RASA_VERSION,
        _install_response_validator,
    ),
    Patch(
        "event class cache", "rasa.shared.core.events.Event.resolve_by_type", RASA_VERSION, _install_event_class_cache
    ),
    Patch(
        "SQLite synchronous=NORMAL",
        "rasa.core.tracker_store.SQLTrackerStore's SQLite engine",
        RASA_VERSION,
        _install_sqlite_durability,
    ),
    Patch(
        "SQLite connection pool",
        "rasa.core.tracker_store.create_engine_kwargs",
        RASA_VERSION,
        _install_sqlite_connection_pool,
    ),
    Patch(
        "action-call event window",
        "rasa.core.actions.action.RemoteAction._action_call_format",
        RASA_VERSION,
        _install_action_call_event_window,
    ),
    Patch(
        "model load without a training step",
        "rasa.utils.tensorflow.models.RasaModel.load",
        RASA_VERSION,
        _install_model_load_without_training_step,
    ),
)


def installed_rasa_version() -> str:
    import rasa

    return rasa.__version__


def apply_patch(patch: Patch, rasa_version: str | None = None) -> bool:
    """Apply `patch` if this is the Rasa it was written for; otherwise warn (one line) and leave Rasa as is."""
    rasa_version = rasa_version or installed_rasa_version()
    if rasa_version != patch.written_for:
        logger.warning(
            "assistant.rasa_process.entry: not applying the %s patch (written for Rasa %s, this is Rasa %s): re-read "
            "%s in Rasa %s, adapt the patch and its version in assistant/rasa_process/entry.py PATCHES, "
            "or install requirements/rasa.lock",
            patch.name,
            patch.written_for,
            rasa_version,
            patch.target,
            rasa_version,
        )
        return False
    patch.apply()
    return True


def install() -> list[str]:
    """Apply each fix once (idempotent); returns the names of the fixes applied in this process."""
    for patch in PATCHES:
        if patch.name not in _decided:
            _decided[patch.name] = apply_patch(patch)
    return [name for name, applied in _decided.items() if applied]


# `--project-defaults`: Rasa's default paths -> this project's (`tthc rasa …`). Keys: (argument dest,
# Rasa's default); a default the user overrides on the command line is left alone, as in Rasa.
DATA_DIR = "nlu_data"
MODEL_DIR = "models/rasa"
TEST_STORIES = "tests"  # tests/test_conversations.yml: Rasa reads test stories from files named test_*
PROJECT_PATHS: dict[tuple[str, Any], Any] = {
    ("data", "data"): DATA_DIR,
    ("data", ("data",)): [DATA_DIR],
    ("nlu", "data"): DATA_DIR,
    ("stories", "data"): DATA_DIR,
    ("stories", "."): TEST_STORIES,  # `rasa test` would look for test_*.yml files in the whole project tree
    ("model", "models"): MODEL_DIR,
    ("model", (None,)): [MODEL_DIR],  # `rasa test core` has no default model
    ("out", "models"): MODEL_DIR,
}


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def use_project_paths(parser: Any, command: tuple[str, ...] = ()) -> Any:
    """Change the defaults of Rasa's argument parser (and all its subcommands) to this project's paths."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                use_project_paths(subparser, (*command, name))
            continue
        key = (action.dest, _frozen(action.default))
        if key in PROJECT_PATHS:
            ours = PROJECT_PATHS[key]
            if action.dest == "stories" and command[:1] == ("test",):
                ours = TEST_STORIES  # test stories live in tests/, training stories in nlu_data/
            action.default = ours
    return parser


def _install_project_defaults() -> None:
    import rasa.__main__ as rasa_main

    rasa_create_argument_parser = rasa_main.create_argument_parser

    def create_argument_parser() -> Any:
        return use_project_paths(rasa_create_argument_parser())

    rasa_main.create_argument_parser = create_argument_parser


PROJECT_DEFAULTS = Patch(
    "project paths", "rasa.__main__.create_argument_parser", RASA_VERSION, _install_project_defaults
)


def main() -> int:
    from rasa.__main__ import main as rasa_main

    from assistant.core.logging_setup import install_pii_log_masking

    # Before Rasa logs anything: Rasa itself logs citizen text, e.g. at ERROR on a REST timeout
    # (rest.message.received.timeout), whatever components the loaded model has.
    install_pii_log_masking()
    install()
    if sys.argv[1:2] == ["--project-defaults"]:
        del sys.argv[1]
        if not apply_patch(PROJECT_DEFAULTS):
            print(
                f"tthc: error: Rasa {installed_rasa_version()} is not the {RASA_VERSION} that `tthc rasa` knows; "
                f"install requirements/rasa.lock, or run .venv-rasa/bin/rasa with --data {DATA_DIR} "
                f"--out/--model {MODEL_DIR} yourself",
                file=sys.stderr,
            )
            return 2
    sys.argv[0] = "rasa"
    return rasa_main()


if __name__ == "__main__":
    sys.exit(main())
