"""The actions' catalogue searches and database writes run in a worker thread, never on the event loop, and the
actions reach the knowledge base without importing the web layer."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

from assistant.app.actions import common, procedures
from assistant.app.actions.procedures import ActionCheckScope, ActionDefaultFallback
from assistant.app.procedure_context import Outcome, Resolution
from knowledge_base.schema import Scope

ACTIONS_DIR = Path(common.__file__).resolve().parent


def test_the_scope_check_runs_off_the_event_loop(kb, chat, monkeypatch):
    loop_thread = threading.get_ident()  # asyncio.run drives the action on this thread
    seen: list[int] = []

    def recording_check_scope(*args, **kwargs):
        seen.append(threading.get_ident())
        return Resolution(Outcome.abstain, scope=Scope.off_topic)

    monkeypatch.setattr(procedures, "check_scope", recording_check_scope)
    chat.turn(ActionCheckScope(), "thời tiết hôm nay thế nào", "out_of_scope")
    chat.turn(ActionDefaultFallback(), "thời tiết hôm nay thế nào", "nlu_fallback")
    assert len(seen) == 2 and loop_thread not in seen


def test_the_catalogue_actions_are_blocking_actions():
    """Every action that touches the catalogue or the database runs its turn through run_blocking."""
    from assistant.app.actions import support

    for action in (
        procedures.ActionAnswerProcedure,
        procedures.ActionChooseOption,
        procedures.ActionCheckScope,
        procedures.ActionSmallTalk,
        procedures.ActionOfferAlternatives,
        procedures.ActionDefaultFallback,
        support.ActionHandoff,
        support.ActionStoreFeedback,
    ):
        assert issubclass(action, common.BlockingAction), action.__name__


def test_the_actions_never_import_the_web_layer():
    for path in sorted(ACTIONS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("assistant.app.server"), f"{path.name} imports {name}"
