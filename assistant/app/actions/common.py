"""Helpers shared by the actions: knowledge-base access, sending a Reply, reading the history."""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.app.knowledge_provider import provider, run_blocking
from assistant.core.reply import OUTCOME_KEY, Reply, ReplyOutcome
from assistant.core.settings import Settings
from connectors.zalo.messages import MAX_BUTTONS as ZALO_MAX_BUTTONS

logger = logging.getLogger(__name__)

# Intent (docs/conversation-contract.md) -> aspect answered (assistant.app.answers.ASPECTS).
INTENT_ASPECTS = {
    "ask_procedure": "overview",
    "ask_documents": "documents",
    "ask_fee": "fee",
    "ask_processing_time": "time",
    "ask_where": "where",
    "ask_online": "online",
    "ask_steps": "steps",
    "ask_conditions": "conditions",
    "ask_result": "result",
}


# Quick replies after an answer, per Rasa input channel: Zalo shows at most 5 buttons on a message
# (connectors/zalo/messages.py); the web chat (channel "rest") wraps its buttons, so it gets every next step.
WEB_MAX_BUTTONS = 8
CHANNEL_MAX_BUTTONS = {"zalo": ZALO_MAX_BUTTONS}


def input_channel(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or ""


def max_buttons(channel: str) -> int:
    """How many quick replies an answer carries on this channel."""
    return CHANNEL_MAX_BUTTONS.get(channel, WEB_MAX_BUTTONS)


def get_knowledge_base():
    """The app server's KnowledgeBase (assistant/app/knowledge_provider.py; tests replace this function)."""
    return provider.get()


def app_settings() -> Settings:
    """The settings the app server was created with (`create_app(settings)`), handed to the actions through the
    knowledge provider like the knowledge base: replies name the app's hotline, office and links."""
    return provider.settings()


class BlockingAction(Action, metaclass=ABCMeta):
    """An action whose turn searches the catalogue or writes the database: rasa-sdk awaits `run`, and the
    synchronous `turn` runs in a worker thread, so a search never blocks the app server's event loop."""

    @abstractmethod
    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        """The action's work (synchronous; called off the event loop)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return await run_blocking(self.turn, dispatcher, tracker, domain)


def send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    """One bot message: the text with its links, the buttons when there are any, and the reply's outcome for
    the interaction log (the action endpoint takes it off before Rasa sees the message)."""
    buttons = [button.as_rasa() for button in reply.buttons]
    dispatcher.utter_message(text=reply.full_text(), buttons=buttons or None, **{OUTCOME_KEY: reply.outcome.value})


def send_response(dispatcher: CollectingDispatcher, response: str, outcome: ReplyOutcome) -> None:
    """One of the domain's responses (utter_*), with the outcome it stands for (as `send`)."""
    dispatcher.utter_message(response=response, **{OUTCOME_KEY: outcome.value})


def latest_text(tracker: Tracker) -> str:
    """What the user typed; empty for a button payload ("/intent{...}"), which carries no words."""
    text = (tracker.latest_message or {}).get("text") or ""
    return "" if text.startswith("/") else text


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    value = next(tracker.get_latest_entity_values(entity), None)
    return str(value).strip() if value not in (None, "") else None


def recent_messages(events: list[dict[str, Any]], limit: int) -> list[dict[str, str]]:
    """The last `limit` user/bot messages with text, oldest first, as {"sender", "text"}."""
    messages = [
        {"sender": event["event"], "text": event.get("text") or ""}
        for event in events
        if event.get("event") in ("user", "bot") and (event.get("text") or "").strip()
    ]
    return messages[-limit:]


def _intent_of(event: dict[str, Any]) -> str:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def last_exchange(events: list[dict[str, Any]], skip_intent_prefix: str) -> tuple[str, str]:
    """The question before the latest user message and the bot's answer to it.

    Turns whose intent starts with `skip_intent_prefix` (e.g. earlier feedback) are skipped,
    so "sai rồi" after "cảm ơn" still refers to the real question. When the rated answer came
    from a button (a "/intent{...}" payload), the question is the last typed message before it,
    marked as answered through the list, since the payload means nothing to the catalogue team.
    """
    turns: list[tuple[dict[str, Any], list[str]]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append((event, []))
        elif event.get("event") == "bot" and turns and (event.get("text") or "").strip():
            turns[-1][1].append(event["text"])
    earlier = [turn for turn in turns[:-1] if not _intent_of(turn[0]).startswith(skip_intent_prefix)]
    if not earlier:
        return "", ""
    rated_event, answers = earlier[-1]
    question = rated_event.get("text") or ""
    if question.startswith("/"):
        typed = [e.get("text") or "" for e, _ in earlier if not (e.get("text") or "").startswith("/")]
        question = f"{typed[-1]} (chọn từ danh sách gợi ý)" if typed else question
    return question, "\n".join(answers)
