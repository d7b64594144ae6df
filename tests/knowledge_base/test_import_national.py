"""National-portal importer: hard real samples (short literal snippets) and the whole shared directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers import load_catalog
from knowledge_base.importers.channels import amount_in_vnd, parse_channels, row_case
from knowledge_base.importers.consistency import DuplicateTracker, record_problems
from knowledge_base.importers.documents import parse_documents, parse_legal_basis
from knowledge_base.importers.national import clean_result, derive_online, parse_levels, split_agencies
from knowledge_base.schema import ChannelKind, Level, OnlineAvailability, SubmissionChannel

HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
DOSSIER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL = "Tên văn bản pháp lýMã văn bản"


# --- channels, times, fees --------------------------------------------------------------------------------


def test_nested_parentheses_postal_channel_and_unitless_time():
    # 1.000080 (hộ tịch): the note under "Miễn phí" nests parentheses and says the fee is set by the province.
    text = (
        HEADER + "Trực tuyến7Miễn phí(Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định. Phí cấp bản sao "
        "Trích lục (nếu có yêu cầu) thực hiện theo Thông tư số 281/2016/TT-BTC.)Dịch vụ bưu chính7Miễn phí(Đồng "
        "(Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định. Bản sao (nếu có yêu cầu).))Trực tiếp7Miễn phí"
        "(Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định.)"
    )
    parsed = parse_channels(text)
    assert [c.kind for c in parsed.channels] == [ChannelKind.online, ChannelKind.postal, ChannelKind.in_person]
    for channel in parsed.channels:
        assert channel.time.text == "7 ngày" and channel.time.working_days is None  # unit lost in the page
        assert channel.fee.free is None and channel.fee.amount_vnd is None  # "Miễn phí" but a fee is set
        assert channel.description == ""
    assert "(nếu có yêu cầu)" in parsed.channels[1].fee.text
    assert not parsed.warnings


def test_working_days_no_info_fee_and_description():
    text = HEADER + "Trực tiếp20 Ngày làm việcKhông có thông tinNộp hồ sơ tại Bộ phận một cửa cấp tỉnh."
    (channel,) = parse_channels(text).channels
    assert channel.time.text == "20 ngày làm việc" and channel.time.working_days == 20
    assert channel.fee.free is None and channel.fee.amount_vnd is None
    assert channel.description == "Nộp hồ sơ tại Bộ phận một cửa cấp tỉnh."


def test_amounts_with_separators_and_a_channel_name_inside_the_description():
    # 1.004222 / 1.004194 (cư trú): comma thousands in the cell, dot thousands in the note, "Trực tuyến qua …" in text.
    text = (
        HEADER + "Trực tuyến3 Ngày làm việc7,000 Việt Nam Đồng(+ Trường hợp công dân nộp hồ sơ qua cổng dịch vụ công "
        "trực tuyến thu 7.000 đồng/lần đăng ký.)- Nộp hồ sơ trực tuyến như: Trực tuyến qua Cổng dịch vụ công quốc gia, "
        "ứng dụng VNeID.Trực tiếp3 Ngày làm việc10,000 Việt Nam Đồng(- Đăng ký theo danh sách: thu 10.000 "
        "đồng/người/lần đăng ký;)- Nộp hồ sơ trực tiếp tại Công an cấp xã."
    )
    online, in_person = parse_channels(text).channels
    assert (online.kind, online.fee.amount_vnd, online.fee.free) == (ChannelKind.online, 7000, False)
    assert (in_person.kind, in_person.fee.amount_vnd) == (ChannelKind.in_person, 10000)
    assert online.description.startswith("- Nộp hồ sơ trực tuyến như: Trực tuyến qua Cổng")
    assert online.fee.text.startswith("7.000 đồng (")


def test_unit_less_time_glued_to_a_fee_in_thousands():
    # 2.002015 (đăng ký doanh nghiệp): "125 VNĐ" is time 1 (as the online row says) + 25 (thousand) đồng.
    text = (
        HEADER + "Trực tuyến1Miễn phí(Miễn lệ phí đăng ký doanh nghiệp qua mạng điện tử.)"
        "Dịch vụ bưu chính125 VNĐTrực tiếp125 VNĐ"
    )
    parsed = parse_channels(text)
    online, postal, in_person = parsed.channels
    assert online.fee.free is True and online.fee.amount_vnd == 0
    for channel in (postal, in_person):
        assert channel.time.text == "1 ngày"
        assert channel.fee.amount_vnd == 25000
    assert [kind for kind, _ in parsed.warnings] == ["unit-less time glued to the fee"] * 2


def test_glued_time_with_comma_amount_and_note_in_thousands():
    # 1.000005 (hải quan): "120,000 VNĐ" = time 1 + fee 20,000.
    (channel,) = parse_channels(
        HEADER + "Trực tuyến120,000 VNĐ(Theo khoản 1 Điều 3 Thông tư số 172/2010/TT-BTC)"
    ).channels
    assert channel.time.text == "1 ngày" and channel.fee.amount_vnd == 20000
    # 1.007879: "20 VNĐ" published in thousands, the note confirms 20.000 đồng/tờ khai.
    (channel,) = parse_channels(HEADER + "Trực tuyến120 VNĐ(20.000 vnđ /tờ khai)").channels
    assert channel.fee.amount_vnd == 20000


def test_amount_normalization_both_separator_styles_and_thousands():
    assert amount_in_vnd("50.000", "Việt Nam Đồng") == 50000
    assert amount_in_vnd("4,500,000", "Việt Nam Đồng") == 4500000
    assert amount_in_vnd("20", "VNĐ") == 20000  # published in thousands of đồng
    assert amount_in_vnd("10", "USD") is None


def test_several_charges_fee_column_amount_plus_stated_fee_lines():
    # 1.002681: "Phí: 800.000 …" and "Lệ phí: 100.000 đồng/hồ sơ." are written in the description column.
    text = (
        HEADER + "Trực tuyến6 Ngày làm việc800,000 Việt Nam Đồng(/hồ sơ)Phí: 800.000 đồng/hồ sơ (áp dụng mức phí "
        "400.000 đồng/hồ sơ đến hết ngày 31/12/2026 theo Thông tư số 64/2025/TT-BTC).\n\nLệ phí: 100.000 đồng/hồ sơ."
    )
    (channel,) = parse_channels(text).channels
    assert channel.fee.amount_vnd == 800000
    assert "Lệ phí: 100.000 đồng/hồ sơ" in channel.fee.text


def test_hours_words_usd_and_an_unclosed_note():
    hours = parse_channels(
        HEADER + "Dịch vụ bưu chính1 GiờKhông có thông tinNhận kết quả qua bưu chính công ích."
    ).channels[0]
    assert hours.time.text == "1 giờ" and hours.time.working_days is None
    words = parse_channels(HEADER + "Trực tuyếnKhông quy địnhMiễn phíQua Cổng DVC Quốc gia đối với các TTHC.").channels[
        0
    ]
    assert words.time.text == "Không quy định" and words.fee.free is True
    usd = parse_channels(HEADER + "Trực tiếpKhông có thông tin10 USD(/bản)Tại cơ quan đại diện: 10 USD/bản.").channels[
        0
    ]
    assert usd.fee.amount_vnd is None and "USD" in usd.fee.text
    unclosed = parse_channels(HEADER + "Trực tuyến1 Ngày100 VNĐ(")
    assert unclosed.channels[0].fee.amount_vnd == 100000
    assert unclosed.warnings[0][0] == "unclosed parenthesis in a fee note"


# --- dossier documents and legal basis -------------------------------------------------------------------


def test_documents_groups_copies_and_note_rows():
    # 1.001193 (khai sinh), shortened: a zero-copy explanation row is not a document to bring.
    text = (
        "* Giấy tờ phải nộp:" + DOSSIER + "- Giấy chứng sinh; trường hợp không có Giấy chứng sinh thì nộp văn bản của "
        "người làm chứng.1 bản chínhTrường hợp người yêu cầu đã nộp bản điện tử Giấy chứng sinh thì không phải nộp bản "
        "giấy.0 bản chính* Giấy tờ phải xuất trình:"
        + DOSSIER
        + "- Hộ chiếu/Thẻ căn cước công dân còn giá trị sử dụng.1 bản chính"
    )
    documents = parse_documents(text).documents
    assert [(d.group, d.copies) for d in documents] == [
        ("Giấy tờ phải nộp", "1 bản chính"),
        ("Giấy tờ phải xuất trình", "1 bản chính"),
    ]
    assert documents[0].name.startswith("Giấy chứng sinh;")


def test_documents_form_files_and_glued_numbers():
    text = (
        "--" + DOSSIER + "Phiếu thu thập thông tin dân cư (mẫu DC01 ban hành kèm theo Thông tư số 53/2025/TT-BCA)"
        "Mẫu DC01 Phiếu thu thập thông tin dân cư.docx1 bản chính"
        "Đơn đăng ký biến động đất đai, tài sản gắn liền với đất theo Mẫu số 181 bản chính,1 bản sao"
        "Bản sao giấy chứng nhận nuôi con nuôi và biên bản giao nhận con.14-HSB.docx01B-HSB.docx1 bản chính"
        "Bản sao quyết định thành lập0 bản chính,1 bản sao"
    )
    form, glued, two_forms, copy_only = parse_documents(text).documents
    assert form.form == "Mẫu DC01 Phiếu thu thập thông tin dân cư.docx"
    assert form.name.endswith("Thông tư số 53/2025/TT-BCA)")
    assert glued.name.endswith("theo Mẫu số 18") and glued.copies == "1 bản chính, 1 bản sao"
    assert two_forms.form == "14-HSB.docx; 01B-HSB.docx" and two_forms.name.endswith("giao nhận con.")
    assert copy_only.copies == "1 bản sao"


def test_copies_followed_by_prose_is_not_a_cell():
    text = "--" + DOSSIER + "Tờ khai theo mẫu.1 bản chính,1 bản sao01 bản sao giấy khai sinh của trẻ em.1 bản chính"
    documents = parse_documents(text).documents
    assert [d.name for d in documents] == ["Tờ khai theo mẫu.", "01 bản sao giấy khai sinh của trẻ em."]


def test_legal_basis_numbers_glued_to_titles():
    text = (
        LEGAL + "Thông tư Hướng dẫn về phí và lệ phí85/2019/TT-BTCNghị định sửa đổi về sổ hộ khẩu104/2022/NĐ-CP"
        "Luật 60/2014/QH1360/2014/QH13Luật Cư trú 202068/2020/QH14Thông tư số 53/2025/TT-BCAngày 01/7/2025 của Bộ "
        "Công an sửa đổi53/2025/TT-BCAThông tư số 66/2023/TT-BCA Sửa đổi Thông tư 55/2021/TT-BCA66/2023/TT-BCA"
        "Quyết định về chế độ15/2011/QĐ-TTg"
    )
    documents, warnings = parse_legal_basis(text)
    assert [d.number for d in documents] == [
        "85/2019/TT-BTC",
        "104/2022/NĐ-CP",
        "60/2014/QH13",
        "68/2020/QH14",
        "53/2025/TT-BCA",
        "66/2023/TT-BCA",
        "15/2011/QĐ-TTg",
    ]
    assert documents[2].title == "Luật 60/2014/QH13"
    assert documents[3].title == "Luật Cư trú 2020"
    assert documents[5].title.startswith("Thông tư số 66/2023/TT-BCA Sửa đổi")
    assert not warnings


# --- record fields ---------------------------------------------------------------------------------------


def test_levels_agencies_and_result():
    assert parse_levels("Cấp bộ, Cấp tỉnh, Cấp xã, Cơ quan khác") == (
        [Level.ministry, Level.province, Level.commune, Level.other],
        [],
    )
    assert parse_levels("Cấp huyện")[1] == ["Cấp huyện"]
    assert split_agencies("Ủy ban Nhân dân\xa0xã,\xa0phường,\xa0thị trấn.") == ["Ủy ban Nhân dân xã, phường, thị trấn"]
    assert split_agencies("Cục Thuế - Bộ tài chính, Thuế tỉnh, thành phố, Thuế cơ sở") == [
        "Cục Thuế - Bộ tài chính",
        "Thuế tỉnh, thành phố",
        "Thuế cơ sở",
    ]
    assert split_agencies("Không có thông tin") == []
    result = (
        "Cập nhật thông tin trong Cơ sở dữ liệu quốc gia về dân cưMã: KQ.G01.000064Thông báo kết quả giải quyết thủ tục"
        "Mã: KQ.G01.000065Từ khóaKhông có thông tinMô tảKhông có thông tin"
        "Chọn cơ quan thực hiệnTỉnh/ Thành phốNộp hồ sơ"
    )
    assert (
        clean_result(result)
        == "Cập nhật thông tin trong Cơ sở dữ liệu quốc gia về dân cư; Thông báo kết quả giải quyết thủ tục"
    )


def test_online_availability_rule():
    online = [SubmissionChannel(kind=ChannelKind.online)]
    in_person = [SubmissionChannel(kind=ChannelKind.in_person)]
    assert (
        derive_online("Đăng ký xe lần đầu trực tuyến toàn trình đối với xe nhập khẩu", online)
        == OnlineAvailability.full
    )
    assert (
        derive_online("Đổi chứng nhận đăng ký xe bằng dịch vụ công trực tuyến một phần hoặc toàn trình", online)
        == OnlineAvailability.partial
    )
    assert derive_online("Thủ tục đăng ký khai sinh", online + in_person) == OnlineAvailability.partial
    assert derive_online("Chứng thực chữ ký", in_person) == OnlineAvailability.none
    assert derive_online("Thủ tục không rõ cách nộp", []) == OnlineAvailability.unknown


# --- consistency and the loader on small synthetic directories -------------------------------------------


def _record(code: str, title: str, page_code: str | None = None, url: str = "") -> dict:
    page = f"{title}Tên thủ tục{title}Mã thủ tục{page_code or code}Số quyết định1/QĐCấp thực hiệnCấp xã"
    return {
        "ma_thu_tuc": code,
        "ten_thu_tuc": title,
        "raw_text": page,
        "detail_url": url or f"https://x/{code}",
        "cap_thuc_hien": "Cấp xã",
        "linh_vuc": "Hộ tịch",
        "cach_thuc_thuc_hien": HEADER + "Trực tiếp3 Ngày làm việcMiễn phí",
        "thanh_phan_ho_so": "--" + DOSSIER + "Tờ khai.1 bản chính",
        "can_cu_phap_ly": LEGAL + "Luật Hộ tịch60/2014/QH13",
        "ket_qua_xu_ly": "Giấy khai sinhMã: KQ.G15.000031Từ khóa",
        "yeu_cau_dieu_kien": "Không có thông tin",
    }


def test_record_problems_are_general():
    assert record_problems(_record("1.000001", "A"), "1.000001") == []
    assert "another procedure's page" in record_problems(_record("1.000001", "A", page_code="3.000579"), "1.000001")[0]
    assert "differs from the file name" in record_problems(_record("1.000001", "A"), "1.000002")[0]
    mismatched = _record("1.000001", "A")
    mismatched["ten_thu_tuc"] = "B"
    assert "title differs" in record_problems(mismatched, "1.000001")[0]
    tracker = DuplicateTracker()
    tracker.keep(_record("1.000001", "A", url="https://x/page"), "a/1.000001.json")
    assert "duplicate code" in tracker.duplicate_of(_record("1.000001", "A"))
    assert "same page" in tracker.duplicate_of(_record("1.000002", "B", url="https://x/page"))


def test_loader_reports_every_skipped_file(tmp_path: Path):
    def write(relative: str, content: str) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")

    write("bo-a/1.000001.json", json.dumps(_record("1.000001", "Thủ tục đăng ký khai sinh")))
    write("bo-a/1.000002.json", json.dumps(_record("1.000002", "Thủ tục khác", page_code="9.999999")))
    write("bo-b/1.000001.json", json.dumps(_record("1.000001", "Thủ tục đăng ký khai sinh")))
    write("bo-b/1.000003.json", "{not json")
    report = load_catalog(tmp_path)
    assert [p.code for p in report.procedures] == ["1.000001"]
    assert report.total == 4 and report.accounted_for
    reasons = {item.path: item.reason for item in report.skipped}
    assert "another procedure's page" in reasons[str(Path("bo-a/1.000002.json"))]
    assert "duplicate code" in reasons[str(Path("bo-b/1.000001.json"))]
    assert "unreadable JSON" in reasons[str(Path("bo-b/1.000003.json"))]
    procedure = report.procedures[0]
    assert procedure.levels == [Level.commune] and procedure.conditions == "" and procedure.result == "Giấy khai sinh"
    assert procedure.channels[0].time.working_days == 3 and procedure.documents[0].copies == "1 bản chính"
    rendered = report.render()
    assert "Skipped: 3" in rendered and "another procedure's page" in rendered


@pytest.mark.parametrize("make", ["missing", "empty", "text_file", "no_records"])
def test_unusable_input_is_one_line_naming_the_fix(tmp_path: Path, make: str):
    target = tmp_path / "catalog"
    if make == "empty":
        target.mkdir()
    elif make == "text_file":
        target = tmp_path / "notes.txt"
        target.write_text("hello", encoding="utf-8")
    elif make == "no_records":
        target.mkdir()
        (target / "empty.yaml").write_text("procedures: []\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        load_catalog(target)
    message = str(raised.value)
    assert "\n" not in message and str(target) in message
    assert re.search(r"pass|point|add|write|fix", message)


# --- the whole shared directory --------------------------------------------------------------------------

_PAGE_CODE = re.compile(r"Mã thủ tục\s*([0-9][0-9.]*[0-9])")
_COPIES = re.compile(r"\d\s?bản\s?(?:chính|sao|chụp)")


@pytest.fixture(scope="module")
def full_import(national_catalog: Path):
    files = sorted(national_catalog.rglob("*.json"))
    records = {str(path.relative_to(national_catalog)): json.loads(path.read_text(encoding="utf-8")) for path in files}
    return records, load_catalog(national_catalog)


def _raw_has_channels(raw: str) -> bool:
    start = raw.find(HEADER)
    return (
        start >= 0
        and re.search("Trực tiếp|Trực tuyến|Dịch vụ bưu chính", raw[start : raw.find("Thành phần hồ sơ", start)])
        is not None
    )


def _raw_has_documents(raw: str) -> bool:
    start = raw.find("Thành phần hồ sơ", max(raw.find(HEADER), 0))
    end = raw.find("Căn cứ pháp lý", start)
    return start >= 0 and _COPIES.search(raw[start:end]) is not None


@pytest.mark.full_catalog
def test_nothing_is_dropped_silently(full_import):
    records, report = full_import
    assert report.total == len(records) > 2000
    assert len(report.procedures) + len(report.skipped) == len(records)
    assert all(item.reason for item in report.skipped)
    assert len({p.code for p in report.procedures}) == len(report.procedures)


@pytest.mark.full_catalog
def test_records_with_another_procedures_page_are_detected(full_import):
    records, report = full_import
    expected = {
        path
        for path, record in records.items()
        if (_PAGE_CODE.search(record["raw_text"]) or [None, None])[1] != record["ma_thu_tuc"]
    }
    flagged = {item.path for item in report.skipped if "another procedure's page" in item.reason}
    assert 10 <= len(expected) <= 30  # the data README says 17
    assert flagged == expected
    assert not {p.code for p in report.procedures} & {records[path]["ma_thu_tuc"] for path in expected}


@pytest.mark.full_catalog
def test_channels_and_documents_are_parsed_for_at_least_95_percent(full_import):
    records, report = full_import
    by_code = {p.code: p for p in report.procedures}
    imported = [r for r in records.values() if r["ma_thu_tuc"] in by_code]
    with_channels = [r for r in imported if _raw_has_channels(r["raw_text"])]
    with_documents = [r for r in imported if _raw_has_documents(r["raw_text"])]
    channels_ratio = sum(bool(by_code[r["ma_thu_tuc"]].channels) for r in with_channels) / len(with_channels)
    documents_ratio = sum(bool(by_code[r["ma_thu_tuc"]].documents) for r in with_documents) / len(with_documents)
    assert len(with_channels) > 2000 and len(with_documents) > 2000
    assert channels_ratio >= 0.95, channels_ratio
    assert documents_ratio >= 0.95, documents_ratio
    assert report.coverage["channels"].ratio >= 0.95 and report.coverage["documents"].ratio >= 0.95


@pytest.mark.full_catalog
def test_known_records_come_out_structured(full_import):
    _, report = full_import
    by_code = {p.code: p for p in report.procedures}
    birth = by_code["1.001193"]  # Thủ tục đăng ký khai sinh
    assert birth.levels == [Level.commune] and birth.online == OnlineAvailability.partial
    assert {c.kind for c in birth.channels} == {ChannelKind.online, ChannelKind.postal, ChannelKind.in_person}
    assert all(c.fee.free for c in birth.channels)
    assert birth.result == "Giấy khai sinh" and any(d.number == "60/2014/QH13" for d in birth.legal_basis)
    assert any(d.group == "Giấy tờ phải nộp" and d.copies == "1 bản chính" for d in birth.documents)
    residence = by_code["1.004222"]  # Đăng ký thường trú: 10.000 đ online, 20.000 đ in person, 7 working days
    fees = {c.kind: c.fee.amount_vnd for c in residence.channels}
    assert fees == {ChannelKind.online: 10000, ChannelKind.in_person: 20000}
    assert all(c.time.working_days == 7 for c in residence.channels)
    assert by_code["1.012575"].online == OnlineAvailability.full  # "… trực tuyến toàn trình …"


@pytest.mark.parametrize(
    "description, time, expected",
    [
        (
            "- Cấp lại giấy phép bị mất, hỏng: 07 ngày làm việc kể từ ngày nhận hồ sơ đầy đủ theo quy định.",
            "7 ngày làm việc",
            "Cấp lại giấy phép bị mất, hỏng",
        ),
        # The item stating the row's own duration names the case, not the first item.
        (
            "- Cách thức thực hiện: + Chủ xe kê khai trên Cổng Dịch vụ công. "
            "+ Cấp chứng nhận đăng ký xe: Không quá 02 ngày "
            "làm việc. + Cấp lại biển số định danh: Không quá 07 ngày làm việc.",
            "7 ngày làm việc",
            "Cấp lại biển số định danh",
        ),
        (
            (
                "a) Đối với cấp Giấy chứng nhận đủ điều kiện kinh doanh "
                "Trong thời hạn sáu mươi (60) ngày làm việc, kể từ …"
            ),
            "60 ngày làm việc",
            "Cấp Giấy chứng nhận đủ điều kiện kinh doanh",
        ),
        ("+ Cấp mới biển số xe: Cấp ngay sau khi nhận đủ hồ sơ hợp lệ.", "1 giờ", "Cấp mới biển số xe"),
        ("Nộp hồ sơ trực tuyến qua Cổng dịch vụ công quốc gia.", "3 ngày làm việc", ""),
        ("- Thời hạn giải quyết: 05 ngày làm việc.", "5 ngày làm việc", ""),
        ("", "5 ngày làm việc", ""),
    ],
)
def test_row_case_names_the_case_a_row_applies_to(description, time, expected):
    assert row_case(description, time) == expected
