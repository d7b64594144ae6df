"""Rasa's ResponseSelector, run only on messages classified as its retrieval intent.

Rasa runs a response selector on every message, though its answer is only used when the message is
small talk (`chitchat/...`, answered by `utter_chitchat`). Its TensorFlow inference was about an
eighth of a Rasa worker's CPU per message under the 50-user load test (py-spy, scripts/load_test.py),
so here messages of every other intent skip it. Training, the model and the answer to small talk are
Rasa's own.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RetrievalIntentResponseSelector(ResponseSelector):
    """A ResponseSelector (same settings) that selects responses only for its `retrieval_intent`."""

    def process(self, messages: List[Message]) -> List[Message]:
        super().process([m for m in messages if self._is_retrieval_intent(m)])
        return messages

    def _is_retrieval_intent(self, message: Message) -> bool:
        if not self.retrieval_intent:  # one selector for all retrieval intents: Rasa's behaviour
            return True
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY) if isinstance(intent, dict) else intent
        return name == self.retrieval_intent
