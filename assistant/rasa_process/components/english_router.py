"""Rasa NLU component, after the classifiers: an English question goes to the catalogue (issue 15, item 6).

The NLU is trained on Vietnamese; on an English message its intent means nothing. When
`knowledge_base.english.for_the_catalogue` recognises an English question (offline: the share of English words
among the message's words; it names an administrative term from the glossary, asks about an aspect, or
carries a procedure code), the intent becomes the aspect's `ask_*` intent (`ask_procedure` when none) with
confidence 1.0 and the Vietnamese entity guesses are dropped; `action_answer_procedure` then answers in English
(assistant/app/english_replies.py). Any other message, English small talk included, keeps the NLU's result.

config.yml:
    pipeline:
      ...
      - name: FallbackClassifier
      - name: assistant.rasa_process.components.english_router.EnglishRouter
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from knowledge_base import english


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EnglishRouter(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EnglishRouter:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = english.catalogue_intent(message.get(TEXT))
            if intent is None:
                continue
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 1.0}], add_to_output=True)
            message.set(ENTITIES, [], add_to_output=True)
        return messages
