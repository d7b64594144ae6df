"""English in the web chat at phone width, in real headless Chromium (issue 15, item 6): the English guide card
with English quick replies, and a tap sends the English quick reply's text (the NLU routes it back to the
English answer). The fake Rasa answers with the real English reply code (conftest.real_english_answer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import ENGLISH_QUESTION, ask_at_phone_width, assert_fits_phone_width

pytestmark = pytest.mark.browser


def test_english_guide_card_and_quick_reply_at_phone_width(page, app_url, fake_rasa, screenshot):
    card = ask_at_phone_width(page, app_url, ENGLISH_QUESTION)
    expect(card).to_contain_text("(code 1.001193)")
    expect(card).to_contain_text("Documents to bring (")  # the widget shows "- " lines as a list
    expect(card).to_contain_text("Note: the procedure's details are quoted in Vietnamese")
    choices = card.locator(".tthc-buttons > *")
    expect(choices).to_have_text(
        [
            "Steps",
            "Documents",
            "Apply online?",
            "Where to apply",
            "Fee",
            "Processing time",
            "Printable checklist",
            "Talk to staff",
        ]
    )
    expect(card.locator("a.tthc-choice--link")).to_have_attribute("href", app_url + "/checklist/1.001193")
    assert_fits_phone_width(page, choices)
    screenshot(page, "chat-english-card-390")

    card.get_by_role("button", name="Fee", exact=True).click()
    fee = page.locator(".tthc-msg--bot").nth(2)
    expect(fee).to_contain_text("Fee for «Thủ tục đăng ký khai sinh» (code 1.001193):")
    assert fake_rasa.received[-1]["message"] == "Fee for 1.001193"
    assert page.js_errors == []
