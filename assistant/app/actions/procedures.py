"""Actions that answer procedure questions: answer, pick from an ask-back list, let the catalogue decide
the scope of an out-of-scope, unclear or small-talk message, offer the next candidates after "không phải
thủ tục này", fallback."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from assistant.app import answers, conversation_log, english_replies, local_directory
from assistant.app.actions import common
from assistant.app.procedure_context import Outcome, Resolution, check_scope, resolve
from assistant.core.reply import ReplyOutcome
from knowledge_base import english
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.schema import Procedure, Scope, SearchHit
from knowledge_base.text import fold

logger = logging.getLogger(__name__)

# Ordinals people type instead of a digit ("cái thứ hai", "số ba"; folded forms match too), and a foreigner's
# ("the second one", knowledge_base.english).
_ORDINAL_WORDS = {
    "mot": 1,
    "nhat": 1,
    "dau": 1,
    "hai": 2,
    "nhi": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    **english.ORDINAL_WORDS,
}


def parse_option_index(value: str | None) -> int | None:
    """'2', 'cái thứ 2', 'thứ hai', 'the second one' -> 2; None when no ordinal is found."""
    if not value:
        return None
    digits = re.search(r"\d+", value)
    if digits:
        return int(digits.group())
    for word in re.findall(r"\w+", fold(value)):
        if word in _ORDINAL_WORDS:
            return _ORDINAL_WORDS[word]
    return None


# One more hit than the options shown, so an answer leaves MAX_OPTIONS alternatives for "không phải thủ tục này".
SEARCH_TOP_K = answers.MAX_OPTIONS + 1


def citizen_commune(tracker: Tracker):
    """The citizen's commune, when a message of this conversation named one of the communes the province lists
    (assistant.app.local_directory; the latest naming wins), else None."""
    settings = common.app_settings()
    if not local_directory.communes(settings):
        return None
    for event in reversed(tracker.events or []):
        text = event.get("text") or "" if event.get("event") == "user" else ""
        office = local_directory.commune_named_in(text, settings) if text and not text.startswith("/") else None
        if office is not None:
            return office
    return None


def _answer(
    dispatcher: CollectingDispatcher,
    procedure: Procedure,
    aspect: str,
    alternatives: list[str] | None,
    tracker: Tracker,
) -> list[dict[str, Any]]:
    """Answer `aspect` of `procedure`, with the next steps as quick replies (as many as the tracker's channel
    shows) and the citizen's commune when the conversation named it; `alternatives` (codes) replace the
    remembered next candidates when given (None keeps them: a follow-up on the same procedure)."""
    reply = answers.answer(
        procedure,
        aspect,
        common.app_settings(),
        max_buttons=common.max_buttons(common.input_channel(tracker)),
        commune=citizen_commune(tracker),
    )
    common.send(dispatcher, reply)
    events = [SlotSet("procedure_code", procedure.code), SlotSet("last_aspect", aspect)]
    if alternatives is not None:
        events.append(SlotSet("alternative_codes", alternatives[: answers.MAX_OPTIONS]))
    return events


def _commune_given(dispatcher: CollectingDispatcher, tracker: Tracker, kb) -> list[dict[str, Any]] | None:
    """A message that only names the citizen's commune (the answer to `answers.COMMUNE_QUESTION`; the NLU has no
    intent for it): the place answer of the procedure in context, now with that commune's counter. None when the
    message is something else."""
    text = common.latest_text(tracker)
    office = local_directory.commune_named_in(text, common.app_settings()) if text else None
    if office is None or not local_directory.commune_name_only(text, office):
        return None
    code = tracker.get_slot("procedure_code")
    procedure = kb.get(code) if code else None
    if procedure is None:
        common.send(dispatcher, answers.commune_noted(office.name))
        return []
    return _answer(dispatcher, procedure, "where", None, tracker)


def _procedures(kb, codes: list[str]) -> list[Procedure]:
    return [procedure for procedure in (kb.get(code) for code in codes) if procedure is not None]


def _ask_back(dispatcher: CollectingDispatcher, kb, hits: list[SearchHit], aspect: str) -> list[dict[str, Any]]:
    """Several procedures fit: offer them (titles told apart) and remember them for "cái thứ 2"."""
    options = hits[: answers.MAX_OPTIONS]
    records = {procedure.code: procedure for procedure in _procedures(kb, [hit.code for hit in options])}
    labels = answers.distinct_titles(list(records.values())) if len(records) == len(options) else None
    common.send(dispatcher, answers.ask_back(options, labels))
    return _options_offered(options, aspect)


def _options_offered(options: list[SearchHit], aspect: str) -> list[dict[str, Any]]:
    """Remember an ask-back list (Vietnamese or English) so "2", "cái thứ 2" or "the second one" picks from it
    (action_choose_option); the old procedure no longer applies until the citizen picks one."""
    return [
        SlotSet("candidate_codes", [hit.code for hit in options]),
        SlotSet("procedure_code", None),
        SlotSet("last_aspect", aspect),
        SlotSet("alternative_codes", []),
    ]


def in_english(tracker: Tracker) -> bool:
    """Whether the citizen writes in English: their latest typed message with words ("2" has none, so the question
    before it decides) is English or an English pick ("the second one")."""
    for event in reversed(tracker.events or []):
        text = (event.get("text") or "") if event.get("event") == "user" else ""
        if text.startswith("/") or not re.search(r"[^\W\d_]", text):
            continue
        return english.is_english(text) or english.is_option_choice(text)
    return False


def _not_in_catalogue(dispatcher: CollectingDispatcher, tracker: Tracker, aspect: str | None) -> list[dict[str, Any]]:
    """An administrative question this catalogue does not hold: say where to ask, record it for the catalogue team."""
    try:
        conversation_log.record_missing_procedure(common.latest_text(tracker), tracker.get_latest_input_channel() or "")
    except Exception:  # recording must never cost the citizen the reply
        logger.exception("could not record a question missing from the catalogue")
    common.send(dispatcher, answers.not_in_catalogue(common.app_settings()))
    events = [SlotSet("alternative_codes", [])]
    return events + ([SlotSet("last_aspect", aspect)] if aspect else [])


def _knowledge_base_or_apology(dispatcher: CollectingDispatcher):
    try:
        return common.get_knowledge_base()
    except KnowledgeBaseError as error:
        logger.error("knowledge base unavailable: %s", error)
        common.send(dispatcher, answers.catalogue_unavailable(common.app_settings()))
        return None


def _searched_alternatives(resolution: Resolution) -> list[str] | None:
    """Codes to remember for a correction: the other hits of a fresh search; None (keep) for a follow-up
    or a button's code."""
    if resolution.follow_up or not resolution.hits:
        return None
    return [hit.code for hit in resolution.alternatives]


def _english_turn(dispatcher: CollectingDispatcher, tracker: Tracker, kb, aspect: str | None) -> list[dict[str, Any]]:
    """An English question (issue 15, item 6): the same context rules in English (assistant/app/english_replies.py),
    answered with English labels around the record's Vietnamese text. `aspect`: from the intent the English
    router set, else read from the message."""
    text = common.latest_text(tracker)
    if aspect is None or (aspect == "overview" and english.aspect(text) != "overview"):
        aspect = english.aspect(text)
    resolution = english_replies.resolve(kb, text, tracker.get_slot("procedure_code"), top_k=SEARCH_TOP_K)
    if resolution.outcome == Outcome.answer:
        return _english_answer(dispatcher, resolution.procedure, aspect, _searched_alternatives(resolution), tracker)
    if resolution.outcome == Outcome.clarify:
        options = resolution.hits[: answers.MAX_OPTIONS]
        common.send(dispatcher, english_replies.ask_back(options))
        return _options_offered(options, aspect)
    if resolution.outcome == Outcome.ask_which:
        common.send(dispatcher, english_replies.which_procedure())
        return [SlotSet("last_aspect", aspect)]
    if resolution.scope == Scope.administrative:
        try:
            conversation_log.record_missing_procedure(text, tracker.get_latest_input_channel() or "")
        except Exception:  # recording must never cost the citizen the reply
            logger.exception("could not record a question missing from the catalogue")
    common.send(dispatcher, english_replies.not_found(resolution.scope == Scope.administrative, common.app_settings()))
    return [SlotSet("last_aspect", aspect), SlotSet("alternative_codes", [])]


def _english_answer(
    dispatcher: CollectingDispatcher,
    procedure: Procedure,
    aspect: str,
    alternatives: list[str] | None,
    tracker: Tracker,
) -> list[dict[str, Any]]:
    """`_answer` in English (assistant/app/english_replies.py)."""
    channel = common.input_channel(tracker)
    common.send(
        dispatcher,
        english_replies.answer(procedure, aspect, common.app_settings(), max_buttons=common.max_buttons(channel)),
    )
    events = [SlotSet("procedure_code", procedure.code), SlotSet("last_aspect", aspect)]
    if alternatives is not None:
        events.append(SlotSet("alternative_codes", alternatives[: answers.MAX_OPTIONS]))
    return events


class ActionAnswerProcedure(common.BlockingAction):
    """Answers every ask_* intent about the procedure the message names or the one in context."""

    def name(self) -> str:
        return "action_answer_procedure"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        aspect = common.INTENT_ASPECTS.get(common.latest_intent(tracker), "overview")
        kb = _knowledge_base_or_apology(dispatcher)
        if kb is None:
            return []
        if english.is_english(common.latest_text(tracker)):
            return _english_turn(dispatcher, tracker, kb, aspect)
        commune_given = _commune_given(dispatcher, tracker, kb)
        if commune_given is not None:
            return commune_given
        resolution = resolve(
            kb,
            common.latest_text(tracker),
            current_code=tracker.get_slot("procedure_code"),
            named_procedure=common.latest_entity(tracker, "procedure"),
            explicit_code=common.latest_entity(tracker, "procedure_code"),
            top_k=SEARCH_TOP_K,
        )
        if resolution.outcome == Outcome.answer:
            return _answer(dispatcher, resolution.procedure, aspect, _searched_alternatives(resolution), tracker)
        if resolution.outcome == Outcome.clarify:
            return _ask_back(dispatcher, kb, resolution.hits, aspect)
        if resolution.outcome == Outcome.ask_which:
            # An aspect right after an ask-back list ("lệ phí bao nhiêu?") is about that list.
            offered = [kb.get(code) for code in tracker.get_slot("candidate_codes") or []]
            offered = [SearchHit(code=p.code, title=p.title, score=0.0) for p in offered if p is not None]
            common.send(dispatcher, answers.ask_back(offered) if offered else answers.which_procedure())
            return [SlotSet("last_aspect", aspect)]
        if resolution.scope == Scope.administrative:
            return _not_in_catalogue(dispatcher, tracker, aspect)
        common.send(dispatcher, answers.abstain(common.app_settings()))
        return [SlotSet("last_aspect", aspect), SlotSet("alternative_codes", [])]


class ActionChooseOption(common.BlockingAction):
    """Resolves "cái thứ 2" / an option button against candidate_codes and answers it."""

    def name(self) -> str:
        return "action_choose_option"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        candidates = tracker.get_slot("candidate_codes") or []
        index = parse_option_index(common.latest_entity(tracker, "option_index")) or parse_option_index(
            common.latest_text(tracker)
        )
        if index is None or not 1 <= index <= len(candidates):
            if not candidates:  # no list to choose from: perhaps a procedure question ("mở cty tnhh 1 thành viên")
                answered = answer_if_the_catalogue_is_sure(dispatcher, tracker, ask_back=True)
                if answered is not None:
                    return answered
            english_turn = in_english(tracker)
            common.send(dispatcher, (english_replies if english_turn else answers).unknown_option(len(candidates)))
            return []
        kb = _knowledge_base_or_apology(dispatcher)
        if kb is None:
            return []
        procedure = kb.get(candidates[index - 1])
        if procedure is None:  # the catalogue was re-imported since the list was shown
            common.send(dispatcher, answers.abstain(common.app_settings()))
            return [SlotSet("candidate_codes", [])]
        others = [code for code in candidates if code != procedure.code]
        reply_in = _english_answer if in_english(tracker) else _answer
        return reply_in(dispatcher, procedure, tracker.get_slot("last_aspect") or "overview", others, tracker)


class ActionCheckScope(common.BlockingAction):
    """A message the NLU called out of scope: the catalogue decides whose question it is.

    A procedure fits -> answer it (or ask back when several fit); an administrative matter the
    catalogue does not hold -> say so and where to ask (recorded for the catalogue team);
    small talk or off-topic -> utter_out_of_scope as before.
    """

    def name(self) -> str:
        return "action_check_scope"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = common.latest_text(tracker)
        if not text.strip():
            common.send_response(dispatcher, "utter_out_of_scope", ReplyOutcome.off_topic)
            return []
        kb = _knowledge_base_or_apology(dispatcher)
        if kb is None:
            return []
        if english.for_the_catalogue(text):
            return _english_turn(dispatcher, tracker, kb, None)
        commune_given = _commune_given(dispatcher, tracker, kb)
        if commune_given is not None:
            return commune_given
        resolution = check_scope(kb, text, top_k=SEARCH_TOP_K)
        if resolution.outcome == Outcome.answer:
            return _answer(dispatcher, resolution.procedure, "overview", _searched_alternatives(resolution), tracker)
        if resolution.outcome == Outcome.clarify:
            return _ask_back(dispatcher, kb, resolution.hits, "overview")
        if resolution.scope == Scope.administrative:
            return _not_in_catalogue(dispatcher, tracker, None)
        common.send_response(dispatcher, "utter_out_of_scope", ReplyOutcome.off_topic)
        return []


def answer_if_the_catalogue_is_sure(
    dispatcher: CollectingDispatcher, tracker: Tracker, ask_back: bool = False
) -> list[dict[str, Any]] | None:
    """Answer a message the NLU gave a conversational intent when the catalogue is sure which procedure it
    asks about: the intent alone does not decide.

    Small talk: only a confident answer overrides (ask_back=False), so small talk keeps its reply. An intent
    whose premise is missing (feedback with nothing answered yet, "the second one" with no list shown) says
    nothing the citizen wanted to hear: there an ask-back overrides too (ask_back=True).
    None (the intent's own reply follows) when the catalogue abstains or is unavailable. Only the learned
    decision is trusted here: the untrained (BM25-only) one answers small talk such as "bạn tên là gì".
    """
    text = common.latest_text(tracker)
    if not text.strip() or text.startswith("/"):  # empty, or a button's payload
        return None
    try:
        kb = common.get_knowledge_base()
    except KnowledgeBaseError:
        return None
    if not kb.learned:
        return None
    resolution = check_scope(kb, text, top_k=SEARCH_TOP_K)
    if resolution.outcome == Outcome.answer:
        return _answer(dispatcher, resolution.procedure, "overview", _searched_alternatives(resolution), tracker)
    if resolution.outcome == Outcome.clarify and ask_back:
        return _ask_back(dispatcher, kb, resolution.hits, "overview")
    return None


class ActionSmallTalk(common.BlockingAction):
    """Small talk (intent chitchat): the response selector's reply, unless the catalogue is sure the
    message asks about one of its procedures ("tạm nghỉ bán vài tháng có phải báo không")."""

    def name(self) -> str:
        return "action_small_talk"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        answered = answer_if_the_catalogue_is_sure(dispatcher, tracker)
        if answered is not None:
            return answered
        selected = selected_small_talk(tracker.latest_message)
        if selected == CAPABILITIES:  # composed from settings: never advertises what is not connected
            common.send(dispatcher, answers.capabilities(common.app_settings()))
        else:
            common.send_response(dispatcher, selected, ReplyOutcome.small_talk)
        return []


CAPABILITIES = "utter_chitchat/ask_capabilities"
SMALL_TALK_DEFAULT = CAPABILITIES  # what the assistant can do: a fitting reply to anything


def selected_small_talk(parse_data: dict[str, Any] | None) -> str:
    """The response the NLU's response selector chose for a chitchat message (utter_chitchat/<key>)."""
    selector = ((parse_data or {}).get("response_selector") or {}).get("chitchat") or {}
    chosen = (selector.get("response") or {}).get("utter_action") or ""
    return chosen if chosen.startswith("utter_chitchat/") else SMALL_TALK_DEFAULT


class ActionOfferAlternatives(common.BlockingAction):
    """ "Không phải thủ tục này" after an answer: offer the next candidates of the search that gave it."""

    def name(self) -> str:
        return "action_offer_alternatives"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        codes = tracker.get_slot("alternative_codes") or []
        rejected = tracker.get_slot("procedure_code")
        kb = _knowledge_base_or_apology(dispatcher) if codes else None
        procedures = [p for p in _procedures(kb, codes) if p.code != rejected] if kb is not None else []
        procedures = procedures[: answers.MAX_OPTIONS]
        if not procedures:
            if codes and kb is None:
                return []  # the apology for the unavailable catalogue was sent
            common.send(dispatcher, answers.no_alternatives())
            return [SlotSet("alternative_codes", [])]
        common.send(dispatcher, answers.offer_alternatives(answers.distinct_titles(procedures)))
        # Like an ask-back list: "cái thứ 2" or a button picks one, for the aspect asked last.
        return [
            SlotSet("candidate_codes", [p.code for p in procedures]),
            SlotSet("procedure_code", None),
            SlotSet("alternative_codes", []),
        ]


class ActionDefaultFallback(common.BlockingAction):
    """NLU was unsure: the catalogue decides. A confident match is answered; otherwise say so, offer the
    closest procedures as buttons and a human, or for an administrative matter the catalogue does not
    hold, say where to ask."""

    def name(self) -> str:
        return "action_default_fallback"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = common.latest_text(tracker)
        # Like Rasa's own fallback: the unclear message must not steer the dialogue policies
        # (slots set after the revert still apply).
        events: list[dict[str, Any]] = [UserUtteranceReverted()]
        if english.for_the_catalogue(text):
            kb = _knowledge_base_or_apology(dispatcher)
            return events + (_english_turn(dispatcher, tracker, kb, None) if kb is not None else [])
        if (
            local_directory.commune_named_in(text, common.app_settings()) is not None
        ):  # "Phường Tân Ninh": no intent fits
            kb = _knowledge_base_or_apology(dispatcher)
            commune_given = _commune_given(dispatcher, tracker, kb) if kb is not None else []
            if commune_given is not None:
                return events + commune_given
        resolution = Resolution(Outcome.abstain, scope=Scope.off_topic)
        if text.strip():
            try:
                resolution = check_scope(common.get_knowledge_base(), text, top_k=SEARCH_TOP_K)
            except KnowledgeBaseError as error:
                logger.error("knowledge base unavailable: %s", error)
        if resolution.outcome == Outcome.answer:
            return events + _answer(
                dispatcher, resolution.procedure, "overview", _searched_alternatives(resolution), tracker
            )
        if resolution.outcome == Outcome.abstain and resolution.scope == Scope.administrative:
            return events + _not_in_catalogue(dispatcher, tracker, None)
        common.send(dispatcher, answers.suggestions(resolution.hits[: answers.MAX_OPTIONS], common.app_settings()))
        return events
