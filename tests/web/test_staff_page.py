"""The counter staff's lookup page in real headless Chromium: keyboard search, filters, detail, print."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from assistant.app import conversation_log
from assistant.app.handoff_desk import conversation_ref

pytestmark = pytest.mark.browser


def results_for(page, **filters):
    """The result links once the list answers a search with these filters (the page sets data-search)."""
    from urllib.parse import urlencode

    wanted = urlencode(filters)
    page.wait_for_function("w => (document.getElementById('results').dataset.search || '').endsWith(w)", arg=wanted)
    return page.locator("#results a.result-link")


def open_staff(page, app_url):
    page.goto(app_url + "/staff")
    expect(page.locator("#f-level option")).not_to_have_count(1)  # facets loaded
    expect(page.locator("#agency-options option")).to_have_count(5)


def test_keyboard_only_search_and_open(page, app_url, screenshot, unlabelled_controls):
    open_staff(page, app_url)
    assert unlabelled_controls(page) == []
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("dang ky khai sinh")
    page.keyboard.press("Enter")
    results = page.locator("#results a.result-link")
    expect(results.first).to_contain_text("Thủ tục đăng ký khai sinh")
    expect(page.locator("#search-status")).to_contain_text("Tìm thấy")
    assert page.locator("#search-status").get_attribute("aria-live") == "polite"
    screenshot(page, "staff-results-desktop")

    page.keyboard.press("ArrowDown")
    expect(results.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(results.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")

    expect(page.locator("#detail-title")).to_have_text("Thủ tục đăng ký khai sinh")
    expect(page.locator("#detail-title")).to_be_focused()
    assert unlabelled_controls(page) == []  # the checklist's checkboxes are labelled by the documents
    assert page.js_errors == []


def test_detail_shows_checklist_fees_times_where_legal_link_and_qr(page, app_url, screenshot):
    page.goto(app_url + "/staff#/thu-tuc/1.001193")
    detail = page.locator("#detail-view")
    expect(page.locator("#detail-title")).to_have_text("Thủ tục đăng ký khai sinh")
    checklist = detail.locator(".checklist li")
    expect(checklist).to_have_count(3)
    expect(checklist.first).to_contain_text("Tờ khai đăng ký khai sinh")
    expect(checklist.first).to_contain_text("Số lượng: 1 bản chính")
    expect(checklist.first).to_contain_text("Mẫu: Mẫu tờ khai đăng ký khai sinh")
    expect(detail.locator("h3")).to_have_text(["Giấy tờ phải nộp", "Giấy tờ phải xuất trình"])
    checklist.first.locator("label").click()
    expect(checklist.first.locator("input[type=checkbox]")).to_be_checked()
    rows = detail.locator("table.channels tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Trực tiếp")
    expect(rows.first).to_contain_text("1 ngày làm việc")
    expect(rows.first).to_contain_text("Miễn phí")
    expect(detail.locator("#h-where + .prose")).to_contain_text("Bộ phận một cửa Ủy ban nhân dân cấp xã")
    expect(detail.locator(".legal")).to_contain_text("60/2014/QH13")
    expect(detail.locator("#h-result + .prose")).to_have_text("Giấy khai sinh")
    link = detail.locator("a.portal-url")
    expect(link).to_have_attribute("href", "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/khai-sinh-test")
    qr = detail.locator("img.qr")
    expect(qr).to_have_attribute("src", "/api/procedures/1.001193/qr.svg")
    page.wait_for_function("document.querySelector('img.qr').complete")
    assert qr.evaluate("img => img.naturalWidth") > 0  # the SVG really loaded and decoded
    screenshot(page, "staff-detail-desktop", full_page=True)
    assert page.js_errors == []


def test_records_naming_the_district_level_are_flagged(page, app_url, screenshot):
    """Issue 15, items 3-4: a badge in the results and on the record, what to correct, the time by case."""
    open_staff(page, app_url)
    page.fill("#q", "trình báo mất hộ chiếu")
    page.keyboard.press("Enter")
    result = page.locator("#results li.result", has=page.locator("a[data-code='1.010385']"))
    expect(result.locator(".badge-reform")).to_have_text("Còn ghi cấp huyện")
    expect(page.locator("#results li.result .badge-reform")).to_have_count(1)  # only that record
    result.locator("a.result-link").click()
    flag = page.locator("#detail-view .reform-flag")
    expect(flag).to_contain_text("Còn ghi cấp huyện")
    expect(flag.locator("li")).to_have_text(["Cơ quan thực hiện: Công an huyện", "Tên thủ tục: cấp huyện"])
    expect(flag).to_contain_text("không còn cấp huyện")
    rows = page.locator("#detail-view table.channels tbody tr")
    expect(rows.locator("td.case")).to_have_text(["Trình báo tại cơ quan Công an", "Trình báo qua đơn gửi bưu điện"])
    screenshot(page, "staff-detail-district-flag", full_page=True)
    page.goto(app_url + "/staff#/thu-tuc/1.001193")
    expect(page.locator("#detail-title")).to_have_text("Thủ tục đăng ký khai sinh")
    expect(page.locator("#detail-view .reform-flag")).to_have_count(0)
    expect(page.locator("#detail-view td.case")).to_have_count(0)  # one value per channel: no case column
    assert page.js_errors == []


def test_print_layout_is_an_a4_checklist(page, app_url, screenshot):
    page.goto(app_url + "/staff#/thu-tuc/1.001193")
    expect(page.locator("#detail-title")).to_be_visible()
    page.locator(".checklist label").nth(1).click()  # the citizen already has this one
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    path = screenshot(page, "staff-print-a4", full_page=True)
    assert path.stat().st_size > 10_000
    visible = [
        "#detail-title",
        ".print-header",
        ".print-authority",
        ".checklist",
        "table.channels",
        "#h-where",
        "img.qr",
        "a.portal-url",
        ".print-note",
    ]
    hidden = [".site-header", "#search-form", "#print-button", ".back", "#h-legal", "#h-steps", "#h-conditions"]
    for selector in visible:
        expect(page.locator(selector).first).to_be_visible()
    for selector in hidden:
        expect(page.locator(selector).first).to_be_hidden()
    expect(page.locator(".print-authority")).to_have_text("Ủy ban nhân dân tỉnh Tây Ninh")
    # The checkboxes are printed as empty boxes for the citizen to tick.
    assert page.locator(".checklist input").first.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    ticks = page.locator(".checklist input").evaluate_all("els => els.map(e => getComputedStyle(e, '::after').content)")
    assert ticks[1] == '"✓"' and ticks[0] in ("none", "normal")
    # Chromium's own print to PDF, with the page's @page rule: a short procedure fits one A4 sheet.
    pdf = page.pdf(prefer_css_page_size=True, print_background=False)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    page.emulate_media(media="screen")
    for selector in (".site-header", "#print-button", "#h-legal"):
        expect(page.locator(selector).first).to_be_visible()
    expect(page.locator(".print-header")).to_be_hidden()


def test_filters_narrow_the_results(page, app_url):
    open_staff(page, app_url)
    page.fill("#q", "cấp giấy đăng ký thủ tục căn cước xây dựng")
    page.keyboard.press("Enter")
    results = page.locator("#results a.result-link")
    expect(results.first).to_be_visible()
    assert results.count() >= 3
    page.select_option("#f-online", "toan_trinh")
    results = results_for(page, online="toan_trinh")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Cấp giấy phép xây dựng nhà ở riêng lẻ")
    assert "online=toan_trinh" in page.url
    page.select_option("#f-online", "")
    page.select_option("#f-level", "cap_tinh")
    results = results_for(page, level="cap_tinh")
    expect(results).not_to_have_count(0)
    for meta in page.locator("#results .result-meta").all_text_contents():
        assert "Cấp tỉnh" in meta
    page.select_option("#f-level", "")
    page.select_option("#f-field", "Hộ tịch")
    results = results_for(page, field="Hộ tịch")
    expect(results).not_to_have_count(0)
    for meta in page.locator("#results .result-meta").all_text_contents():
        assert "Hộ tịch" in meta
    page.select_option("#f-field", "")
    page.fill("#f-agency", "công an tỉnh")
    page.keyboard.press("Enter")
    results = results_for(page, agency="công an tỉnh")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("căn cước")


def test_back_link_returns_to_the_same_results(page, app_url):
    open_staff(page, app_url)
    page.fill("#q", "kết hôn")
    page.keyboard.press("Enter")
    page.locator("#results a.result-link").first.click()
    expect(page.locator("#detail-title")).to_have_text("Thủ tục đăng ký kết hôn")
    # This record has no conditions, steps or legal basis: those sections are simply absent.
    expect(page.locator("#h-documents")).to_be_visible()
    for missing in ("#h-conditions", "#h-steps", "#h-legal"):
        expect(page.locator(missing)).to_have_count(0)
    text = page.locator("#detail-view").inner_text()
    assert "null" not in text and "undefined" not in text
    page.locator("a.back").click()
    expect(page.locator("#q")).to_have_value("kết hôn")
    expect(page.locator("#results a.result-link").first).to_be_focused()


def test_catalogue_text_with_html_is_shown_as_text(page, app_url):
    page.goto(app_url + "/staff")
    page.fill("#q", "thủ tục thử hiển thị")
    page.keyboard.press("Enter")
    first = page.locator("#results a.result-link").first
    expect(first).to_contain_text("<script>window.__xss=2</script>")
    first.click()
    detail = page.locator("#detail-view")
    expect(page.locator("#detail-title")).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(detail.locator(".checklist")).to_contain_text("Đơn <img")
    expect(detail.locator("table.channels")).to_contain_text("<script>window.__xss=3</script>")
    expect(detail.locator("#h-conditions + .prose")).to_contain_text('<a href="javascript:')
    assert detail.locator("img:not(.qr), script, b, i, a[href^='javascript']").count() == 0
    assert detail.locator("a.portal-url").get_attribute("href").startswith("https://")
    assert page.evaluate("window.__xss") is None


def test_bad_input_gets_a_clear_message(page, app_url):
    open_staff(page, app_url)
    page.keyboard.press("Enter")
    expect(page.locator("#search-status")).to_have_text("Vui lòng nhập tên thủ tục hoặc câu hỏi.")
    page.fill("#q", "khai sinh " * 60)
    page.keyboard.press("Enter")
    expect(page.locator("#search-status")).to_contain_text("quá dài")
    page.goto(app_url + "/staff#/thu-tuc/0.000000")
    expect(page.locator("#detail-view [role=alert]")).to_contain_text("Không có thủ tục mã '0.000000'")


def test_staff_view_refuses_a_wrong_staff_token(open_page, app_url, conversation_db):
    page = open_page(staff_token="not-the-token")
    page.goto(app_url + "/staff#/ho-tro")
    expect(page.locator("#inbox-status")).to_have_text("Mã quản trị không đúng.")
    expect(page.locator("#handoffs")).to_be_empty()


def test_staff_view_lists_handoffs_and_feedback(open_page, staff_token, app_url, conversation_db, screenshot):
    page = open_page(staff_token=staff_token)
    page.goto(app_url + "/staff#/ho-tro")
    expect(page.locator("#handoffs .empty")).to_have_text("Chưa có người dân nào yêu cầu gặp cán bộ.")
    expect(page.locator("#feedback .empty")).to_have_text("Chưa có góp ý nào.")

    conversation_log.flag_handoff(
        "web-abc",
        "rest",
        [
            {"sender": "user", "text": "cho tôi gặp cán bộ <b>ngay</b>"},
            {"sender": "bot", "text": "Anh/Chị vui lòng gọi đường dây nóng."},
        ],
    )
    conversation_log.store_feedback("web-def", "bad", "lệ phí kết hôn bao nhiêu?", "Miễn lệ phí", channel="rest")
    page.reload()
    card = page.locator("#handoffs .card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(conversation_ref("rest", "web-abc"))
    expect(card).not_to_contain_text("web-abc")  # the channel's own id stays on the server
    expect(card.locator(".turn-user")).to_contain_text("cho tôi gặp cán bộ <b>ngay</b>")
    expect(card.locator(".turn-bot")).to_contain_text("đường dây nóng")
    row = page.locator("#feedback tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Chưa hài lòng")
    expect(row).to_contain_text("lệ phí kết hôn bao nhiêu?")
    expect(page.locator("#inbox-status")).to_have_text("1 yêu cầu gặp cán bộ, 1 góp ý.")
    expect(page.locator("a[data-nav=inbox]")).to_have_attribute("aria-current", "page")
    screenshot(page, "staff-inbox-desktop", full_page=True)


def test_phone_width_layout(page, app_url, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    open_staff(page, app_url)
    page.fill("#q", "căn cước")
    page.keyboard.press("Enter")
    expect(page.locator("#results a.result-link").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "staff-results-390")
    page.locator("#results a.result-link").first.click()
    expect(page.locator("#detail-title")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "staff-detail-390", full_page=True)


def test_records_carrying_province_facts_are_flagged_as_local_overrides(page, app_url, screenshot):
    """Issue 15, item 5: like the reform flag, a badge in the results and, on the record, which facts the province
    replaced, from which decision and file version (tests/fixtures/web_local_facts.yaml sets one fee)."""
    open_staff(page, app_url)
    page.fill("#q", "giấy phép xây dựng nhà ở")
    page.keyboard.press("Enter")
    result = page.locator("#results li.result", has=page.locator("a[data-code='2.002000']"))
    expect(result.locator(".badge-local")).to_have_text("Theo quy định của tỉnh")
    expect(page.locator("#results li.result .badge-local")).to_have_count(1)  # only that record
    result.locator("a.result-link").click()
    flag = page.locator("#detail-view .local-flag")
    expect(flag.locator("li")).to_have_text(["lệ phí (Trực tuyến)"])
    expect(flag).to_contain_text("Căn cứ: Nghị quyết số 98/2099/NQ-HĐND (thử nghiệm).")
    expect(flag).to_contain_text("Phiên bản tệp thông tin của tỉnh: web-test-2026-12-07.")
    expect(flag.locator("q")).to_contain_text("lệ phí ở trên là mức của tỉnh")
    expect(page.locator("#detail-view table.channels tbody")).to_contain_text("50.000 đồng/giấy phép")
    screenshot(page, "staff-detail-local-flag", full_page=True)
    page.goto(app_url + "/staff#/thu-tuc/1.001193")
    expect(page.locator("#detail-title")).to_have_text("Thủ tục đăng ký khai sinh")
    expect(page.locator("#detail-view .local-flag")).to_have_count(0)
    assert page.js_errors == []
