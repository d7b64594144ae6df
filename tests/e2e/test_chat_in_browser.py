"""A citizen in a real browser: the chat page asks the live Rasa server, which calls the live actions."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="vi-VN")
        yield context.new_page()
        browser.close()


def ask(page, text: str) -> None:
    box = page.get_by_label("Câu hỏi của Anh/Chị")
    box.fill(text)
    box.press("Enter")


def test_question_answer_with_portal_link_then_follow_up_after_reload(live_stack, page):
    page.goto(f"{live_stack.app_url}/chat")
    ask(page, "Đăng ký khai sinh cho con cần giấy tờ gì ạ?")
    # The answer may come as several messages (checklist, then links).
    expect(page.locator(".tthc-msg--bot").filter(has_text="Tờ khai").first).to_be_visible(timeout=60_000)
    expect(page.locator(".tthc-msg--bot a[href*='dichvucong.gov.vn']").first).to_be_visible()

    page.reload()  # the conversation and its context survive a reload
    expect(page.locator(".tthc-msg--bot").filter(has_text="Tờ khai").first).to_be_visible()
    bot_messages = page.locator(".tthc-msg--bot").count()
    ask(page, "lệ phí bao nhiêu?")
    expect(page.locator(".tthc-msg--bot").nth(bot_messages)).to_contain_text("phí", timeout=60_000)
