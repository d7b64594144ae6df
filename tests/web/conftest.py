"""Live servers and a real headless Chromium for the page tests.

- the app server (uvicorn in a thread) on a small sample catalogue, with its own conversation log;
- a fake Rasa REST endpoint (stdlib HTTP server) that answers a few scripted messages, records what it
  receives, can be switched "down" (HTTP 503) or fail the next calls (e.g. a proxy's 502), and serves a
  stand-in provincial web page that embeds the widget with one <script> tag. The real Rasa server is
  exercised by the end-to-end test.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn

from assistant.app import conversation_log
from assistant.app.knowledge_provider import provider
from assistant.app.server.app import create_app
from assistant.core.settings import load_settings
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.ports import NoFreePort, free_port
from tests.support.zalo_outbox import outbox  # noqa: F401 - the fixture, defined once for tests/api and tests/web

SAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "web_catalog.yaml"
# Province facts over one record of it (the staff page flags records carrying them).
LOCAL_FACTS = Path(__file__).resolve().parent.parent / "fixtures" / "web_local_facts.yaml"
PORTS = range(5300, 5400)  # this area's port range on 127.0.0.1
STAFF_TOKEN = "web-test-staff-token"


def web_port() -> int:
    try:
        return free_port(PORTS)
    except NoFreePort as exc:
        pytest.skip(str(exc))


# ---- fake Rasa REST channel ----

CHOOSE_FIRST = '/choose_option{"option_index":"1"}'


GUIDE_QUESTION = "hướng dẫn làm khai sinh"


def real_answer(code: str, aspect: str) -> list[dict]:
    """What the action sends for one aspect on the web chat (assistant.app.answers with the web chat's button count,
    shaped by assistant.app.actions.common.send), from the sample catalogue."""
    from assistant.app import answers
    from assistant.app.actions.common import WEB_MAX_BUTTONS

    [record] = [p for p in load_catalog(SAMPLE_CATALOG).procedures if p.code == code]
    reply = answers.answer(record, aspect, load_settings(environ={}), max_buttons=WEB_MAX_BUTTONS)
    return [{"text": reply.full_text(), "buttons": [button.as_rasa() for button in reply.buttons]}]


ENGLISH_QUESTION = "How do I register a birth?"
PHONE = {"width": 390, "height": 844}


def ask_at_phone_width(page, app_url: str, question: str):
    """Open the web chat on a phone-width screen, send `question`; the locator of the first bot reply."""
    page.set_viewport_size(PHONE)
    page.goto(app_url + "/chat")
    box = page.get_by_label("Câu hỏi của Anh/Chị")
    box.fill(question)
    box.press("Enter")
    return page.locator(".tthc-msg--bot").nth(1)


def assert_fits_phone_width(page, choices) -> None:
    """Nothing scrolls sideways and every one of `choices` is within the screen's width, none cut off."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for index in range(choices.count()):
        box = choices.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def real_english_answer(code: str, aspect: str) -> list[dict]:
    """What the action sends to an English question on the web chat (assistant.app.english_replies)."""
    from assistant.app import english_replies
    from assistant.app.actions.common import WEB_MAX_BUTTONS

    [record] = [p for p in load_catalog(SAMPLE_CATALOG).procedures if p.code == code]
    reply = english_replies.answer(record, aspect, load_settings(environ={}), max_buttons=WEB_MAX_BUTTONS)
    return [{"text": reply.full_text(), "buttons": [button.as_rasa() for button in reply.buttons]}]


def scripted_replies(message: str) -> list[dict]:
    """Replies shaped like Rasa's REST channel output (text, buttons); a test double, not the bot."""
    from knowledge_base import english

    if message == GUIDE_QUESTION:  # the guide card and its quick replies, composed by the real answer code
        return real_answer("1.001193", "overview")
    if message == ENGLISH_QUESTION:  # an English question: the English guide card (issue 15, item 6)
        return real_english_answer("1.001193", "overview")
    if english.procedure_code(message) and english.catalogue_intent(message):  # an English quick reply
        return real_english_answer(english.procedure_code(message), english.aspect(message))
    if message.startswith("/ask_") and '"procedure_code"' in message:
        from assistant.app.answers import ASPECT_INTENTS

        intent, entities = message[1:].split("{", 1)
        aspect = {value: key for key, value in ASPECT_INTENTS.items()}[intent]
        return real_answer(json.loads("{" + entities)["procedure_code"], aspect)
    if message == "im lặng":
        return []  # what Rasa's REST channel sends when the bot has nothing to say
    if message == CHOOSE_FIRST:
        return [{"text": "Anh/Chị đã chọn thủ tục đăng ký khai sinh."}]
    if "html" in message:
        return [
            {
                "text": 'Thử <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
                "[bấm](javascript:window.__xss=3) https://example.gov.vn/a?b=1&c=<i>2</i>"
            }
        ]
    if "khai sinh" in message:
        return [
            {
                "text": "Hồ sơ đăng ký khai sinh gồm:\n- Tờ khai đăng ký khai sinh\n- Giấy chứng sinh\n\n"
                "Chi tiết thủ tục trên Cổng Dịch vụ công quốc gia: "
                "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/khai-sinh-test."
            },
            {
                "text": "Anh/Chị muốn hỏi thủ tục nào?",
                "buttons": [
                    {"title": "Đăng ký khai sinh", "payload": CHOOSE_FIRST},
                    {"title": "Đăng ký khai sinh lưu động", "payload": '/choose_option{"option_index":"2"}'},
                ],
            },
        ]
    return [{"text": "Xin lỗi, tôi chưa hiểu câu hỏi của Anh/Chị."}]


class FakeRasa(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), FakeRasaHandler)
        self.url = f"http://127.0.0.1:{port}"
        self.received: list[dict] = []
        self.down = False
        self.fail_next: list[int] = []  # statuses to answer the next webhook calls with, one each (a proxy's 502)
        self.host_page = ""


class FakeRasaHandler(BaseHTTPRequestHandler):
    server: FakeRasa

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self) -> None:  # CORS preflight, as Rasa run with --cors answers it
        self._send(204, b"", "text/plain")

    def do_GET(self) -> None:
        if self.path.startswith("/host.html"):
            self._send(200, self.server.host_page.encode("utf-8"), "text/html; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        if self.path != "/webhooks/rest/webhook":
            self._send(404, b"[]", "application/json")
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        self.server.received.append(body)
        if self.server.fail_next:
            self._send(self.server.fail_next.pop(0), b"<html>502 Bad Gateway</html>", "text/html")
            return
        if self.server.down:
            self._send(503, b"Service Unavailable", "text/plain")
            return
        replies = [{"recipient_id": body.get("sender"), **reply} for reply in scripted_replies(body.get("message", ""))]
        self._send(200, json.dumps(replies, ensure_ascii=False).encode("utf-8"), "application/json")


@pytest.fixture(scope="session")
def fake_rasa():
    server = FakeRasa(web_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def reset_fake_rasa(fake_rasa):
    fake_rasa.received.clear()
    fake_rasa.down = False
    fake_rasa.fail_next = []


# ---- app server ----


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, fake_rasa):
    data_dir = tmp_path_factory.mktemp("web-kb")
    kb = KnowledgeBase.build(
        load_catalog(SAMPLE_CATALOG, LOCAL_FACTS).procedures, data_dir, model_path=None, progress=False
    )
    patch = pytest.MonkeyPatch()
    patch.setattr(provider, "_kb", kb)
    patch.setattr(conversation_log, "default_db_path", lambda: data_dir / "app.db")
    patch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    # Rate limiting has its own tests; here one browser sends bursts from one address.
    settings = load_settings(
        {
            "TTHC_WEBCHAT__RASA_URL": fake_rasa.url,
            "TTHC_SECURITY__ADMIN_TOKEN": STAFF_TOKEN,
            "TTHC_SECURITY__RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    app = create_app(settings)
    port = web_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the app server did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    patch.undo()


@pytest.fixture()
def conversation_db():
    """The conversation log the app server reads (tests add hand-offs and feedback to it)."""
    path = conversation_log.default_db_path()
    yield path
    path.unlink(missing_ok=True)


# ---- browser ----


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def open_page(browser):
    """Opens pages in fresh browser profiles (empty localStorage), desktop size, Vietnamese locale.

    `staff_token` logs the profile in as staff (HTTP Basic with the token as password, as a staff member
    types it into the browser's prompt); STAFF_TOKEN is the right one.
    Each page collects uncaught JavaScript errors in `page.js_errors`.
    """
    contexts = []

    def open_(staff_token: str | None = None):
        credentials = {"username": "canbo", "password": staff_token} if staff_token else None
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="vi-VN", http_credentials=credentials
        )
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture()
def staff_token() -> str:
    """The admin token the app server under test accepts for the staff view."""
    return STAFF_TOKEN


@pytest.fixture()
def page(open_page):
    return open_page()


SCREENSHOTS = Path("/tmp/tthc-web-screenshots")


@pytest.fixture()
def screenshot():
    """Save a screenshot to /tmp/tthc-web-screenshots for people to look at (no pixel comparison)."""

    def take(page, name: str, **options) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **options)
        return path

    return take


UNLABELLED_CONTROLS_JS = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.offsetParent !== null || el.getClientRects().length)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 80))"""


@pytest.fixture()
def unlabelled_controls():
    """Visible form controls a screen reader could not name (no label, aria-label or button text)."""
    return lambda page: page.evaluate(UNLABELLED_CONTROLS_JS)
