"""A Vietnamese question travels the whole way: Rasa (REST channel) → action → catalogue → reply."""

from __future__ import annotations

import httpx
import pytest

from tests.support.rest_chat import all_text, ask

pytestmark = pytest.mark.e2e


def test_documents_question_gets_documents_and_portal_link(live_stack):
    reply = all_text(ask(live_stack, "e2e-documents", "Đăng ký khai sinh cần những giấy tờ gì?"))
    assert "khai sinh" in reply.lower()
    assert "tờ khai" in reply.lower()  # the birth registration form is a required document
    assert "dichvucong.gov.vn" in reply


def test_question_without_diacritics_and_follow_up_on_fee(live_stack):
    first = all_text(ask(live_stack, "e2e-follow-up", "lam giay khai sinh can nhung gi"))
    assert "khai sinh" in first.lower()
    follow_up = all_text(ask(live_stack, "e2e-follow-up", "còn lệ phí thì sao?"))
    assert "phí" in follow_up.lower()
    assert "khai sinh" in follow_up.lower()  # still about the same procedure


def test_action_server_is_what_answers(live_stack):
    """The app server lists the custom actions that Rasa calls."""
    names = {item["name"] for item in httpx.get(f"{live_stack.app_url}/actions", timeout=10).json()}
    assert "action_answer_procedure" in names
