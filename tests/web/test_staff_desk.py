"""The dashboard (#/thong-ke) and the hand-offs (#/gap-can-bo) of the staff page in real headless Chromium
(issue 14 items 4, 6): the charts are drawn (pixels in the screenshot, a bar per day with questions), and a staff
reply reaches a Zalo citizen through the Zalo outbox and the connector's client, against the local fake Zalo API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from assistant.app import conversation_log, handoff_desk
from tests.support import dashboard_data, png_pixels
from tests.support.ports import free_port

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
WEEK = "since=2026-11-01&until=2026-11-07"
ZALO_USER = "8512345678901234567"
PHONE = "0912 345 678"
CHARTS_LOADED = """() => {
  const images = Array.from(document.querySelectorAll('#dashboard-view .chart img'));
  return images.length === 6 && images.every((img) => img.complete && img.naturalWidth > 0);
}"""


def bars_in_screenshot(page, chart: str) -> tuple[int, int]:
    """(bars crossing a line just above the x axis, saturated pixels) in a screenshot of one chart image."""
    image = png_pixels.decode(page.locator(f"#chart-{chart} img").screenshot())
    scale = image.width / 720  # the SVG is 720 units wide; the x axis is at y = 262
    scanline = image.row(int(257 * scale))
    bars = png_pixels.runs([png_pixels.colored(pixel) for pixel in scanline])
    drawn = sum(
        png_pixels.colored(image.pixel(x, y)) for y in range(0, image.height, 2) for x in range(0, image.width, 2)
    )
    return bars, drawn


def test_dashboard_draws_the_charts_with_data(
    open_page, staff_token, app_url, conversation_db, screenshot, unlabelled_controls
):
    dashboard_data.seed()
    page = open_page(staff_token=staff_token)
    page.goto(f"{app_url}/staff#/thong-ke?{WEEK}")
    expect(page.locator("#dashboard-status")).to_have_text("Từ 01/11/2026 đến 07/11/2026 (Tất cả kênh): 10 câu hỏi.")
    expect(page.locator("a[data-nav=dashboard]")).to_have_attribute("aria-current", "page")
    expect(page.locator("#kpi-questions dd")).to_have_text("10")
    expect(page.locator("#kpi-answered dd")).to_have_text("40%")
    expect(page.locator("#kpi-asked-back dd")).to_have_text("10%")
    expect(page.locator("#kpi-declined dd")).to_have_text("40%")
    expect(page.locator("#kpi-feedback dd")).to_have_text("67% của 3 đánh giá")
    expect(page.locator("#kpi-latency dd")).to_have_text("0,8 giây / 3 giây")
    page.wait_for_function(CHARTS_LOADED)
    assert unlabelled_controls(page) == []

    # One bar per day with questions (4 of the 7 days), drawn: coloured pixels where the bars stand.
    bars, drawn = bars_in_screenshot(page, "questions-per-day")
    assert bars == len(dashboard_data.DAYS_WITH_QUESTIONS)
    assert drawn > 500
    for chart in ("outcomes", "top-procedures", "top-unanswered", "feedback", "latency"):
        image = png_pixels.decode(page.locator(f"#chart-{chart} img").screenshot())
        coloured = sum(
            png_pixels.colored(image.pixel(x, y)) for y in range(0, image.height, 2) for x in range(0, image.width, 2)
        )
        assert coloured > 200, f"{chart} looks blank ({coloured} coloured pixels)"

    # The numbers behind each chart, as text (HTML in a citizen's question stays text).
    unanswered = page.locator("#chart-top-unanswered details")
    unanswered.locator("summary").click()
    rows = unanswered.locator("table").first.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_text("xin giấy phép nuôi rồng2")
    expect(rows.nth(1).locator("td").first).to_have_text("xây nhà cần giấy gì <b>gấp</b> [SĐT đã ẩn]")
    page.locator("#chart-top-procedures summary").click()
    expect(page.locator("#chart-top-procedures tbody tr").first).to_contain_text("Thủ tục đăng ký khai sinh")
    screenshot(page, "staff-dashboard-desktop", full_page=True)

    # Filter by channel with the form: Zalo had questions on three days.
    page.select_option("#dash-channel", "zalo")
    page.click("#dashboard-form button[type=submit]")
    expect(page.locator("#dashboard-status")).to_have_text("Từ 01/11/2026 đến 07/11/2026 (Zalo): 3 câu hỏi.")
    assert "channel=zalo" in page.url
    page.wait_for_function(CHARTS_LOADED)
    expect(page.locator("#chart-questions-per-day img")).to_have_attribute(
        "src", f"/api/staff/dashboard/questions-per-day.svg?{WEEK}&channel=zalo"
    )
    assert bars_in_screenshot(page, "questions-per-day")[0] == 3
    assert page.js_errors == []


def test_dashboard_says_what_is_wrong_with_a_range(open_page, staff_token, app_url, conversation_db):
    page = open_page(staff_token=staff_token)
    page.goto(f"{app_url}/staff#/thong-ke?since=2026-11-07&until=2026-11-01")
    expect(page.locator("#dashboard-status")).to_have_text(
        "Ngày bắt đầu 07/11/2026 sau ngày kết thúc 01/11/2026: vui lòng đổi lại."
    )
    expect(page.locator("#dashboard-view .chart")).to_have_count(0)
    wrong = open_page(staff_token="not-the-token")
    wrong.goto(f"{app_url}/staff#/thong-ke")
    expect(wrong.locator("#dashboard-status")).to_have_text("Mã quản trị không đúng.")


@pytest.fixture()
def fake_zalo(tmp_path):
    """The local fake Zalo OA API, in the Rasa environment (aiohttp) as its own process."""
    if not RASA_PYTHON.exists():
        pytest.fail("the Rasa environment .venv-rasa is missing; run ./start")
    port = free_port(range(5400, 5500))
    log = tmp_path / "fake_zalo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(RASA_PYTHON), "-m", "tests.support.fake_zalo", "--port", str(port)],
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"the fake Zalo exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(url + "/_fake/sent", timeout=2)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                pytest.fail("the fake Zalo did not start within 60 s")
            time.sleep(0.3)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(15)


def flush_outbox(outbox: Path, api_base: str) -> dict:
    """What the Zalo channel's flusher does every flush_interval_seconds, with the connector's own client."""
    done = subprocess.run(
        [str(RASA_PYTHON), "-m", "tests.support.zalo_flush", "--outbox", str(outbox), "--api-base", api_base],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_staff_reply_to_a_zalo_citizen_and_mark_handled(
    open_page, staff_token, app_url, conversation_db, outbox, fake_zalo, screenshot, unlabelled_controls
):
    conversation_log.flag_handoff(
        ZALO_USER,
        "zalo",
        [
            {"sender": "user", "text": f"cho tôi gặp cán bộ, số tôi {PHONE}"},
            {"sender": "bot", "text": "Dạ, tôi đã chuyển cuộc trò chuyện này tới cán bộ tiếp nhận."},
        ],
    )
    conversation_log.flag_handoff("web-5b1c", "rest", [{"sender": "user", "text": "gặp nhân viên <b>ngay</b>"}])
    page = open_page(staff_token=staff_token)
    page.goto(app_url + "/staff#/gap-can-bo")
    expect(page.locator("#handoff-status-line")).to_have_text("2 yêu cầu đang chờ xử lý.")
    expect(page.locator("a[data-nav=handoffs]")).to_have_attribute("aria-current", "page")
    cards = page.locator("#handoff-list .handoff-case")
    expect(cards).to_have_count(2)
    web, zalo = cards.nth(0), cards.nth(1)
    expect(web.locator(".turn-user")).to_have_text("Người dân: gặp nhân viên <b>ngay</b>")
    expect(web.locator(".note.anonymous")).to_contain_text("ẩn danh nên không nhắn trả lời được")
    expect(web.locator("textarea")).to_have_count(0)
    expect(zalo).to_contain_text("Kênh: Zalo")
    expect(zalo.locator(".turn-user")).to_contain_text("[SĐT đã ẩn]")
    assert ZALO_USER not in page.content() and PHONE not in page.content()
    assert unlabelled_controls(page) == []

    # An empty reply is stopped in the page; a real one is queued for the Zalo channel.
    zalo.locator("button", has_text="Gửi qua Zalo").click()
    expect(zalo.locator(".form-status")).to_have_text("Vui lòng nhập nội dung trả lời.")
    reply = f"Dạ, Anh/Chị mang CCCD đến bộ phận một cửa xã; cần thêm gọi {PHONE} ạ."
    zalo.locator("textarea").fill(reply)
    zalo.locator("button", has_text="Gửi qua Zalo").click()
    expect(page.locator("#handoff-status-line")).to_have_text(
        "Đã đưa câu trả lời vào hàng gửi Zalo. 2 yêu cầu đang chờ xử lý."
    )
    zalo = page.locator("#handoff-list .handoff-case").nth(1)
    expect(zalo.locator(".staff-reply .delivery")).to_have_text("Đang chờ gửi (hệ thống Zalo gửi trong ít phút)")
    expect(zalo.locator(".staff-reply .reply-text")).to_have_text(reply.replace(PHONE, "[SĐT đã ẩn]"))

    # The Zalo channel's flusher delivers it through the OA API (here the fake): the citizen gets the words.
    assert flush_outbox(outbox, fake_zalo) == {"delivered": 1, "remaining": 0, "dead": 0}
    [sent] = httpx.get(fake_zalo + "/_fake/sent", timeout=5).json()
    assert sent == {"recipient": {"user_id": ZALO_USER}, "message": {"text": handoff_desk.REPLY_PREFIX + reply}}
    page.reload()
    zalo = page.locator("#handoff-list .handoff-case").nth(1)
    expect(zalo.locator(".staff-reply .delivery")).to_have_text("Đã gửi tới Zalo")
    screenshot(page, "staff-handoffs-desktop", full_page=True)

    # Handled: it leaves the open list and shows in the handled one, where it can be opened again.
    zalo.locator("button", has_text="Đánh dấu đã xử lý").click()
    expect(page.locator("#handoff-status-line")).to_have_text(
        "Đã đánh dấu yêu cầu là đã xử lý. 1 yêu cầu đang chờ xử lý."
    )
    expect(page.locator("#handoff-list .handoff-case")).to_have_count(1)
    page.select_option("#handoff-filter", "handled")
    expect(page.locator("#handoff-status-line")).to_have_text("1 yêu cầu đã xử lý.")
    handled = page.locator("#handoff-list .handoff-case")
    expect(handled.locator(".badge-handled")).to_have_text("Đã xử lý")
    expect(handled.locator("button.mark-handled")).to_have_text("Mở lại")
    assert "trang-thai=handled" in page.url
    assert page.js_errors == []


def test_hand_off_view_at_phone_width(open_page, staff_token, app_url, conversation_db, outbox, screenshot):
    conversation_log.flag_handoff(ZALO_USER, "zalo", [{"sender": "user", "text": "cho gặp cán bộ"}])
    page = open_page(staff_token=staff_token)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(app_url + "/staff#/gap-can-bo")
    expect(page.locator("#handoff-list .handoff-case")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "staff-handoffs-390", full_page=True)
    dashboard_data.seed()
    page.goto(f"{app_url}/staff#/thong-ke?{WEEK}")
    page.wait_for_function(CHARTS_LOADED)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "staff-dashboard-390", full_page=True)
