"""The hand-off reply tells the truth about what happens next (issue 14 item 6): on Zalo a staff member can write
back in the same chat; a web chat is anonymous, so the citizen gets the hotline and the counter instead."""

from __future__ import annotations

from assistant.app import conversation_log, handoff_desk
from assistant.app.actions.support import ActionHandoff
from tests.actions.catalog import HOTLINE, ONE_STOP_ADDRESS
from tests.actions.conftest import Conversation

handoff = ActionHandoff()


def test_web_chat_hand_off_says_it_is_anonymous_and_gives_hotline_and_counter(kb):
    chat = Conversation(sender_id="web-7f3a", channel="rest")
    chat.turn(handoff, "cho tôi gặp cán bộ", "request_human")
    assert chat.text.startswith("Dạ, cuộc trò chuyện trên trang web là ẩn danh")
    assert "không thể nhắn trả lời Anh/Chị tại đây" in chat.text
    assert f"Đường dây nóng: {HOTLINE}" in chat.text and f"Nơi tiếp nhận trực tiếp: {ONE_STOP_ADDRESS}" in chat.text
    assert "Zalo" not in chat.text  # no promise the web chat cannot keep
    [case] = handoff_desk.list_cases()
    assert case.channel == "rest" and case.can_reply is False and case.status == "open"


def test_zalo_hand_off_says_staff_will_answer_in_the_same_chat(kb):
    chat = Conversation(sender_id="8512345678901234567", channel="zalo")
    chat.turn(handoff, "tôi muốn hỏi cán bộ", "request_human")
    assert chat.text.startswith("Dạ, tôi đã chuyển cuộc trò chuyện này tới cán bộ tiếp nhận.")
    assert "trả lời Anh/Chị ngay trong cuộc trò chuyện Zalo này" in chat.text
    assert HOTLINE in chat.text and ONE_STOP_ADDRESS in chat.text  # still there if it is urgent
    [flag] = conversation_log.list_handoffs()
    assert flag.channel == "zalo"
    [case] = handoff_desk.list_cases()
    assert case.can_reply is True and case.conversation.startswith("zu-") and "8512345678901234567" not in str(case)


def test_only_zalo_conversations_can_be_answered_by_staff():
    assert handoff_desk.staff_can_reply("zalo")
    for channel in ("rest", "", None, "cmdline", "socketio"):
        assert not handoff_desk.staff_can_reply(channel)
