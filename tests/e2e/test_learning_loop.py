"""Issue 14's loop end to end, through the real Rasa server and the real app server (own stack: the test
retrains its index): a citizen's question goes unanswered, appears on the staff page, a staff member labels
it to a procedure there; after retraining, the same question and a close paraphrase are answered with it.

The first test is the page side, and checks what the interaction log kept of the citizen's turns (the
outcome each reply states, through the real Rasa server); the second retrains (the trainer reads the labels:
knowledge_base/labelled.py -> knowledge_base/training.py) and asks again.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from assistant.core.reply import OUTCOME_KEY  # noqa: E402
from knowledge_base.labelled import read_labelled  # noqa: E402
from knowledge_base.store import KnowledgeBase  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.live_stack import running_stack  # noqa: E402
from tests.support.rest_chat import all_text, ask  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TOKEN = "e2e-learning-admin-token"
# A story the seed catalogue's models abstain on (tests/e2e/test_scope.py, issue 11 note): «Đăng ký thường trú».
STORY = "tôi đi làm ăn xa ở bình dương mấy năm nay, giờ muốn nhập hộ khẩu vào nhà chị gái"
PARAPHRASE = "đi làm xa ở bình dương mấy năm rồi, giờ tôi muốn nhập hộ khẩu về nhà chị gái thì làm sao"
CODE, TITLE = "1.004222", "Đăng ký thường trú"
ANSWERED = f"«{TITLE}» (mã {CODE})"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Both servers with their own data dir (the test retrains its index) and an admin token."""
    data_dir = tmp_path_factory.mktemp("learning-loop")
    # A longer start-up allowance than the shared stack's: this one starts while other suites run.
    with running_stack(data_dir, env={"TTHC_ADMIN_TOKEN": TOKEN}, timeout=600) as live:
        yield live


def new_citizen() -> str:
    return f"e2e-learning-{uuid.uuid4().hex[:8]}"


def recorded(stack, limit: int) -> list[dict]:
    response = httpx.get(
        stack.app_url + "/api/staff/interactions", params={"limit": limit}, headers={"X-Admin-Token": TOKEN}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_unanswered_question_appears_on_the_page_and_is_labelled_there(stack):
    citizen = new_citizen()
    messages = ask(stack, citizen, STORY)
    assert ANSWERED not in all_text(messages)  # unanswered today (if so, the catalogue learned it: pick another)
    assert all(OUTCOME_KEY not in message for message in messages)  # the outcome stays in the app server
    ask(stack, citizen, "xin chào")  # a template-only turn: not recorded (docs/staff.md, "What is recorded")
    ask(stack, citizen, "bạn tên là gì thế")  # small talk: through action_small_talk, recorded
    rows = [row for row in recorded(stack, 20) if row["question"] in (STORY, "xin chào", "bạn tên là gì thế")]
    assert [row["question"] for row in rows] == ["bạn tên là gì thế", STORY]
    assert rows[0]["outcome"] == "small_talk" and rows[1]["outcome"] in ("abstained", "not_in_catalogue")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="vi-VN", http_credentials={"username": "canbo", "password": TOKEN})
        page = context.new_page()
        page.goto(stack.app_url + "/staff#/chua-tra-loi")
        card = page.locator("#unanswered-groups > li").filter(has=page.locator("h2", has_text=STORY))
        expect(card).to_have_count(1)
        expect(card.locator(".group-count")).to_have_text("1 lần")
        card.locator("summary", has_text="Gán nhãn").click()
        search = card.get_by_label("Tìm thủ tục trong danh mục")
        search.fill("đăng ký thường trú")
        search.press("Enter")
        card.get_by_label(f"{TITLE} (mã {CODE})").check()
        card.get_by_role("button", name="Lưu nhãn").click()
        expect(card.locator(".label-status")).to_have_text("Đã lưu nhãn cho 1 câu hỏi.")
        browser.close()

    assert [(q.question, q.gold) for q in read_labelled(stack.settings.data_dir)] == [(STORY, [CODE])]


def test_after_retraining_the_question_and_a_paraphrase_are_answered_with_the_label(stack):
    assert read_labelled(stack.settings.data_dir), "run with the test above: it labels the question"
    KnowledgeBase.rebuild(stack.settings.data_dir, stack.settings.embedding_model_path, progress=False)
    reloaded = httpx.post(stack.app_url + "/admin/reload", headers={"X-Admin-Token": TOKEN}, timeout=120)
    assert reloaded.status_code == 200, reloaded.text
    for question in (STORY, PARAPHRASE):
        reply = all_text(ask(stack, new_citizen(), question))
        assert ANSWERED in reply, f"{question!r} -> {reply[:300]}"
