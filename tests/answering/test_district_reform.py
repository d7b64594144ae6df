"""The 2025 reform (issue 15, item 4): records that still name the district level get a note saying where
the procedure is handled now, worded per province (settings), and are flagged for the catalogue team."""

from __future__ import annotations

import pytest

from assistant.app import answers
from assistant.app.district_reform import COMMUNE_SUCCESSOR, district_mentions, district_note
from assistant.core.settings import load_settings
from knowledge_base.schema import Level, Procedure

DISTRICT = Procedure(
    code="1.010385",
    title="Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp huyện)",
    levels=[Level.commune],
    agencies=["Công an huyện"],
)
COMMUNE = Procedure(
    code="1.001193", title="Đăng ký khai sinh", levels=[Level.commune], agencies=["Ủy ban nhân dân cấp xã"]
)
NOTE_START = "Lưu ý: thông tin thủ tục này còn ghi «Công an huyện», nhưng từ ngày 01/7/2025 không còn cấp huyện."


@pytest.fixture
def settings():
    return load_settings(environ={}).model_copy(deep=True)


@pytest.mark.parametrize("aspect", answers.ASPECTS)
def test_a_record_naming_the_district_level_gets_the_note(settings, aspect):
    text = answers.answer(DISTRICT, aspect, settings).text
    assert NOTE_START in text and COMMUNE_SUCCESSOR in text  # default successor: the commune


@pytest.mark.parametrize("aspect", answers.ASPECTS)
def test_a_record_not_naming_it_gets_none(settings, aspect):
    assert "cấp huyện" not in answers.answer(COMMUNE, aspect, settings).text


def test_the_province_setting_changes_where_it_is_handled(settings):
    settings.province.district_successor = "province"
    text = answers.answer(DISTRICT, "where", settings).text
    assert "nay do Trung tâm Phục vụ hành chính công tỉnh Tây Ninh tiếp nhận" in text
    assert COMMUNE_SUCCESSOR not in text
    settings.province.one_stop_address = "Trung tâm PVHCC tỉnh, số 1 đường A"
    assert "nay do Trung tâm PVHCC tỉnh, số 1 đường A tiếp nhận" in district_note(DISTRICT, settings)


def test_the_province_can_word_the_note_itself(settings):
    settings.province.district_note = "Từ 01/7/2025, thủ tục này Anh/Chị làm tại Trung tâm hành chính công xã."
    text = answers.answer(DISTRICT, "fee", settings).text
    assert text.endswith("\n\nTừ 01/7/2025, thủ tục này Anh/Chị làm tại Trung tâm hành chính công xã.")
    assert "Lưu ý" not in text
    assert district_note(COMMUNE, settings) == ""


def test_the_setting_is_read_from_settings_yml_and_the_environment(tmp_path):
    assert load_settings(environ={}).province.district_successor == "commune"
    loaded = load_settings(environ={"TTHC_PROVINCE__DISTRICT_SUCCESSOR": "province"})
    assert loaded.province.district_successor == "province"
    with pytest.raises(ValueError):
        load_settings(environ={"TTHC_PROVINCE__DISTRICT_SUCCESSOR": "huyen"})


@pytest.mark.parametrize(
    "record, expected",
    [
        (DISTRICT, ["Cơ quan thực hiện: Công an huyện", "Tên thủ tục: cấp huyện"]),
        (
            Procedure(
                code="X",
                title="Giải quyết hưởng chế độ ốm đau",
                agencies=["Bảo hiểm xã hội cấp Tỉnh", "Bảo hiểm xã hội cấp huyện"],
            ),
            ["Cơ quan thực hiện: Bảo hiểm xã hội cấp huyện"],
        ),
        (
            Procedure(code="X", title="Xét hưởng chế độ", where_to_submit="Cơ quan Công an cấp huyện nơi thường trú"),
            ["Nơi tiếp nhận: Công an cấp huyện"],
        ),
        (
            Procedure(code="X", title="Thủ tục đăng ký", where_to_submit="Phòng Tư pháp huyện Châu Thành"),
            ["Nơi tiếp nhận: Phòng Tư pháp huyện"],
        ),
        # A place, not the handling level: no flag.
        (Procedure(code="X", title="Hỗ trợ đầu tư cho các huyện nghèo", agencies=["Bộ Tài chính"]), []),
        (Procedure(code="X", title="Cấp phép thi công trên đường huyện", agencies=["Sở Xây dựng"]), []),
        (COMMUNE, []),
    ],
)
def test_district_mentions(record, expected):
    assert district_mentions(record) == expected
