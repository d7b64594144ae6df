"""InputGuard (Rasa NLU component): cleans text at inference and training, and fits in a pipeline
in front of the Vietnamese tokenizer (Rasa's own graph validation accepts it)."""

from __future__ import annotations

import logging
import unicodedata

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.recipes.default_recipe import DefaultV1Recipe  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.engine.validation import validate  # noqa: E402
from rasa.shared.data import TrainingType  # noqa: E402
from rasa.shared.nlu.constants import TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from assistant.core import logging_setup  # noqa: E402
from assistant.rasa_process.components.input_guard import InputGuard  # noqa: E402


@pytest.fixture
def guard(tmp_path):
    factory, installed = logging.getLogRecordFactory(), logging_setup._installed
    component = InputGuard.create(
        {**InputGuard.get_default_config(), "max_chars": 100},
        LocalModelStorage(tmp_path),
        Resource("input_guard"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    yield component
    logging.setLogRecordFactory(factory)
    logging_setup._installed = installed


def test_cleans_messages_at_inference(guard):
    messages = [
        Message({TEXT: unicodedata.normalize("NFD", "làm\u200b căn cước\x00  cần gì")}),
        Message({TEXT: "đăng ký khai sinh " * 50}),
        Message({TEXT: "😀"}),
    ]
    cleaned = [m.get(TEXT) for m in guard.process(messages)]
    assert cleaned[0] == "làm căn cước cần gì"
    assert len(cleaned[1]) <= 100 and cleaned[1].startswith("đăng ký khai sinh")
    assert cleaned[2] == "😀"


def test_cleans_training_examples_the_same_way(guard):
    data = TrainingData([Message({TEXT: "lệ\tphí\u200d bao nhiêu", "intent": "ask_fee"})])
    assert guard.process_training_data(data).training_examples[0].get(TEXT) == "lệ phí bao nhiêu"


def test_installs_pii_masking_for_the_rasa_process(guard, caplog):
    with caplog.at_level(logging.DEBUG, logger="rasa.core.processor"):
        logging.getLogger("rasa.core.processor").debug("Received user message 'sđt 0912345678'")
    assert "0912345678" not in caplog.text


def test_rejects_nonsense_limit():
    with pytest.raises(ValueError, match="max_chars"):
        InputGuard({"max_chars": 0})


def test_rasa_accepts_it_first_in_the_pipeline():
    config = {
        "recipe": "default.v1",
        "language": "vi",
        "pipeline": [
            {"name": "assistant.rasa_process.components.input_guard.InputGuard", "max_chars": 2000},
            {"name": "assistant.rasa_process.components.vietnamese_tokenizer.VietnameseTokenizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "DIETClassifier", "epochs": 1},
        ],
        "policies": [],
    }
    model_configuration = DefaultV1Recipe().graph_config_for_recipe(config, {}, training_type=TrainingType.NLU)
    validate(model_configuration)  # raises GraphSchemaValidationException on an invalid pipeline
    predict = model_configuration.predict_schema.nodes
    guard = next(name for name, node in predict.items() if node.uses is InputGuard)
    tokenizer = next(name for name in predict if "VietnameseTokenizer" in name)
    assert guard in predict[tokenizer].needs.values(), "the tokenizer must read the guarded messages"
    assert any(node.uses is InputGuard for node in model_configuration.train_schema.nodes.values())
