"""action_answer_procedure / action_choose_option / action_default_fallback on a real KnowledgeBase."""

from __future__ import annotations

import re

import pytest

from assistant.app.actions import common
from assistant.app.actions.procedures import ActionAnswerProcedure, ActionChooseOption, ActionDefaultFallback
from knowledge_base.errors import KnowledgeBaseError
from tests.actions.catalog import (
    BIRTH_MOBILE,
    CRIMINAL_RECORD,
    DEATH_MOBILE,
    HOTLINE,
    IDENTITY_CARD,
    MARRIAGE,
    MARRIAGE_MOBILE,
    ONE_STOP_ADDRESS,
)

answer = ActionAnswerProcedure()
choose = ActionChooseOption()
fallback = ActionDefaultFallback()


def test_documents_answer_is_a_checklist_with_copies_forms_and_links(kb, chat):
    chat.turn(answer, "làm căn cước cần giấy tờ gì", "ask_documents")
    for document in IDENTITY_CARD.documents:
        assert f"☐ {document.name} — {document.copies}" in chat.text
    assert "(mẫu: Mẫu CC01)" in chat.text
    assert IDENTITY_CARD.source_url in chat.text
    assert "https://dichvucong.tayninh.gov.vn" in chat.text
    slots = chat.slot_events()
    assert {slots.pop("procedure_code"), slots.pop("last_aspect")} == {IDENTITY_CARD.code, "documents"}
    # The other hits of the search, remembered for "không phải thủ tục này".
    assert IDENTITY_CARD.code not in slots["alternative_codes"] and len(slots["alternative_codes"]) <= 5
    # The next steps (tests/actions/test_next_steps.py): the other aspects, the checklist, a human.
    assert [b["title"] for b in chat.buttons][-2:] == ["Gửi danh sách giấy tờ", "Gặp cán bộ"]


def test_aspect_only_follow_ups_use_the_procedure_in_context(kb, chat):
    chat.turn(answer, "làm căn cước cần giấy tờ gì", "ask_documents")
    chat.turn(answer, "còn lệ phí thì sao?", "ask_fee")
    assert "30.000 đồng" in chat.text and "15.000 đồng" in chat.text
    assert chat.slots["procedure_code"] == IDENTITY_CARD.code
    chat.turn(answer, "nộp online được không?", "ask_online")
    assert "toàn trình" in chat.text
    chat.turn(answer, "mat bao lau vay", "ask_processing_time")  # no diacritics
    assert "7 ngày làm việc" in chat.text
    assert chat.slots["last_aspect"] == "time"


def test_a_new_procedure_name_switches_context(kb, chat):
    chat.turn(answer, "làm căn cước cần giấy tờ gì", "ask_documents")
    chat.turn(answer, "thế còn lý lịch tư pháp thì lệ phí bao nhiêu?", "ask_fee")
    assert chat.slots["procedure_code"] == CRIMINAL_RECORD.code
    assert "200.000 đồng/lần/người" in chat.text
    assert "30.000" not in chat.text


def test_something_outside_the_catalogue_is_not_answered_as_the_current_procedure(kb, chat):
    chat.turn(answer, "làm căn cước cần giấy tờ gì", "ask_documents")
    chat.turn(answer, "lệ phí mua vé máy bay đi Hà Nội bao nhiêu?", "ask_fee")
    assert "không tìm thấy thủ tục phù hợp" in chat.text
    assert "30.000" not in chat.text


def test_unstated_fee_is_admitted_not_invented(kb, chat):
    chat.turn(answer, "đăng ký kết hôn hết bao nhiêu tiền", "ask_fee")
    assert chat.slots["procedure_code"] == MARRIAGE.code
    assert "không nêu phí, lệ phí" in chat.text
    assert ONE_STOP_ADDRESS in chat.text
    assert not re.search(r"\d[\d.]* ?(đồng|vnđ|vnd)", chat.text, re.IGNORECASE)


def test_general_question_gets_a_summary_of_every_aspect(kb, chat):
    chat.turn(answer, "thủ tục cấp phiếu lý lịch tư pháp", "ask_procedure")
    text = chat.text
    assert CRIMINAL_RECORD.title in text and CRIMINAL_RECORD.code in text
    for label in (
        "Hồ sơ (1 giấy tờ)",
        "Lệ phí: ",
        "200.000 đồng",
        "Thời hạn: ",
        "10 ngày",
        "Trực tuyến: Nộp trực tuyến toàn trình",
    ):
        assert label in text


def test_close_matches_ask_back_with_buttons_and_a_choice_answers_the_asked_aspect(kb, chat):
    chat.turn(answer, "đăng ký lưu động cần giấy tờ gì", "ask_documents")
    codes = chat.slots["candidate_codes"]
    assert 2 <= len(chat.buttons) <= 5 and len(codes) == len(chat.buttons)
    assert [b["title"] for b in chat.buttons] == [kb.get(code).title for code in codes]
    assert {BIRTH_MOBILE.code, MARRIAGE_MOBILE.code, DEATH_MOBILE.code} <= set(codes)  # the three "lưu động"
    assert chat.buttons[1]["payload"] == '/choose_option{"option_index":"2"}'
    assert chat.slot_events() == {
        "candidate_codes": codes,
        "procedure_code": None,
        "last_aspect": "documents",
        "alternative_codes": [],
    }
    chat.turn(choose, "cái thứ 2", "choose_option", option_index="2")
    assert chat.slots["procedure_code"] == codes[1]
    assert f"Dạ, hồ sơ cần chuẩn bị cho «{kb.get(codes[1]).title}»" in chat.text


def test_option_typed_as_a_word_and_out_of_range(kb, chat):
    chat.turn(answer, "dang ky luu dong", "ask_procedure")
    candidates = chat.slots["candidate_codes"]
    chat.turn(choose, "cái thứ ba", "choose_option")
    assert chat.slots["procedure_code"] == candidates[2]
    chat.turn(choose, "số 9", "choose_option", option_index="9")
    assert chat.events == []
    assert f"từ 1 đến {len(candidates)}" in chat.text


def test_button_with_a_procedure_code_answers_that_procedure(kb, chat):
    chat.turn(
        answer,
        '/ask_procedure{"procedure_code":"%s"}' % BIRTH_MOBILE.code,
        "ask_procedure",
        procedure_code=BIRTH_MOBILE.code,
    )
    assert chat.slots["procedure_code"] == BIRTH_MOBILE.code
    assert BIRTH_MOBILE.title in chat.text


def test_aspect_without_any_procedure_asks_which_one(kb, chat):
    chat.turn(answer, "lệ phí bao nhiêu vậy ạ?", "ask_fee")
    assert "thủ tục nào" in chat.text
    assert chat.slot_events() == {"last_aspect": "fee"}


def test_no_match_abstains_and_offers_a_human(kb, chat):
    chat.turn(answer, "cho hỏi giá vàng hôm nay bao nhiêu", "ask_procedure")
    assert "không tìm thấy thủ tục phù hợp" in chat.text
    assert HOTLINE in chat.text and ONE_STOP_ADDRESS in chat.text
    assert "procedure_code" not in chat.slot_events()


def test_fallback_answers_a_confident_catalogue_match(kb, chat):
    chat.turn(fallback, "giấy tờ căn cước", "nlu_fallback")
    assert chat.events[0] == {"event": "rewind", "timestamp": None}  # the unclear message does not steer rules
    assert chat.slots["procedure_code"] == IDENTITY_CARD.code and IDENTITY_CARD.title in chat.text
    assert all("option_index" not in b.get("payload", "") for b in chat.buttons)  # an answer: next steps, no options


def test_fallback_suggests_close_procedures_with_code_payloads(kb, chat):
    chat.turn(fallback, "lưu động", "nlu_fallback")
    assert len(chat.buttons) >= 2
    assert {b["payload"] for b in chat.buttons} >= {
        '/ask_procedure{"procedure_code":"%s"}' % p.code for p in (BIRTH_MOBILE, MARRIAGE_MOBILE, DEATH_MOBILE)
    }
    assert "gặp cán bộ" in chat.text and "nhân viên" not in chat.text
    assert chat.events == [{"event": "rewind", "timestamp": None}]


def test_fallback_without_any_match_gives_examples_and_no_buttons(kb, chat):
    chat.turn(fallback, "asdfgh qwerty", "nlu_fallback")
    assert chat.buttons == []
    assert "ví dụ" in chat.text


def test_unavailable_knowledge_base_gets_an_apology_not_a_crash(settings, chat, monkeypatch):
    def broken():
        raise KnowledgeBaseError("no index under var/kb: run `tthc kb import PATH`")

    monkeypatch.setattr(common, "get_knowledge_base", broken)
    chat.turn(answer, "làm căn cước cần giấy tờ gì", "ask_documents")
    assert "chưa sẵn sàng" in chat.text
    assert HOTLINE in chat.text
    assert chat.events == []


@pytest.mark.parametrize("intent, aspect", sorted(common.INTENT_ASPECTS.items()))
def test_every_ask_intent_maps_to_an_answered_aspect(kb, chat, intent, aspect):
    chat.turn(answer, "cấp phiếu lý lịch tư pháp", intent)
    assert chat.slots["last_aspect"] == aspect
    assert CRIMINAL_RECORD.source_url in chat.text


def test_a_partly_extracted_entity_does_not_hide_the_rest_of_the_name(kb, chat):
    chat.turn(answer, "đăng ký khai sinh", "ask_procedure")
    assert chat.slots["procedure_code"] == "TEST.KS1"
    chat.turn(answer, "còn khai sinh lưu động thì nộp ở đâu", "ask_where", procedure="khai sinh")
    assert chat.slots["procedure_code"] == BIRTH_MOBILE.code
    assert f"Dạ, nơi nộp hồ sơ «{BIRTH_MOBILE.title}»" in chat.text


def test_an_aspect_asked_instead_of_picking_repeats_the_list_for_that_aspect(kb, chat):
    chat.turn(answer, "đăng ký lưu động", "ask_procedure")
    offered = chat.buttons
    chat.turn(answer, "lệ phí bao nhiêu?", "ask_fee")
    assert chat.buttons == offered
    assert chat.slot_events() == {"last_aspect": "fee"}
    chat.turn(choose, "1", "choose_option", option_index="1")
    assert chat.text.startswith("Dạ, phí, lệ phí của")


def test_an_entity_made_of_aspect_words_does_not_switch(kb, chat):
    chat.turn(answer, "cấp phiếu lý lịch tư pháp", "ask_procedure")
    chat.turn(answer, "hồ sơ gồm những gì?", "ask_documents", procedure="hồ sơ")
    assert chat.slots["procedure_code"] == CRIMINAL_RECORD.code
    assert CRIMINAL_RECORD.documents[0].name in chat.text
