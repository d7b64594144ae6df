"""The catalogue decides scope (action_check_scope, the ask_* abstention, the fallback) and the citizen
can correct a wrong procedure (action_offer_alternatives), over the shipped seed catalogue (BM25 index).

The three outcomes of a message: a procedure in the catalogue fits -> answer (or ask back);
an administrative matter the catalogue does not hold -> "not in our catalogue, ask here", recorded;
off-topic -> utter_out_of_scope. Which one is the knowledge base's SearchResponse.scope, not the NLU's.
Messages are chosen so that their scope is unambiguous for the seed catalogue.
"""

from __future__ import annotations

from assistant.app import answers, conversation_log
from assistant.app.actions.procedures import (
    ActionAnswerProcedure,
    ActionCheckScope,
    ActionChooseOption,
    ActionDefaultFallback,
    ActionOfferAlternatives,
    ActionSmallTalk,
)
from assistant.app.actions.support import ActionStoreFeedback
from knowledge_base.schema import Decision, Level, Procedure, Scope
from tests.actions.catalog import HOTLINE

answer = ActionAnswerProcedure()
check_scope = ActionCheckScope()
choose = ActionChooseOption()
offer = ActionOfferAlternatives()
fallback = ActionDefaultFallback()
small_talk = ActionSmallTalk()
feedback = ActionStoreFeedback()

# A long, story-like question the NLU may well call out_of_scope; the catalogue knows it.
BIRTH_STORY = (
    "Tôi muốn hỏi là nhà tôi mới sinh em bé, bây giờ muốn làm giấy khai sinh cho cháu thì phải mang theo những gì ạ"
)
NOT_IN_CATALOGUE = "thủ tục xin trợ cấp thất nghiệp"  # administrative, no such procedure in the seed catalogue
OFF_TOPIC = "hát cho tôi nghe một bài đi"
NOT_IN_CATALOGUE_OPENING = "Dạ, thủ tục Anh/Chị hỏi hiện chưa có trong danh mục thủ tục của tỉnh mà tôi tra cứu được"


def test_the_chosen_messages_have_the_scope_these_tests_rely_on(seed):
    story = seed.search(BIRTH_STORY)
    assert story.decision == Decision.answer and "khai sinh" in story.results[0].title.lower()
    assert seed.search(NOT_IN_CATALOGUE).scope == Scope.administrative
    assert seed.search(OFF_TOPIC).scope == Scope.off_topic


# ---- (a) the catalogue answers what the NLU called out of scope ----------------------------------------


def test_out_of_scope_message_the_catalogue_answers_is_answered(seed, chat):
    chat.turn(check_scope, BIRTH_STORY, "out_of_scope")
    birth = seed.get(chat.slots["procedure_code"])
    assert birth is not None and "khai sinh" in birth.title.lower()
    assert f"«{birth.title}» (mã {birth.code})" in chat.text  # the overview of the procedure
    assert "chỉ hỗ trợ thông tin" not in chat.text
    assert chat.slots["last_aspect"] == "overview"
    assert birth.code not in chat.slots["alternative_codes"] and chat.slots["alternative_codes"]
    # ... and it is the procedure in context afterwards.
    chat.turn(answer, "còn lệ phí thì sao?", "ask_fee")
    assert chat.text.startswith(f"Dạ, phí, lệ phí của «{birth.title}»")


def test_out_of_scope_message_with_close_matches_asks_back(kb, chat):
    chat.turn(check_scope, "tôi đang ở quê, muốn hỏi vụ đăng ký lưu động", "out_of_scope")
    assert 2 <= len(chat.buttons) <= answers.MAX_OPTIONS
    assert chat.slots["candidate_codes"] and chat.slots["procedure_code"] is None
    chat.turn(choose, "cái thứ 1", "choose_option", option_index="1")
    assert chat.slots["procedure_code"] == chat.slots["candidate_codes"][0]


# ---- (b) administrative, not in the catalogue ------------------------------------------------------------


def test_out_of_scope_administrative_question_gets_the_not_in_catalogue_reply_and_is_recorded(seed, settings, chat):
    chat.turn(check_scope, NOT_IN_CATALOGUE, "out_of_scope")
    assert chat.text.startswith(NOT_IN_CATALOGUE_OPENING)
    assert settings.province.one_stop_address in chat.text and HOTLINE in chat.text
    assert settings.national_portal_url in chat.text
    assert chat.buttons == [{"title": "Gặp cán bộ", "payload": "/request_human"}]
    assert "chỉ hỗ trợ thông tin" not in chat.text
    [record] = conversation_log.list_missing_procedures()
    assert record.question == NOT_IN_CATALOGUE and record.channel == "rest"
    assert "procedure_code" not in chat.slot_events()


def test_ask_intent_about_a_procedure_not_in_the_catalogue_gets_the_not_in_catalogue_reply(seed, chat):
    chat.turn(answer, "hồ sơ xin trợ cấp thất nghiệp gồm những gì", "ask_documents")
    assert chat.text.startswith(NOT_IN_CATALOGUE_OPENING)
    assert chat.slot_events() == {"alternative_codes": [], "last_aspect": "documents"}
    assert len(conversation_log.list_missing_procedures()) == 1


def test_a_bare_aspect_still_asks_which_procedure(seed, chat):
    chat.turn(answer, "lệ phí bao nhiêu vậy ạ?", "ask_fee")
    assert "thủ tục nào" in chat.text
    assert conversation_log.list_missing_procedures() == []


def test_fallback_on_an_administrative_question_says_where_to_ask(seed, chat):
    chat.turn(fallback, NOT_IN_CATALOGUE, "nlu_fallback")
    assert chat.text.startswith(NOT_IN_CATALOGUE_OPENING)
    assert chat.events[0] == {"event": "rewind", "timestamp": None}


def test_no_hotline_configured_means_no_hotline_line(seed, monkeypatch, chat):
    from assistant.core.settings import get_settings

    monkeypatch.setenv("TTHC_PROVINCE__HOTLINE", "")
    get_settings.cache_clear()
    chat.turn(check_scope, NOT_IN_CATALOGUE, "out_of_scope")
    assert "Đường dây nóng" not in chat.text and chat.text.startswith(NOT_IN_CATALOGUE_OPENING)


# ---- (c) off-topic ---------------------------------------------------------------------------------------


def test_off_topic_message_gets_the_out_of_scope_response(seed, chat):
    chat.turn(check_scope, OFF_TOPIC, "out_of_scope")
    assert [m.get("response") for m in chat.messages] == ["utter_out_of_scope"]  # the domain's reply, as before
    assert chat.events == [] and conversation_log.list_missing_procedures() == []


def test_button_payload_classified_out_of_scope_is_off_topic(seed, chat):
    chat.turn(check_scope, "/out_of_scope", "out_of_scope")
    assert [m.get("response") for m in chat.messages] == ["utter_out_of_scope"]


# ---- small talk and feedback: the intent does not veto a confident catalogue answer -----------------------
# With the learned decision (e5 + trained models), as `tthc up` builds the seed catalogue; the untrained
# BM25-only decision is not trusted to override an intent.

NAME_SELECTED = {
    "chitchat": {"response": {"intent_response_key": "chitchat/ask_name", "utter_action": "utter_chitchat/ask_name"}}
}


def test_small_talk_gets_the_reply_the_response_selector_chose(learned_seed, chat):
    chat.turn(small_talk, "bạn tên là gì vậy", "chitchat", response_selector=NAME_SELECTED)
    assert [m.get("response") for m in chat.messages] == ["utter_chitchat/ask_name"]
    assert chat.events == []


CAPABILITIES_SELECTED = {
    "chitchat": {
        "response": {
            "intent_response_key": "chitchat/ask_capabilities",
            "utter_action": "utter_chitchat/ask_capabilities",
        }
    }
}


def test_small_talk_without_a_selected_reply_says_what_the_assistant_can_do(learned_seed, chat):
    chat.turn(small_talk, "bạn ơi", "chitchat")
    assert not any(m.get("response") for m in chat.messages)
    assert chat.text.startswith("Dạ, Anh/Chị có thể hỏi về một thủ tục hành chính")


def test_capabilities_offer_dossier_tracking_only_when_a_tracking_system_is_configured(learned_seed, chat, settings):
    """Issue 15, item 7: the reply depends on one_stop_system.tracking_url (empty in these tests)."""
    chat.turn(small_talk, "bạn giúp được gì", "chitchat", response_selector=CAPABILITIES_SELECTED)
    assert "gặp cán bộ" in chat.text and "tình trạng hồ sơ" not in chat.text
    settings.one_stop_system.tracking_url = "http://mot-cua.example/api/ho-so"
    chat.turn(small_talk, "bạn giúp được gì", "chitchat", response_selector=CAPABILITIES_SELECTED)
    assert "tra cứu tình trạng hồ sơ đã nộp bằng mã biên nhận" in chat.text


def test_a_procedure_question_the_nlu_took_for_small_talk_is_answered(learned_seed, chat):
    chat.turn(small_talk, BIRTH_STORY, "chitchat", response_selector=NAME_SELECTED)
    birth = learned_seed.get(chat.slots["procedure_code"])
    assert birth is not None and "khai sinh" in birth.title.lower()
    assert f"«{birth.title}» (mã {birth.code})" in chat.text
    assert not any(m.get("response") for m in chat.messages)


def test_small_talk_the_catalogue_is_unsure_about_keeps_its_reply(learned_seed, chat):
    assert learned_seed.search(OFF_TOPIC).decision == Decision.abstain
    chat.turn(small_talk, OFF_TOPIC, "chitchat", response_selector=NAME_SELECTED)
    assert [m.get("response") for m in chat.messages] == ["utter_chitchat/ask_name"]


def test_a_first_message_taken_for_feedback_is_answered_when_the_catalogue_is_sure(learned_seed, chat):
    chat.turn(feedback, BIRTH_STORY, "feedback_bad")
    assert "khai sinh" in learned_seed.get(chat.slots["procedure_code"]).title.lower()
    assert conversation_log.list_feedback() == []  # nothing was rated


def test_feedback_on_an_answer_is_stored_even_when_it_names_a_procedure(learned_seed, chat):
    chat.turn(answer, "làm giấy khai sinh cần gì", "ask_documents")
    chat.turn(feedback, BIRTH_STORY, "feedback_good")
    assert [r.rating for r in conversation_log.list_feedback()] == ["good"]
    assert not chat.slot_events()  # thanked, not answered again


def test_feedback_with_nothing_to_rate_asks_back_when_several_procedures_fit(learned_seed, chat):
    assert learned_seed.search("chứng thực").decision == Decision.clarify
    chat.turn(feedback, "chứng thực", "feedback_good")
    assert len(chat.slots["candidate_codes"]) >= 2 and chat.buttons
    assert conversation_log.list_feedback() == []


def test_small_talk_the_catalogue_would_ask_back_about_keeps_its_reply(learned_seed, chat):
    chat.turn(small_talk, "chứng thực", "chitchat", response_selector=NAME_SELECTED)
    assert [m.get("response") for m in chat.messages] == ["utter_chitchat/ask_name"]


def test_choosing_with_no_list_shown_lets_the_catalogue_answer(learned_seed, chat):
    chat.turn(choose, "làm giấy khai sinh", "choose_option")
    assert "khai sinh" in learned_seed.get(chat.slots["procedure_code"]).title.lower()


def test_choosing_with_no_list_shown_is_told_so_when_the_catalogue_has_nothing(learned_seed, chat):
    for text in ("cái thứ hai", '/choose_option{"option_index":"2"}'):
        chat.turn(choose, text, "choose_option", option_index="2")
        assert chat.text == answers.unknown_option(0).text and chat.events == []


def test_without_the_learned_decision_small_talk_is_never_overridden(seed, chat):
    assert not seed.learned and seed.search("bạn tên là gì vậy").decision == Decision.answer  # why not trusted
    chat.turn(small_talk, "bạn tên là gì vậy", "chitchat", response_selector=NAME_SELECTED)
    assert [m.get("response") for m in chat.messages] == ["utter_chitchat/ask_name"]


# ---- correcting a wrong procedure --------------------------------------------------------------------


def test_wrong_procedure_offers_the_next_candidates_and_a_choice_answers_the_same_aspect(seed, chat):
    chat.turn(answer, "đăng ký tạm trú cần giấy tờ gì", "ask_documents")
    first = chat.slots["procedure_code"]
    alternatives = chat.slots["alternative_codes"]
    assert first and alternatives and first not in alternatives

    chat.turn(offer, "không phải thủ tục này", "wrong_procedure")
    titles = [b["title"] for b in chat.buttons]
    assert 1 <= len(titles) <= answers.MAX_OPTIONS and len(set(titles)) == len(titles)
    assert chat.slots["candidate_codes"] == alternatives[: len(titles)]
    assert chat.slots["procedure_code"] is None and chat.slots["alternative_codes"] == []
    assert chat.buttons[0]["payload"] == '/choose_option{"option_index":"1"}'
    assert all(seed.get(code).title in title for code, title in zip(chat.slots["candidate_codes"], titles, strict=True))

    chat.turn(choose, "cái thứ 2", "choose_option", option_index="2")
    chosen = seed.get(chat.slots["procedure_code"])
    assert chosen.code == alternatives[1]
    assert chat.text.startswith(f"Dạ, hồ sơ cần chuẩn bị cho «{chosen.title}»")  # the aspect asked first
    # The rest of the offered list stays available for another correction.
    assert chat.slots["alternative_codes"] == [c for c in alternatives[: len(titles)] if c != chosen.code]


def test_folded_correction_after_a_follow_up_still_offers_the_first_search(seed, chat):
    chat.turn(answer, "đăng ký tạm trú ở đâu", "ask_where")
    alternatives = chat.slots["alternative_codes"]
    chat.turn(answer, "lệ phí bao nhiêu", "ask_fee")  # a follow-up keeps the remembered candidates
    assert "alternative_codes" not in chat.slot_events()
    chat.turn(offer, "khong phai thu tuc nay", "wrong_procedure")
    assert chat.slots["candidate_codes"] == alternatives[: len(chat.buttons)]


def test_correction_without_alternatives_asks_for_the_name(seed, chat):
    chat.turn(offer, "sai thủ tục rồi", "wrong_procedure")
    assert "cho tôi biết rõ hơn tên thủ tục" in chat.text and "gặp cán bộ" in chat.text
    assert chat.buttons == []
    chat.turn(answer, "đăng ký lưu động", "ask_procedure")
    # After an ask-back list nothing was answered: no alternatives either.
    chat.turn(offer, "thủ tục khác", "wrong_procedure")
    assert "cho tôi biết rõ hơn tên thủ tục" in chat.text


def test_correction_after_an_out_of_scope_answer(seed, chat):
    chat.turn(check_scope, BIRTH_STORY, "out_of_scope")
    answered = seed.get(chat.slots["procedure_code"])
    chat.turn(offer, "thủ tục khác", "wrong_procedure")
    assert chat.buttons and answered.code not in chat.slots["candidate_codes"]
    assert any("khai sinh" in b["title"].lower() for b in chat.buttons)  # its siblings come first


# ---- option titles a citizen can tell apart --------------------------------------------------------------


def _procedure(code: str, title: str, level: Level, agency: str) -> Procedure:
    return Procedure(code=code, title=title, levels=[level], agencies=[agency])


def test_identical_titles_get_their_level_and_equal_levels_their_agency():
    procedures = [
        _procedure("A", "Cấp giấy phép xây dựng", Level.province, "Sở Xây dựng"),
        _procedure("B", "Cấp giấy phép xây dựng", Level.commune, "UBND cấp xã"),
        _procedure("C", "Cấp giấy phép xây dựng.", Level.commune, "Ban quản lý khu kinh tế"),
        _procedure("D", "Đăng ký khai sinh", Level.commune, "UBND cấp xã"),
    ]
    labels = answers.distinct_titles(procedures)
    assert labels[0] == "Cấp giấy phép xây dựng (Cấp tỉnh)"
    assert labels[1] == "Cấp giấy phép xây dựng (UBND cấp xã)"
    assert labels[2] == "Cấp giấy phép xây dựng. (Ban quản lý khu kinh tế)"
    assert labels[3] == "Đăng ký khai sinh"  # nothing like it: unchanged
    assert len(set(labels)) == len(labels)
