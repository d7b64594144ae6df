"""Next steps in the web chat and the printable checklist page, in real headless Chromium at phone width
(issue 15, item 2). The fake Rasa answers the guide question and the quick replies' payloads with the real
answer code (conftest.real_answer); what is tested is what the citizen sees and taps."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.next_steps import WEB_CHAT_NEXT_STEPS
from tests.web.conftest import GUIDE_QUESTION, PHONE, ask_at_phone_width, assert_fits_phone_width

pytestmark = pytest.mark.browser


def test_quick_replies_after_the_guide_card_at_phone_width(page, app_url, fake_rasa, screenshot):
    card = ask_at_phone_width(page, app_url, GUIDE_QUESTION)
    expect(card).to_contain_text("«Thủ tục đăng ký khai sinh» (mã 1.001193)")
    expect(card).to_contain_text("Giấy tờ tùy thân của người đi đăng ký [chỉ xuất trình]")
    choices = card.locator(".tthc-buttons > *")
    expect(choices).to_have_text(WEB_CHAT_NEXT_STEPS)
    link = card.locator("a.tthc-choice--link")
    expect(link).to_have_attribute("href", app_url + "/checklist/1.001193")
    expect(link).to_have_attribute("target", "_blank")
    assert_fits_phone_width(page, choices)
    screenshot(page, "chat-guide-card-390")

    card.get_by_role("button", name="Lệ phí").click()
    expect(page.locator(".tthc-msg--user").last).to_have_text("Anh/Chị: Lệ phí")  # the title, not the payload
    fee = page.locator(".tthc-msg--bot").nth(2)
    expect(fee).to_contain_text("Dạ, phí, lệ phí của «Thủ tục đăng ký khai sinh»")
    # Read once the reply is shown: click() returns before the widget's request reaches the fake Rasa.
    assert fake_rasa.received[-1]["message"] == '/ask_fee{"procedure_code":"1.001193"}'
    expect(fee).to_contain_text("Anh/Chị cũng cần biết:")
    expect(fee.locator(".tthc-buttons > *")).not_to_contain_text(["Lệ phí"])
    assert page.js_errors == []


def test_the_checklist_page_on_a_phone_and_in_print(page, app_url, screenshot, unlabelled_controls):
    page.set_viewport_size(PHONE)
    response = page.goto(app_url + "/checklist/1.001193")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text("Thủ tục đăng ký khai sinh")
    expect(page.locator(".print-kind")).to_have_text("Phiếu hướng dẫn chuẩn bị hồ sơ thủ tục hành chính")
    items = page.locator(".checklist li")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Tờ khai đăng ký khai sinh")
    expect(items.first).to_contain_text("Mẫu: Mẫu tờ khai đăng ký khai sinh")
    expect(items.nth(2)).to_contain_text("Chỉ xuất trình")
    expect(page.locator("h3")).to_have_text(["Giấy tờ phải nộp", "Giấy tờ phải xuất trình"])
    items.first.locator("label").click()  # a citizen ticks what is ready
    expect(items.first.locator("input")).to_be_checked()
    assert unlabelled_controls(page) == []
    expect(page.locator("#h-fee + .prose")).to_contain_text("Miễn phí")
    qr = page.locator("img.qr")
    expect(qr).to_have_attribute("src", "/api/procedures/1.001193/qr.svg")
    page.wait_for_function("() => document.querySelector('img.qr').complete")
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    expect(page.locator("a.portal-url")).to_have_attribute(
        "href", "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/khai-sinh-test"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("script").count() == 0  # no script: the strict default CSP holds
    screenshot(page, "checklist-390", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator(".print-header")).to_be_visible()
    expect(items).to_have_count(3)
    screenshot(page, "checklist-print", full_page=True)
    assert page.js_errors == []


def test_an_unknown_code_is_a_plain_404_page(app_url):
    response = httpx.get(app_url + "/checklist/0.000000", timeout=10)
    assert response.status_code == 404 and "Không tìm thấy thủ tục" in response.text
    assert httpx.get(app_url + "/checklist/a%3Cb", timeout=10).status_code == 422  # not a catalogue code
