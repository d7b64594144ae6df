"""Reply composition (assistant.app.answers), context vocabulary and receipt-code validation."""

from __future__ import annotations

import re

import pytest

from assistant.app import answers
from assistant.app.dossier_tracking import find_code_in_text, is_valid_code, normalize_code
from assistant.app.procedure_context import residual_text
from assistant.core.settings import load_settings
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
    record = BARE.model_copy(
        update={
            "channels": [
                SubmissionChannel(
                    kind=ChannelKind.in_person,
                    time=ProcessingTime(text="3", working_days=3),
                    fee=Fee(text="50.000 đồng", amount_vnd=50000),
                ),
                SubmissionChannel(
                    kind=ChannelKind.online,
                    time=ProcessingTime(text="3", working_days=3),
                    fee=Fee(text="Miễn phí", free=True),
                ),
            ]
        }
    )
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
    assert "trực tuyến toàn trình" in answers.answer(full, "online", settings).text
    none = BARE.model_copy(update={"online": OnlineAvailability.none})
    assert "không hỗ trợ nộp trực tuyến" in answers.answer(none, "online", settings).text


def test_an_online_channel_is_called_what_the_record_supports(settings):
    """The national records list channels, not whether the whole procedure is online (issue 15, item 3)."""
    record = BARE.model_copy(
        update={
            "online": OnlineAvailability.partial,
            "channels": [SubmissionChannel(kind=ChannelKind.in_person), SubmissionChannel(kind=ChannelKind.online)],
        }
    )
    online = answers.answer(record, "online", settings).text
    overview = answers.answer(record, "overview", settings).text
    assert "có thể nộp hồ sơ trực tuyến" in online and "không nêu có làm trực tuyến được toàn bộ" in online
    assert "- Trực tuyến: Có thể nộp hồ sơ trực tuyến" in overview
    assert "một phần" not in online + overview and "toàn trình" not in overview


TWO_CASES = [
    SubmissionChannel(
        kind=kind,
        time=ProcessingTime(text=f"{days} ngày làm việc", working_days=days),
        fee=Fee(text="Miễn phí", free=True),
        description=description,
    )
    for days, description in (
        (20, "- Cấp giấy phép lần đầu, gia hạn: 20 ngày làm việc kể từ ngày nhận hồ sơ đầy đủ."),
        (7, "- Cấp lại giấy phép bị mất, hỏng: 07 ngày làm việc kể từ ngày nhận hồ sơ đầy đủ."),
    )
    for kind in (ChannelKind.in_person, ChannelKind.online)
]


def test_a_time_that_differs_by_case_is_shown_by_case(settings):
    record = BARE.model_copy(update={"channels": TWO_CASES})
    time = answers.answer(record, "time", settings).text
    assert "(khác nhau theo từng trường hợp)" in time
    assert "- Cấp giấy phép lần đầu, gia hạn: 20 ngày làm việc\n" in time
    # The cases end the time answer; the facts a citizen needs next follow (issue 15, item 1).
    assert "- Cấp lại giấy phép bị mất, hỏng: 7 ngày làm việc\n\nAnh/Chị cũng cần biết:\n" in time
    overview = answers.answer(record, "overview", settings).text
    assert "- Thời hạn:\n  + Cấp giấy phép lần đầu, gia hạn: 20 ngày làm việc\n" in overview
    assert "  + Cấp lại giấy phép bị mất, hỏng: 7 ngày làm việc" in overview
    assert "- Lệ phí: Miễn phí (mọi hình thức nộp)" in overview  # the same for every case: one line


def test_a_case_only_one_channel_has_names_its_channel(settings):
    record = BARE.model_copy(
        update={
            "channels": [
                *TWO_CASES[:3],
                TWO_CASES[3].model_copy(
                    update={
                        "time": ProcessingTime(text="10 ngày làm việc", working_days=10),
                        "description": "- Cấp lại giấy phép bị mất, hỏng: 10 ngày làm việc.",
                    }
                ),
            ]
        }
    )
    time = answers.answer(record, "time", settings).text
    assert "- Cấp lại giấy phép bị mất, hỏng: 7 ngày làm việc (trực tiếp)" in time
    assert "- Cấp lại giấy phép bị mất, hỏng: 10 ngày làm việc (trực tuyến)" in time


def test_different_times_without_a_named_case_say_so(settings):
    record = BARE.model_copy(
        update={
            "channels": [
                SubmissionChannel(
                    kind=ChannelKind.online,
                    time=ProcessingTime(text=text),
                    description="Nộp hồ sơ trực tuyến qua Cổng.",
                )
                for text in ("3 ngày làm việc", "12 giờ")
            ]
        }
    )
    time = answers.answer(record, "time", settings).text
    assert "- 3 ngày làm việc\n- 12 giờ\n" in time and "không ghi rõ trường hợp nào áp dụng mức nào" in time


def test_a_fee_note_listing_amounts_by_case_gets_a_line_each(settings):
    fee = Fee(text="Miễn phí (- Sát hạch lý thuyết: 600.000 đồng/lần. - Sát hạch thực hành: 250.000 đồng/lần.)")
    record = BARE.model_copy(
        update={
            "channels": [SubmissionChannel(kind=kind, fee=fee) for kind in (ChannelKind.in_person, ChannelKind.online)]
        }
    )
    text = answers.answer(record, "fee", settings).text
    assert "- Mọi hình thức nộp: Danh mục ghi «Miễn phí» nhưng nêu các mức — theo từng trường hợp:" in text
    assert "\n  + Sát hạch lý thuyết: 600.000 đồng/lần\n  + Sát hạch thực hành: 250.000 đồng/lần" in text
    overview = answers.answer(record, "overview", settings).text
    assert "- Lệ phí:\n  + Mọi hình thức nộp: Danh mục ghi «Miễn phí» nhưng nêu các mức\n" in overview
    assert "600.000" not in overview  # the overview points to the fee answer instead of merging the cases


@pytest.mark.parametrize("aspect", answers.ASPECTS)
def test_answers_open_like_a_clerk(settings, aspect):
    assert answers.answer(BARE, aspect, settings).text.startswith("Dạ, ")


def test_polite_keeps_acronyms_and_an_existing_da():
    assert answers.polite("Hồ sơ cần chuẩn bị") == "Dạ, hồ sơ cần chuẩn bị"
    assert answers.polite("UBND xã tiếp nhận") == "Dạ, UBND xã tiếp nhận"
    assert answers.polite("Dạ, đã rõ") == "Dạ, đã rõ"


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


def test_capabilities_promise_dossier_tracking_only_when_it_is_connected(settings):
    """Issue 15, item 7: never advertise what is not connected (assistant.app.dossier_tracking)."""
    settings.one_stop_system.tracking_url = ""
    text = answers.capabilities(settings).text
    assert text.startswith("Dạ, ") and "hồ sơ cần chuẩn bị" in text and "gặp cán bộ" in text
    assert "tình trạng hồ sơ" not in text and "mã biên nhận" not in text
    settings.one_stop_system.tracking_url = "http://mot-cua.example/api/ho-so"
    assert "tra cứu tình trạng hồ sơ đã nộp bằng mã biên nhận" in answers.capabilities(settings).text
