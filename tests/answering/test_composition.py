"""Reply composition (assistant.answers), context vocabulary and receipt-code validation."""
from __future__ import annotations

import re

import pytest

from assistant import answers
from assistant.dossier_tracking import find_code_in_text, is_valid_code, normalize_code
from assistant.procedure_context import residual_text
from assistant.settings import load_settings
from knowledge_base.schema import (
    ChannelKind,
    DossierDocument,
    Fee,
    OnlineAvailability,
    Procedure,
    ProcessingTime,
    SearchHit,
    SubmissionChannel,
)

BARE = Procedure(code="TEST.0", title="Thủ tục chưa có thông tin")


@pytest.fixture
def settings():
    return load_settings(environ={}).model_copy(deep=True)


@pytest.mark.parametrize("aspect", answers.ASPECTS)
def test_empty_record_never_invents_facts(settings, aspect):
    text = answers.answer(BARE, aspect, settings).full_text()
    assert not re.search(r"\d+ ?(đồng|ngày)", text)
    if aspect != "overview":
        assert "không nêu" in text and answers.DEFAULT_COUNTER in text


def test_counter_and_portal_come_from_settings(settings):
    settings.province.one_stop_address = "Trung tâm PVHCC tỉnh"
    settings.province.portal_url = ""
    reply = answers.answer(BARE, "fee", settings)
    assert "Trung tâm PVHCC tỉnh" in reply.text and answers.DEFAULT_COUNTER not in reply.text
    assert [link.url for link in reply.links] == [settings.national_portal_url]
    abstain = answers.abstain(settings).full_text()
    assert "Đường dây nóng" not in abstain  # no hotline configured, none shown


def test_placeholder_text_counts_as_not_stated(settings):
    record = BARE.model_copy(update={"conditions": "Không có thông tin", "result": "Giấy chứng nhận"})
    assert "không nêu điều kiện" in answers.answer(record, "conditions", settings).text
    assert "Giấy chứng nhận" in answers.answer(record, "result", settings).text


def test_fees_and_times_per_channel(settings):
    record = BARE.model_copy(update={"channels": [
        SubmissionChannel(kind=ChannelKind.in_person, time=ProcessingTime(text="3", working_days=3),
                          fee=Fee(text="50.000 đồng", amount_vnd=50000)),
        SubmissionChannel(kind=ChannelKind.online, time=ProcessingTime(text="3", working_days=3),
                          fee=Fee(text="Miễn phí", free=True)),
    ]})
    fee = answers.answer(record, "fee", settings).text
    assert "- Trực tiếp: 50.000 đồng" in fee and "- Trực tuyến: Miễn phí" in fee
    assert "- 3 ngày làm việc (mọi hình thức nộp)" in answers.answer(record, "time", settings).text


def test_long_checklists_are_cut_and_say_so(settings):
    documents = [DossierDocument(name=f"Giấy tờ {n}", copies="1 bản sao") for n in range(1, 21)]
    text = answers.answer(BARE.model_copy(update={"documents": documents}), "documents", settings).text
    assert "☐ Giấy tờ 15 — 1 bản sao" in text and "Giấy tờ 16" not in text
    assert "… và 5 giấy tờ khác" in text


def test_online_availability_labels(settings):
    full = BARE.model_copy(update={"online": OnlineAvailability.full})
    assert "nộp trực tuyến toàn trình" in answers.answer(full, "online", settings).text
    none = BARE.model_copy(update={"online": OnlineAvailability.none})
    assert "không hỗ trợ nộp trực tuyến" in answers.answer(none, "online", settings).text


def test_ask_back_offers_at_most_five_numbered_options():
    hits = [SearchHit(code=f"C{n}", title=f"Thủ tục {n}", score=1.0) for n in range(1, 8)]
    reply = answers.ask_back(hits)
    assert [b.payload for b in reply.buttons] == [f'/choose_option{{"option_index":"{n}"}}' for n in range(1, 6)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("còn lệ phí thì sao?", ""),
        ("nộp online được không?", ""),
        ("cho em hỏi cái đó mất bao lâu ạ", ""),
        ("thu tuc nay nop o dau vay", ""),
        ("lệ phí đăng ký kết hôn bao nhiêu", "đăng ký kết hôn"),
        ("chứng thực bản sao giấy tờ", "chứng thực bản sao"),
        ("bị mất căn cước thì làm lại thế nào", "bị mất căn cước lại"),
    ],
)
def test_residual_keeps_only_what_may_name_a_procedure(text, expected):
    assert residual_text(text) == expected


@pytest.mark.parametrize("code", ["000.00.12.H59-250101-0001", "ABC-123456", "h59.2501"])
def test_accepted_receipt_codes(code):
    assert is_valid_code(normalize_code(code))


@pytest.mark.parametrize("code", ["12345", "ABCDEFGH", "A--123456", "-ABC1234", "ABC_123456", "1" * 31, "mã 123456"])
def test_rejected_receipt_codes(code):
    assert not is_valid_code(normalize_code(code))


def test_code_found_inside_a_sentence():
    assert find_code_in_text("tra giúp hồ sơ 000.00.12.h59-250101-0001 với ạ") == "000.00.12.H59-250101-0001"
    assert find_code_in_text("tra cứu hồ sơ giúp tôi") is None
