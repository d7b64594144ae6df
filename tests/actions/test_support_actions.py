"""action_handoff / action_store_feedback / action_track_dossier, with the SQLite log and a stub one-stop system."""

from __future__ import annotations

import pytest

from assistant.app import conversation_log
from assistant.app.actions.procedures import ActionAnswerProcedure, ActionChooseOption
from assistant.app.actions.support import ActionHandoff, ActionStoreFeedback, ActionTrackDossier
from assistant.core.privacy import mask_pii
from assistant.core.settings import get_settings
from tests.actions.catalog import HOTLINE, IDENTITY_CARD, ONE_STOP_ADDRESS
from tests.support.one_stop_stub import PORT_RANGE, OneStopStub
from tests.support.ports import free_port

answer = ActionAnswerProcedure()
choose = ActionChooseOption()
handoff = ActionHandoff()
feedback = ActionStoreFeedback()
track = ActionTrackDossier()

CITIZEN_ID = "079203001234"
PHONE = "0912 345 678"
RECEIPT = "000.00.12.H59-250101-0001"


def test_handoff_flags_the_conversation_masked_and_gives_contacts(kb, chat):
    # The procedure is pinned (as a button would) so this test is about storage, not ranking.
    chat.turn(
        answer,
        f"làm căn cước cần giấy tờ gì ạ, CCCD cũ của em {CITIZEN_ID}",
        "ask_documents",
        procedure_code=IDENTITY_CARD.code,
    )
    assert IDENTITY_CARD.documents[0].name in chat.text
    chat.turn(handoff, f"cho tôi gặp nhân viên, sđt {PHONE}", "request_human")
    assert chat.slot_events() == {"handoff_requested": True}
    assert HOTLINE in chat.text and ONE_STOP_ADDRESS in chat.text

    [flag] = conversation_log.list_handoffs()
    assert flag.sender_id == chat.sender_id and flag.channel == "rest"
    senders = [m["sender"] for m in flag.messages]
    assert senders[0] == "user" and "bot" in senders and senders[-1] == "user"
    stored = "\n".join(m["text"] for m in flag.messages)
    assert CITIZEN_ID not in stored and PHONE not in stored
    assert "[số CCCD đã ẩn]" in stored and "[SĐT đã ẩn]" in stored
    assert "Tờ khai thay đổi thông tin căn cước" in stored  # the bot's answer is part of what staff see
    db = get_settings().data_dir / "app.db"
    assert db.exists()


def test_feedback_is_stored_with_the_rated_question_and_answer(kb, chat):
    chat.turn(
        answer, f"làm căn cước cần giấy tờ gì ạ, em {CITIZEN_ID}", "ask_documents", procedure_code=IDENTITY_CARD.code
    )  # pinned: this test is about storage, not ranking
    given = chat.text
    assert IDENTITY_CARD.documents[0].name in given
    chat.turn(feedback, "sai rồi", "feedback_bad")
    assert "đã được ghi lại" in chat.text
    chat.turn(feedback, "à không, đúng rồi cảm ơn", "feedback_good")

    good, bad = conversation_log.list_feedback()  # newest first
    assert (good.rating, bad.rating) == ("good", "bad")
    for record in (good, bad):  # the second rating skips the first and rates the same answer
        assert record.question == "làm căn cước cần giấy tờ gì ạ, em [số CCCD đã ẩn]"
        assert record.answer == mask_pii(given)  # the answer as given (phone numbers in it masked too)
        assert IDENTITY_CARD.documents[0].name in record.answer
    assert [r.id for r in conversation_log.list_feedback(rating="bad")] == [bad.id]


@pytest.fixture
def tracking_to(monkeypatch, settings):
    def configure(url: str) -> None:
        monkeypatch.setenv("TTHC_ONE_STOP_SYSTEM__TRACKING_URL", url)
        monkeypatch.setenv("TTHC_ONE_STOP_SYSTEM__TIMEOUT_SECONDS", "2")
        get_settings.cache_clear()

    return configure


def test_dossier_found_in_the_one_stop_system(chat, tracking_to):
    dossier = {"status": "Đang giải quyết", "procedure": "Cấp thẻ căn cước", "due_at": "2026-12-03"}
    with OneStopStub({RECEIPT: dossier}) as stub:
        tracking_to(stub.tracking_url)
        chat.turn(track, f"tra cứu hồ sơ {RECEIPT.lower()} giúp tôi", "track_dossier")
    assert stub.requests == [f"/dossiers/{RECEIPT}"]
    assert f"Dạ, hồ sơ {RECEIPT}: Đang giải quyết" in chat.text
    assert "Ngày hẹn trả kết quả: 2026-12-03" in chat.text
    assert chat.slot_events() == {"dossier_code": RECEIPT}


def test_unknown_dossier_code(chat, tracking_to):
    with OneStopStub({}) as stub:
        tracking_to(stub.tracking_url)
        chat.turn(track, "ABC-123456", "track_dossier", dossier_code="ABC-123456")
    assert "Dạ, tôi không tìm thấy hồ sơ có mã ABC-123456" in chat.text


def test_malformed_code_is_refused_before_any_request(chat, tracking_to):
    with OneStopStub({}) as stub:
        tracking_to(stub.tracking_url)
        chat.turn(track, "mã hồ sơ là #12", "track_dossier", dossier_code="#12")
    assert stub.requests == []
    assert "không đúng định dạng" in chat.text


def test_system_errors_and_an_unreachable_system_are_told_as_such(chat, tracking_to):
    with OneStopStub({RECEIPT: {"status": "x"}}, fail_with=500) as stub:
        tracking_to(stub.tracking_url)
        chat.turn(track, RECEIPT, "track_dossier", dossier_code=RECEIPT)
    assert "chưa kết nối được hệ thống một cửa" in chat.text
    tracking_to(f"http://127.0.0.1:{free_port(PORT_RANGE)}/dossiers")  # nothing listens there
    chat.turn(track, RECEIPT, "track_dossier", dossier_code=RECEIPT)
    assert "chưa kết nối được hệ thống một cửa" in chat.text


def test_tracking_not_configured(chat, settings):
    chat.turn(track, RECEIPT, "track_dossier", dossier_code=RECEIPT)
    assert "chưa được kết nối với hệ thống một cửa" in chat.text


def test_tracking_without_a_code_asks_for_it(chat, settings):
    chat.turn(track, "tôi muốn tra cứu hồ sơ", "track_dossier")
    assert "vui lòng gửi mã hồ sơ" in chat.text
    assert chat.events == []


def test_feedback_after_a_button_choice_keeps_the_typed_question(kb, chat):
    chat.turn(answer, "đăng ký lưu động", "ask_procedure")
    chat.turn(choose, '/choose_option{"option_index":"1"}', "choose_option", option_index="1")
    given = chat.text
    chat.turn(feedback, "hay quá", "feedback_good")
    [record] = conversation_log.list_feedback()
    assert record.question == "đăng ký lưu động (chọn từ danh sách gợi ý)"
    assert record.answer == mask_pii(given)
