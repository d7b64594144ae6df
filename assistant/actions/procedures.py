"""Actions that answer procedure questions: answer, pick from an ask-back list, fallback."""
from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from assistant import answers
from assistant.actions import common
from assistant.procedure_context import Outcome, resolve, search_message
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.schema import Procedure, SearchHit
from knowledge_base.text import fold

logger = logging.getLogger(__name__)

# Ordinals people type instead of a digit ("cái thứ hai", "số ba"); folded forms match too.
_ORDINAL_WORDS = {"mot": 1, "nhat": 1, "dau": 1, "hai": 2, "nhi": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5}


def parse_option_index(value: str | None) -> int | None:
    """'2', 'cái thứ 2', 'thứ hai' -> 2; None when no ordinal is found."""
    if not value:
        return None
    digits = re.search(r"\d+", value)
    if digits:
        return int(digits.group())
    for word in re.findall(r"\w+", fold(value)):
        if word in _ORDINAL_WORDS:
            return _ORDINAL_WORDS[word]
    return None


def _answer(dispatcher: CollectingDispatcher, procedure: Procedure, aspect: str) -> list[dict[str, Any]]:
    common.send(dispatcher, answers.answer(procedure, aspect))
    return [SlotSet("procedure_code", procedure.code), SlotSet("last_aspect", aspect)]


def _knowledge_base_or_apology(dispatcher: CollectingDispatcher):
    try:
        return common.get_knowledge_base()
    except KnowledgeBaseError as error:
        logger.error("knowledge base unavailable: %s", error)
        common.send(dispatcher, answers.catalogue_unavailable())
        return None


class ActionAnswerProcedure(Action):
    """Answers every ask_* intent about the procedure the message names or the one in context."""

    def name(self) -> str:
        return "action_answer_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        aspect = common.INTENT_ASPECTS.get(common.latest_intent(tracker), "overview")
        kb = _knowledge_base_or_apology(dispatcher)
        if kb is None:
            return []
        resolution = resolve(
            kb,
            common.latest_text(tracker),
            current_code=tracker.get_slot("procedure_code"),
            named_procedure=common.latest_entity(tracker, "procedure"),
            explicit_code=common.latest_entity(tracker, "procedure_code"),
        )
        if resolution.outcome == Outcome.answer:
            return _answer(dispatcher, resolution.procedure, aspect)
        if resolution.outcome == Outcome.clarify:
            common.send(dispatcher, answers.ask_back(resolution.hits))
            codes = [hit.code for hit in resolution.hits[: answers.MAX_OPTIONS]]
            # The old procedure no longer applies until the citizen picks one of the options.
            return [SlotSet("candidate_codes", codes), SlotSet("procedure_code", None), SlotSet("last_aspect", aspect)]
        if resolution.outcome == Outcome.ask_which:
            # An aspect right after an ask-back list ("lệ phí bao nhiêu?") is about that list.
            offered = [kb.get(code) for code in tracker.get_slot("candidate_codes") or []]
            offered = [SearchHit(code=p.code, title=p.title, score=0.0) for p in offered if p is not None]
            common.send(dispatcher, answers.ask_back(offered) if offered else answers.which_procedure())
            return [SlotSet("last_aspect", aspect)]
        common.send(dispatcher, answers.abstain())
        return [SlotSet("last_aspect", aspect)]


class ActionChooseOption(Action):
    """Resolves "cái thứ 2" / an option button against candidate_codes and answers it."""

    def name(self) -> str:
        return "action_choose_option"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        candidates = tracker.get_slot("candidate_codes") or []
        index = parse_option_index(common.latest_entity(tracker, "option_index")) or parse_option_index(
            common.latest_text(tracker)
        )
        if index is None or not 1 <= index <= len(candidates):
            common.send(dispatcher, answers.unknown_option(len(candidates)))
            return []
        kb = _knowledge_base_or_apology(dispatcher)
        if kb is None:
            return []
        procedure = kb.get(candidates[index - 1])
        if procedure is None:  # the catalogue was re-imported since the list was shown
            common.send(dispatcher, answers.abstain())
            return [SlotSet("candidate_codes", [])]
        return _answer(dispatcher, procedure, tracker.get_slot("last_aspect") or "overview")


class ActionDefaultFallback(Action):
    """NLU was unsure: say so, offer the closest procedures as buttons and a human."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = common.latest_text(tracker)
        hits = []
        if text.strip():
            try:
                response = search_message(common.get_knowledge_base(), text, top_k=answers.MAX_OPTIONS)
                hits = [] if response.abstained else response.results
            except KnowledgeBaseError as error:
                logger.error("knowledge base unavailable: %s", error)
        common.send(dispatcher, answers.suggestions(hits))
        # Like Rasa's own fallback: the unclear message must not steer the dialogue policies.
        return [UserUtteranceReverted()]
