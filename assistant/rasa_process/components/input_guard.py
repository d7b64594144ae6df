"""Rasa NLU component, first in the pipeline: cleans the message text before the tokenizer.

Applies `assistant.core.input_cleaning.clean_message` (NFC, invisible characters removed, whitespace
collapsed, cut at `max_chars`, default 2000) to every message, at training and at inference, so
later components and the custom actions (which read `latest_message.text`) see one clean form.
When Rasa builds the pipeline it also installs the PII log masking for the Rasa process, which
logs user text at debug level (`assistant.core.logging_setup`).

config.yml:
    pipeline:
      - name: assistant.rasa_process.components.input_guard.InputGuard
        max_chars: 2000
      - name: assistant.rasa_process.components.vietnamese_tokenizer.VietnameseTokenizer
      ...
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.core.input_cleaning import DEFAULT_MAX_CHARS, clean_message
from assistant.core.logging_setup import install_pii_log_masking


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class InputGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_chars": DEFAULT_MAX_CHARS}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.max_chars = int(config.get("max_chars", DEFAULT_MAX_CHARS))
        if self.max_chars < 1:
            raise ValueError("InputGuard max_chars must be a positive number of characters")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        install_pii_log_masking()
        return cls(config)

    def _clean(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str):
            message.set(TEXT, clean_message(text, self.max_chars))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._clean(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._clean(message)
        return messages
