"""Next steps one tap away (issue 15, item 2): the quick replies after an answer, per channel, and what a tap
does (the payload names the aspect's intent and the procedure's code, which the action reads)."""

from __future__ import annotations

import json

import pytest

from assistant.app.actions.procedures import ActionAnswerProcedure
from connectors.zalo.messages import MAX_BUTTONS as ZALO_MAX_BUTTONS
from tests.actions.catalog import BIRTH, IDENTITY_CARD
from tests.actions.conftest import Conversation
from tests.support.next_steps import WEB_CHAT_NEXT_STEPS

answer = ActionAnswerProcedure()
ASPECT_INTENTS = {
    "Giấy tờ": "ask_documents",
    "Lệ phí": "ask_fee",
    "Thời gian": "ask_processing_time",
    "Nơi nộp": "ask_where",
    "Nộp trực tuyến": "ask_online",
    "Các bước": "ask_steps",
}


def tap(chat: Conversation, title: str) -> None:
    """What Rasa does with a tapped quick reply: the payload's intent, its procedure_code entity."""
    [button] = [b for b in chat.buttons if b["title"] == title]
    payload = button["payload"]
    intent, entities = payload[1:].split("{", 1)
    chat.turn(answer, payload, intent, **json.loads("{" + entities))


def test_web_chat_offers_every_other_aspect_the_checklist_and_a_human(kb, chat):
    chat.turn(answer, "thủ tục làm căn cước", "ask_procedure")
    titles = [b["title"] for b in chat.buttons]
    assert titles == WEB_CHAT_NEXT_STEPS
    assert chat.buttons[4]["payload"] == '/ask_fee{"procedure_code":"%s"}' % IDENTITY_CARD.code
    assert chat.buttons[6] == {
        "title": "Gửi danh sách giấy tờ",
        "type": "web_url",
        "url": f"/checklist/{IDENTITY_CARD.code}",
        "payload": f"/checklist/{IDENTITY_CARD.code}",
    }
    assert chat.buttons[7]["payload"] == "/request_human"


@pytest.mark.parametrize("title", list(ASPECT_INTENTS))
def test_each_quick_reply_answers_its_aspect_of_the_procedure_it_names(kb, chat, title):
    chat.turn(answer, "thủ tục làm căn cước", "ask_procedure")
    chat.slots["procedure_code"] = BIRTH.code  # even with another procedure in context, the button's code wins
    tap(chat, title)
    assert chat.slots["procedure_code"] == IDENTITY_CARD.code
    aspect = {
        "ask_documents": "documents",
        "ask_fee": "fee",
        "ask_processing_time": "time",
        "ask_where": "where",
        "ask_online": "online",
        "ask_steps": "steps",
    }[ASPECT_INTENTS[title]]
    assert chat.slots["last_aspect"] == aspect
    assert chat.text.startswith("Dạ") and IDENTITY_CARD.title in chat.text
    assert title not in [b["title"] for b in chat.buttons]  # the next steps are the other ones
    if title == "Lệ phí":
        assert chat.text.startswith("Dạ, phí, lệ phí của «") and "30.000 đồng" in chat.text


def test_zalo_gets_at_most_its_button_limit(kb):
    chat = Conversation(channel="zalo")
    chat.turn(answer, "thủ tục làm căn cước", "ask_procedure")
    assert len(chat.buttons) == ZALO_MAX_BUTTONS
    assert [b["title"] for b in chat.buttons][-2:] == ["Gửi danh sách giấy tờ", "Gặp cán bộ"]
    chat.turn(answer, "lệ phí bao nhiêu", "ask_fee")
    assert [b["title"] for b in chat.buttons] == [
        "Giấy tờ",
        "Thời gian",
        "Nơi nộp",
        "Gửi danh sách giấy tờ",
        "Gặp cán bộ",
    ]
