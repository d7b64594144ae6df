"""The staff page's unanswered questions (#/chua-tra-loi) and labels (#/nhan) in real headless Chromium,
against the app server on the sample catalogue (BM25 only: questions grouped by their words)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from assistant.app import interaction_log
from knowledge_base.labelled import labelled_path, read_labelled

pytestmark = pytest.mark.browser

NOW = datetime.now(timezone.utc)


def add(sender: str, question: str, outcome: str, hours_ago: float, channel: str = "rest", codes=()) -> None:
    """One message as the action endpoint records it."""
    interaction_log.save(
        interaction_log.InteractionRecord(
            id=0,
            created_at=(NOW - timedelta(hours=hours_ago)).isoformat(timespec="seconds"),
            sender_id=sender,
            channel=channel,
            action="action_check_scope",
            intent="ask_documents",
            question=question,
            outcome=outcome,
            codes=list(codes),
            chosen_option=None,
            chosen_code=None,
            feedback=None,
            action_ms=10,
            turn_ms=None,
        )
    )


@pytest.fixture()
def questions(conversation_db):
    """Unanswered questions of two days; the labels file is removed afterwards with the database."""
    add("w1", "dang ky khai sinh cho con o dau", "abstained", 30)
    add("w2", "đăng ký khai sinh cho con ở đâu", "abstained", 2, channel="zalo")
    add("w3", "xin trợ cấp thất nghiệp", "not_in_catalogue", 3)
    add("w4", '<img src=x onerror="window.__xss=1"> bay flycam', "abstained", 4)
    add("w5", "đăng ký kết hôn", "asked_back", 5, codes=["1.000894", "1.001193"])
    yield conversation_db
    path = labelled_path(conversation_db.parent)
    path.unlink(missing_ok=True)


def open_unanswered(open_page, token, app_url, hash_="#/chua-tra-loi"):
    page = open_page(staff_token=token)
    page.goto(app_url + "/staff" + hash_)
    return page


def test_unanswered_questions_grouped_with_counts_filters_and_csv(
    open_page, staff_token, app_url, questions, screenshot, unlabelled_controls
):
    page = open_unanswered(open_page, staff_token, app_url)
    cards = page.locator("#unanswered-groups > li")
    expect(cards).to_have_count(4)
    expect(page.locator("#unanswered-status")).to_have_text(
        "5 lượt hỏi chưa được trả lời, 5 câu hỏi khác nhau, 4 nhóm."
    )
    first = cards.first
    expect(first.locator("h2")).to_have_text("đăng ký khai sinh cho con ở đâu")  # the latest of the two spellings
    expect(first.locator(".group-count")).to_have_text("2 lần")
    expect(first).to_contain_text("2 cách hỏi")
    expect(first).to_contain_text("Trò chuyện trên website 1, Zalo 1")
    expect(first.locator(".reasons")).to_have_text("Không tìm thấy thủ tục phù hợp: 2")
    asked_back = cards.filter(has_text="đăng ký kết hôn")
    expect(asked_back.locator(".reasons")).to_have_text("Hỏi lại nhưng người dân bỏ dở: 1")
    expect(asked_back.locator("a[href='#/thu-tuc/1.000894']")).to_have_text("1.000894")
    expect(cards.filter(has_text="bay flycam").locator("h2")).to_have_text(
        '<img src=x onerror="window.__xss=1"> bay flycam'
    )
    expect(page.locator("a[data-nav=unanswered]")).to_have_attribute("aria-current", "page")
    assert unlabelled_controls(page) == []
    screenshot(page, "staff-unanswered-desktop", full_page=True)

    page.select_option("#u-channel", "zalo")
    page.click("#unanswered-filters button[type=submit]")
    expect(page).to_have_url(f"{app_url}/staff#/chua-tra-loi?channel=zalo")
    expect(cards).to_have_count(1)
    expect(cards.first.locator(".group-count")).to_have_text("1 lần")
    page.select_option("#u-channel", "")
    page.select_option("#u-reason", "declined")
    page.click("#unanswered-filters button[type=submit]")
    expect(cards).to_have_count(1)
    expect(cards.first.locator("h2")).to_have_text("xin trợ cấp thất nghiệp")
    page.fill("#u-since", (NOW + timedelta(days=2)).date().isoformat())
    page.click("#unanswered-filters button[type=submit]")
    expect(page.locator("#unanswered-status")).to_have_text(
        "Không có câu hỏi chưa được trả lời trong khoảng thời gian này."
    )
    expect(cards).to_have_count(0)

    page.goto(app_url + "/staff#/chua-tra-loi?reason=abstained")
    expect(cards).to_have_count(2)
    with page.expect_download() as download:
        page.click("a.csv-link")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[3] for row in rows[1:]] == [
        "đăng ký khai sinh cho con ở đâu",
        "dang ky khai sinh cho con o dau",
        '<img src=x onerror="window.__xss=1"> bay flycam',
    ]
    assert page.evaluate("window.__xss") is None
    assert page.js_errors == []


def test_label_a_group_to_a_procedure_see_the_answer_now_correct_and_remove(
    open_page, staff_token, app_url, questions, screenshot, unlabelled_controls
):
    page = open_unanswered(open_page, staff_token, app_url)
    card = page.locator("#unanswered-groups > li").first
    card.locator("summary", has_text="Gán nhãn").click()
    boxes = card.locator(".variants input[type=checkbox]")
    expect(boxes).to_have_count(2)
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(1)).to_be_checked()
    search = card.get_by_label("Tìm thủ tục trong danh mục")
    expect(search).to_have_value("đăng ký khai sinh cho con ở đâu")  # starts from the group's question
    card.get_by_role("button", name="Lưu nhãn").click()
    expect(card.locator(".label-status")).to_have_text("Vui lòng tìm và chọn thủ tục trước khi lưu.")
    search.fill("khai sinh")
    search.press("Enter")
    card.get_by_label("Thủ tục đăng ký khai sinh (mã 1.001193)").check()
    assert unlabelled_controls(page) == []
    screenshot(page, "staff-labelling-desktop", full_page=True)
    card.get_by_role("button", name="Lưu nhãn").click()
    expect(card.locator(".label-status")).to_have_text("Đã lưu nhãn cho 2 câu hỏi.")
    expect(card.locator(".badge-label")).to_have_text(["Thuộc thủ tục: Thủ tục đăng ký khai sinh (mã 1.001193)"] * 2)
    expect(boxes.nth(0)).not_to_be_checked()
    assert [(q.question, q.gold) for q in read_labelled(questions.parent)] == [
        ("đăng ký khai sinh cho con ở đâu", ["1.001193"]),
        ("dang ky khai sinh cho con o dau", ["1.001193"]),
    ]

    # A second group: not a procedure question at all.
    flycam = page.locator("#unanswered-groups > li").filter(has_text="bay flycam")
    flycam.locator("summary").click()
    flycam.get_by_label("Không có trong danh mục").check()
    expect(flycam.locator(".picker")).to_be_hidden()
    flycam.get_by_role("button", name="Lưu nhãn").click()
    expect(flycam.locator(".badge-label")).to_have_text("Không có trong danh mục")

    page.click("a[data-nav=labels]")
    rows = page.locator("#labels-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#labels-status")).to_have_text("3 câu hỏi đã gán nhãn.")
    row = rows.filter(has_text="dang ky khai sinh cho con o dau")
    expect(row.locator(".label-kind")).to_have_text("Thuộc thủ tục: Thủ tục đăng ký khai sinh (mã 1.001193)")
    expect(row.locator(".now")).to_have_text("Đúng nhãn Trả lời: Thủ tục đăng ký khai sinh (mã 1.001193)")
    # The question's markup matches the sample record whose title holds markup: the search answers it (shown as text).
    expect(rows.filter(has_text="bay flycam").locator(".now")).to_have_text(
        'Khác nhãn Trả lời: Thủ tục thử hiển thị <img src=x onerror="window.__xss=1"> '
        "<script>window.__xss=2</script> (mã 9.999999)"
    )
    screenshot(page, "staff-labels-desktop", full_page=True)

    # Correct a label: not a procedure question.
    row.locator("summary", has_text="Sửa nhãn").click()
    expect(row.get_by_label("Thủ tục đăng ký khai sinh (mã 1.001193)")).to_be_checked()
    row.get_by_label("Không phải câu hỏi thủ tục").check()
    row.get_by_role("button", name="Lưu sửa đổi").click()
    corrected = page.locator("#labels-table tbody tr").filter(has_text="dang ky khai sinh cho con o dau")
    expect(corrected.locator(".label-kind")).to_have_text("Không phải câu hỏi thủ tục")
    expect(corrected.locator(".now")).to_contain_text("Khác nhãn Trả lời: Thủ tục đăng ký khai sinh")
    assert {q.question: q.label for q in read_labelled(questions.parent)}[
        "dang ky khai sinh cho con o dau"
    ] == "not_procedure"

    # Remove it.
    corrected.locator("summary").click()
    corrected.get_by_role("button", name="Xóa nhãn").click()
    expect(page.locator("#labels-table tbody")).to_contain_text(
        "Đã xóa nhãn của câu hỏi: dang ky khai sinh cho con o dau"
    )
    assert "dang ky khai sinh cho con o dau" not in [q.question for q in read_labelled(questions.parent)]
    page.reload()
    expect(page.locator("#labels-table tbody tr")).to_have_count(2)
    assert page.evaluate("window.__xss") is None
    assert page.js_errors == []


def test_unanswered_and_labels_refuse_a_wrong_staff_token(open_page, app_url, questions):
    page = open_unanswered(open_page, "not-the-token", app_url)
    expect(page.locator("#unanswered-status")).to_have_text("Mã quản trị không đúng.")
    expect(page.locator("#unanswered-groups > li")).to_have_count(0)
    page.goto(app_url + "/staff#/nhan")
    expect(page.locator("#labels-status")).to_have_text("Mã quản trị không đúng.")


def test_unanswered_page_fits_a_phone(open_page, staff_token, app_url, questions, screenshot):
    page = open_unanswered(open_page, staff_token, app_url)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#unanswered-groups > li")).to_have_count(4)
    page.locator("#unanswered-groups > li").first.locator("summary").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "staff-unanswered-390", full_page=True)
