"""The citizens' web chat in real headless Chromium, against a fake Rasa REST endpoint.

The fake answers a few scripted messages (see conftest.scripted_replies); what is tested here is the
page: rendering, buttons, persistence, failure handling, escaping, phone width and keyboard use.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CHOOSE_FIRST = '/choose_option{"option_index":"1"}'


def open_chat(page, app_url):
    page.goto(app_url + "/chat")
    expect(page.locator(".tthc-msg--bot").first).to_contain_text("Dạ, xin chào Anh/Chị")
    return page.get_by_label("Câu hỏi của Anh/Chị")


def ask(page, text):
    box = page.get_by_label("Câu hỏi của Anh/Chị")
    box.fill(text)
    box.press("Enter")


def test_question_gets_answer_with_list_link_and_buttons(page, app_url, fake_rasa, screenshot, unlabelled_controls):
    box = open_chat(page, app_url)
    assert unlabelled_controls(page) == []
    expect(box).to_be_focused()
    box.type("làm giấy khai sinh cần gì")
    box.press("Enter")
    expect(box).to_have_value("")
    expect(page.locator(".tthc-msg--user").last).to_contain_text("làm giấy khai sinh cần gì")
    answer = page.locator(".tthc-msg--bot").nth(1)
    expect(answer.locator("li")).to_have_text(["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"])
    link = answer.locator("a")
    expect(link).to_have_attribute("href", "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/khai-sinh-test")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(answer).to_contain_text("khai-sinh-test.")  # the sentence's full stop stays text, outside the link
    assert fake_rasa.received[-1]["message"] == "làm giấy khai sinh cần gì"
    sender = fake_rasa.received[-1]["sender"]
    assert sender

    buttons = page.locator(".tthc-buttons button")
    expect(buttons).to_have_text(["Đăng ký khai sinh", "Đăng ký khai sinh lưu động"])
    screenshot(page, "chat-answer-desktop")
    buttons.first.click()
    expect(page.locator(".tthc-msg--user").last).to_have_text("Anh/Chị: Đăng ký khai sinh")
    expect(page.locator(".tthc-msg--bot").last).to_contain_text("Anh/Chị đã chọn thủ tục đăng ký khai sinh.")
    assert fake_rasa.received[-1] == {"sender": sender, "message": CHOOSE_FIRST}
    assert unlabelled_controls(page) == []
    assert page.js_errors == []


def test_history_and_sender_survive_a_reload(page, app_url, fake_rasa):
    open_chat(page, app_url)
    ask(page, "khai sinh")
    expect(page.locator(".tthc-buttons")).to_be_visible()
    sender = fake_rasa.received[-1]["sender"]
    before = page.locator(".tthc-log").inner_text()

    page.reload()
    expect(page.locator(".tthc-msg--user")).to_have_text(["Anh/Chị: khai sinh"])
    assert page.locator(".tthc-log").inner_text() == before
    page.locator(".tthc-buttons button").first.click()  # buttons from the restored history still work
    expect(page.locator(".tthc-msg--bot").last).to_contain_text("đã chọn")
    assert fake_rasa.received[-1]["sender"] == sender

    page.get_by_role("button", name="Trò chuyện mới").click()
    expect(page.locator(".tthc-msg--user")).to_have_count(0)
    ask(page, "khai sinh")
    expect(page.locator(".tthc-msg--user")).to_have_count(1)
    expect(page.locator(".tthc-buttons")).to_be_visible()  # answered, so the fake has recorded the request
    assert fake_rasa.received[-1]["sender"] != sender


def test_server_down_shows_a_clear_state_keeps_the_message_and_retries(page, app_url, fake_rasa, screenshot):
    open_chat(page, app_url)
    fake_rasa.down = True
    ask(page, "đăng ký khai sinh ở đâu")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Không kết nối được máy chủ")
    expect(page.locator(".tthc-msg--user").last).to_contain_text("đăng ký khai sinh ở đâu")
    expect(page.locator(".tthc-failed")).to_contain_text("Chưa gửi được")
    screenshot(page, "chat-server-down")

    page.reload()  # the unsent message is still there after a reload, offered for sending again
    expect(page.locator(".tthc-msg--user").last).to_contain_text("đăng ký khai sinh ở đâu")
    expect(page.get_by_role("alert")).to_contain_text("chưa gửi được")

    fake_rasa.down = False
    page.get_by_role("button", name="Thử lại").click()
    expect(page.locator(".tthc-msg--bot").last).to_contain_text("Anh/Chị muốn hỏi thủ tục nào?")
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.locator(".tthc-failed")).to_have_count(0)
    assert [body["message"] for body in fake_rasa.received].count(
        "đăng ký khai sinh ở đâu"
    ) == 3  # the failed try and the widget's own resend a second later, the citizen's retry


@pytest.mark.parametrize("status", [502, 503])
def test_a_proxy_error_is_resent_once_and_answered(page, app_url, fake_rasa, status):
    """The Rasa that had the message died (nginx: 502) or none could take it (503): the widget resends it once
    after a second, another Rasa answers, and the citizen sees the answer, no error."""
    open_chat(page, app_url)
    fake_rasa.fail_next = [status]
    ask(page, "đăng ký khai sinh ở đâu")
    expect(page.locator(".tthc-msg--bot").last).to_contain_text("Anh/Chị muốn hỏi thủ tục nào?")
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.locator(".tthc-failed")).to_have_count(0)
    assert [body["message"] for body in fake_rasa.received] == ["đăng ký khai sinh ở đâu"] * 2


@pytest.mark.parametrize("statuses", [[502, 502], [504]])
def test_a_second_proxy_error_or_a_gateway_timeout_is_shown_not_resent_again(page, app_url, fake_rasa, statuses):
    """One resend only (a second 502 is shown, the citizen decides), and none after a 504: the turn may still run."""
    open_chat(page, app_url)
    fake_rasa.fail_next = list(statuses)
    ask(page, "đăng ký khai sinh ở đâu")
    expect(page.get_by_role("alert")).to_contain_text(f"lỗi {statuses[-1]}")
    expect(page.locator(".tthc-failed")).to_contain_text("Chưa gửi được")
    assert [body["message"] for body in fake_rasa.received] == ["đăng ký khai sinh ở đâu"] * len(statuses)


def test_unreachable_host_is_reported_and_the_typed_text_is_kept(open_page, fake_rasa, app_url):
    page = open_page()
    closed = "http://127.0.0.1:9"  # discard port: nothing listens there
    fake_rasa.host_page = host_page(app_url, closed)
    page.goto(fake_rasa.url + "/host.html")
    page.get_by_role("button", name="Hỏi trợ lý").click()
    box = page.get_by_label("Câu hỏi của Anh/Chị")
    box.fill("nộp hồ sơ xây nhà ở đâu")
    page.reload()  # the open panel and the unsent draft survive a reload
    expect(page.locator(".tthc-panel")).to_be_visible()
    expect(page.get_by_label("Câu hỏi của Anh/Chị")).to_have_value("nộp hồ sơ xây nhà ở đâu")
    page.get_by_label("Câu hỏi của Anh/Chị").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Không kết nối được máy chủ")
    expect(page.locator(".tthc-msg--user").last).to_contain_text("nộp hồ sơ xây nhà ở đâu")


def test_html_in_a_reply_is_shown_as_text_and_never_runs(page, app_url):
    open_chat(page, app_url)
    ask(page, "html <b>đậm</b>")
    reply = page.locator(".tthc-msg--bot").last
    expect(reply).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(reply).to_contain_text("<script>window.__xss=2</script>")
    expect(page.locator(".tthc-msg--user").last).to_contain_text("html <b>đậm</b>")
    assert page.locator(".tthc-log img, .tthc-log script, .tthc-log b").count() == 0
    assert page.locator(".tthc-log a[href^='javascript']").count() == 0
    links = reply.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.gov.vn/a?b=1&c=")  # a URL ends where markup starts
    expect(reply).to_contain_text("c=<i>2</i>")
    assert page.evaluate("window.__xss") is None


def test_an_empty_answer_is_never_silence(page, app_url):
    open_chat(page, app_url)
    expect(page.locator("h1")).to_have_text("Hỏi đáp thủ tục hành chính – tỉnh Tây Ninh")
    ask(page, "im lặng")
    expect(page.locator(".tthc-msg--bot").last).to_contain_text(
        "Dạ, xin lỗi Anh/Chị, tôi chưa trả lời được tin nhắn này"
    )


def test_long_message_is_refused_politely_and_kept(page, app_url, fake_rasa):
    box = open_chat(page, app_url)
    box.fill("a" * 1001)
    box.press("Enter")
    note = page.locator(".tthc-note")
    expect(note).to_contain_text("vượt quá 1000 ký tự")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_value("a" * 1001)
    assert fake_rasa.received == []
    box.press("Backspace")
    expect(note).to_be_hidden()
    box.press("Enter")
    expect(page.locator(".tthc-msg--bot").last).to_contain_text("Xin lỗi, tôi chưa hiểu")
    assert len(fake_rasa.received[-1]["message"]) == 1000

    box.fill("   ")
    box.press("Enter")
    expect(note).to_have_text("Anh/Chị vui lòng nhập câu hỏi trước khi gửi.")
    assert len(fake_rasa.received) == 1


def host_page(app_url: str, rasa_url: str) -> str:
    """A stand-in for the provincial website: its own content plus the one-line embed snippet."""
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Cổng thông tin</title></head>'
        "<body><h1>Cổng thông tin điện tử tỉnh</h1><p>Tin tức, thông báo…</p><a href='#'>Liên kết đầu trang</a>"
        f'<script src="{app_url}/webchat/widget.js" data-rasa-url="{rasa_url}" data-title="Hỏi đáp TTHC"></script>'
        "</body></html>"
    )


def test_embedded_widget_on_another_site_by_keyboard(page, app_url, fake_rasa, screenshot):
    fake_rasa.host_page = host_page(app_url, fake_rasa.url)
    page.goto(fake_rasa.url + "/host.html")
    launcher = page.get_by_role("button", name="Hỏi trợ lý")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".tthc-panel")).to_be_hidden()
    launcher.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("region", name="Hỏi đáp TTHC")
    expect(panel).to_be_visible()
    box = page.get_by_label("Câu hỏi của Anh/Chị")
    expect(box).to_be_focused()
    page.keyboard.type("khai sinh")
    page.keyboard.press("Enter")
    expect(page.locator(".tthc-buttons button").first).to_be_visible()
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    page.keyboard.press("Escape")
    expect(page.locator(".tthc-panel")).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(page.locator("h1")).to_have_text("Cổng thông tin điện tử tỉnh")  # host page untouched

    page.set_viewport_size({"width": 390, "height": 844})
    launcher.click()
    box_size = page.locator(".tthc-panel").bounding_box()
    assert box_size["width"] == 390  # full screen on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "chat-embedded-390")


def test_chat_page_at_phone_width(page, app_url, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    open_chat(page, app_url)
    ask(page, "khai sinh")
    expect(page.locator(".tthc-buttons button").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    send = page.get_by_role("button", name="Gửi")
    assert send.bounding_box()["x"] + send.bounding_box()["width"] <= 390
    screenshot(page, "chat-page-390")


def test_chat_page_uses_the_configured_rasa_url(page, app_url, fake_rasa):
    page.goto(app_url + "/chat")
    config = page.evaluate("window.TTHC_CHAT_CONFIG")
    assert config["rasaUrl"] == fake_rasa.url
    assert config["maxMessageChars"] == 1000
    stored = page.evaluate("Object.keys(localStorage)")
    assert stored == ["tthc-webchat:" + fake_rasa.url]
    assert json.loads(page.evaluate(f"localStorage.getItem('tthc-webchat:{fake_rasa.url}')"))["senderId"]
