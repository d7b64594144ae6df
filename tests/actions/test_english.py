"""English for foreigners (issue 15, item 6): an English question is recognised, answered with English labels
around the record's Vietnamese text and a note that details are in Vietnamese; follow-ups and quick replies
stay in English."""

from __future__ import annotations

import pytest

from assistant.app.actions.procedures import (
    ActionAnswerProcedure,
    ActionCheckScope,
    ActionChooseOption,
    ActionDefaultFallback,
)
from assistant.app.english_replies import VIETNAMESE_NOTE
from knowledge_base import english

answer = ActionAnswerProcedure()


@pytest.mark.parametrize(
    "text",
    [
        "How do I register temporary residence?",
        "What documents do I need to register a birth?",
        "passport",
        "How much is the fee?",
        "I lost my ID card. How do I get it reissued?",
    ],
)
def test_english_is_recognised(text):
    assert english.is_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "làm căn cước cần giấy tờ gì",
        "lam the can cuoc can giay to gi",  # folded Vietnamese: "the", "can", "to" are Vietnamese syllables here
        "dang ky tam tru o dau",
        "cccd online duoc ko",
        "ok",
        "hello",  # one-word chat Vietnamese uses too
        "thủ tục 1.004194",
    ],
)
def test_vietnamese_and_chat_are_not_english(text):
    assert not english.is_english(text)


def test_evidence_explains_the_decision():
    evidence = english.evidence("How do I register a birth?")
    assert evidence.words == 6 and evidence.english_only >= 3 and evidence.share >= english.ENGLISH_SHARE


def test_glossary_reads_general_administrative_english():
    assert english.glossary_terms("I need a birth certificate and a passport") == ["giấy khai sinh", "hộ chiếu"]
    assert english.glossary_terms("When will I get it?") == []  # the modal "will" is not a testament


def test_english_question_is_answered_with_english_labels_and_the_vietnamese_note(seed, chat):
    chat.turn(answer, "How do I register temporary residence?", "ask_procedure")
    assert chat.slots["procedure_code"] == "1.004194"
    text = chat.text
    assert "«Đăng ký tạm trú» (code 1.004194)" in text
    for label in ("- Handled by:", "- Documents to bring (", "- Fee:", "- Processing time:", "- Online:"):
        assert label in text
    assert VIETNAMESE_NOTE in text
    assert "Dạ," not in text and "Anh/Chị" not in text.split(VIETNAMESE_NOTE)[0].split("\n")[0]
    titles = [b["title"] for b in chat.buttons]
    assert titles == [
        "Steps",
        "Documents",
        "Apply online?",
        "Where to apply",
        "Fee",
        "Processing time",
        "Printable checklist",
        "Talk to staff",
    ]


def test_english_follow_up_and_quick_reply_stay_in_english(seed, chat):
    chat.turn(answer, "How do I register temporary residence?", "ask_procedure")
    chat.turn(answer, "How much is the fee?", "ask_fee")
    assert chat.text.startswith("Fee for «Đăng ký tạm trú» (code 1.004194):")
    [button] = [b for b in chat.buttons if b["title"] == "Documents"]
    assert button["payload"] == "Documents for 1.004194"
    assert english.catalogue_intent(button["payload"]) == "ask_documents"  # the NLU's English router
    chat.turn(answer, button["payload"], "ask_documents")
    assert chat.text.startswith("Documents for «Đăng ký tạm trú» (code 1.004194):")
    assert "☐" in chat.text


def test_every_english_quick_reply_routes_to_its_aspect(seed, chat):
    chat.turn(answer, "How do I register temporary residence?", "ask_procedure")
    expected = {
        "Steps": "ask_steps",
        "Documents": "ask_documents",
        "Apply online?": "ask_online",
        "Where to apply": "ask_where",
        "Fee": "ask_fee",
        "Processing time": "ask_processing_time",
    }
    for button in chat.buttons:
        if button["title"] in expected:
            assert english.catalogue_intent(button["payload"]) == expected[button["title"]], button


def test_english_question_outside_the_catalogue_is_told_so_in_english(seed, chat):
    chat.turn(answer, "How do I apply for a work permit?", "ask_procedure")
    assert chat.text.startswith("Sorry, I could not find this procedure")
    assert [b["title"] for b in chat.buttons] == ["Talk to staff"]


def test_english_question_the_nlu_called_out_of_scope_is_answered_in_english(seed, chat):
    chat.turn(ActionCheckScope(), "Where do I register my permanent residence?", "out_of_scope")
    assert chat.text.startswith("Where to apply for «Đăng ký thường trú» (code 1.004222):")


def test_english_small_talk_keeps_the_nlu_intent():
    assert english.catalogue_intent("thank you") is None and english.catalogue_intent("hello") is None
    assert english.catalogue_intent("What is the weather like in Hanoi today?") is None
    assert english.catalogue_intent("How much is the passport fee?") == "ask_fee"
    assert english.catalogue_intent('/ask_fee{"procedure_code":"1.001193"}') is None


def test_fallback_answers_an_english_question(seed, chat):
    chat.turn(ActionDefaultFallback(), "How do I get a copy of my birth certificate?", "nlu_fallback")
    assert "(code 2.000635)" in chat.text or "Which of these procedures" in chat.text


@pytest.mark.parametrize("pick", ["2", "the second one", "option 2", "number two"])
def test_english_ask_back_is_answered_by_a_typed_number_in_english(seed, chat, pick):
    """Issue 15, item 6: like "cái thứ 2" after a Vietnamese list, a foreigner types the option's number."""
    chat.turn(ActionAnswerProcedure(), "How do I get an identity card?", "ask_procedure")
    offered = chat.slot_events()["candidate_codes"]
    assert len(offered) >= 2 and chat.buttons[1]["payload"] == f"Tell me about procedure {offered[1]}"
    # "2" is the NLU's choose_option (Vietnamese training); the English router gives the words choose_option.
    assert pick == "2" or english.catalogue_intent(pick) == "choose_option"
    chat.turn(ActionChooseOption(), pick, "choose_option")
    assert f"(code {offered[1]})" in chat.text and VIETNAMESE_NOTE in chat.text
    assert chat.slot_events()["procedure_code"] == offered[1]


def test_english_pick_outside_the_list_is_told_in_english(seed, chat):
    chat.turn(ActionAnswerProcedure(), "How do I get an identity card?", "ask_procedure")
    count = len(chat.slot_events()["candidate_codes"])
    chat.turn(ActionChooseOption(), "the fifth one" if count < 5 else "option 9", "choose_option")
    assert chat.text == f"Please choose a number from 1 to {count} from the list above (or tap one)."


def test_vietnamese_pick_after_a_vietnamese_list_stays_vietnamese(kb, chat):
    chat.turn(ActionAnswerProcedure(), "dang ky luu dong", "ask_procedure")
    offered = chat.slot_events()["candidate_codes"]
    chat.turn(ActionChooseOption(), "2", "choose_option")
    assert f"(mã {offered[1]})" in chat.text and VIETNAMESE_NOTE not in chat.text
