"""EnglishRouter (Rasa NLU component, issue 15 item 6): an English question for the catalogue gets its aspect's
ask_* intent with confidence 1 and no Vietnamese entity guesses; everything else keeps the NLU's result."""

from __future__ import annotations

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from rasa.engine.graph import ExecutionContext  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from assistant.rasa_process.components.english_router import EnglishRouter  # noqa: E402

NLU_GUESS = {"name": "greet", "confidence": 0.41}


@pytest.fixture
def router(tmp_path):
    return EnglishRouter.create(
        {},
        LocalModelStorage(tmp_path),
        Resource("english_router"),
        ExecutionContext(graph_schema=None, model_id="test"),
    )


def _parsed(router, text):
    message = Message({TEXT: text, INTENT: dict(NLU_GUESS), ENTITIES: [{"entity": "procedure", "value": "x"}]})
    [message] = router.process([message])
    return message


@pytest.mark.parametrize(
    "text, intent",
    [
        ("How do I register temporary residence?", "ask_procedure"),
        ("How much is the passport fee?", "ask_fee"),
        ("What documents do I need to register a birth?", "ask_documents"),
        ("Fee for 1.004194", "ask_fee"),
        ("And how long does it take?", "ask_processing_time"),
        ("the second one", "choose_option"),  # a pick from an English ask-back list (the NLU's guess: nlu_fallback)
        ("number two", "choose_option"),
    ],
)
def test_english_question_goes_to_the_catalogue(router, text, intent):
    message = _parsed(router, text)
    assert message.get(INTENT) == {"name": intent, "confidence": 1.0}
    assert message.get(ENTITIES) == []


@pytest.mark.parametrize(
    "text",
    [
        "làm căn cước cần gì",
        "lam the can cuoc can giay to gi",
        "thank you",
        "hello",
        "cái thứ hai",
        "2",
        '/ask_fee{"procedure_code":"1.004194"}',
    ],
)
def test_everything_else_keeps_the_nlu_result(router, text):
    message = _parsed(router, text)
    assert message.get(INTENT) == NLU_GUESS and message.get(ENTITIES) == [{"entity": "procedure", "value": "x"}]
