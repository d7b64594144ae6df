"""Province facts in the answers (issue 15, item 5): a fee the province set is shown as the province's, with the
decision that sets it; the national value of the other channels stays; a sample file is never shown as a rule."""

from __future__ import annotations

from assistant.app import answers, english_replies
from assistant.core.settings import PROJECT_ROOT, load_settings
from knowledge_base.importers import load_catalog

SEED = PROJECT_ROOT / "knowledge_base" / "catalog"
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "local_facts.yaml"
SAMPLE = PROJECT_ROOT / "knowledge_base" / "local" / "tay_ninh.sample.yaml"
SETTINGS = load_settings(environ={})


def _record(facts=None, code="1.004194"):
    return next(p for p in load_catalog(SEED, facts).procedures if p.code == code)


def test_fee_answer_shows_the_province_fee_as_local():
    text = answers.answer(_record(FIXTURE), "fee", SETTINGS).text
    assert "- Trực tiếp: 15.000 đồng/lần đăng ký (theo quy định của tỉnh)" in text
    assert "7.000 đồng/lần đăng ký" in text  # the online fee is still the national record's
    assert (
        "Theo quy định của tỉnh Tây Ninh (Nghị quyết số 99/2099/NQ-HĐND (thử nghiệm)): lệ phí ở trên là mức "
        "của tỉnh, thay cho mức trong danh mục quốc gia."
    ) in text
    national = answers.answer(_record(), "fee", SETTINGS).text
    assert "15.000" not in national and "theo quy định của tỉnh" not in national.lower()


def test_guide_card_carries_the_local_note():
    text = answers.answer(_record(FIXTURE), "overview", SETTINGS).text
    assert "(theo quy định của tỉnh)" in text and "Theo quy định của tỉnh Tây Ninh" in text


def test_sample_facts_are_called_sample_data():
    text = answers.answer(_record(SAMPLE), "fee", SETTINGS).text
    assert "(dữ liệu mẫu)" in text and "dữ liệu mẫu của tỉnh Tây Ninh, chưa phải quy định chính thức" in text
    assert "Theo quy định của tỉnh" not in text


def test_english_answer_says_the_province_set_it():
    text = english_replies.answer(_record(FIXTURE), "fee", SETTINGS).text
    assert "15.000 đồng/lần đăng ký (theo quy định của tỉnh)" in text
    assert (
        "(Set by the province of Tây Ninh: Nghị quyết số 99/2099/NQ-HĐND (thử nghiệm); shown instead of the "
        "national record.)"
    ) in text
    assert "Set by the province" not in english_replies.answer(_record(FIXTURE), "time", SETTINGS).text


def test_only_answers_showing_the_provincial_fact_carry_the_note():
    assert "Theo quy định của tỉnh" not in answers.answer(_record(FIXTURE), "steps", SETTINGS).text
    assert "Theo quy định của tỉnh" not in answers.answer(_record(FIXTURE), "time", SETTINGS).text


def test_directory_fills_the_contact_details_the_settings_leave_empty(tmp_path):
    settings = load_settings(environ={"TTHC_PROVINCE__LOCAL_FACTS": str(FIXTURE)})
    lines = answers.contact_lines(settings)
    assert "- Đường dây nóng: 0276 000 0000" in lines
    assert "- Nơi tiếp nhận trực tiếp: Trung tâm Phục vụ hành chính công tỉnh, Số 1 Đường Thử Nghiệm" in lines
    assert "- Giờ làm việc: Thứ Hai – Thứ Sáu, 7:00–17:00" in lines
    assert "0276 000 0000" in answers.not_in_catalogue(settings).text
    configured = load_settings(
        environ={"TTHC_PROVINCE__LOCAL_FACTS": str(FIXTURE), "TTHC_PROVINCE__HOTLINE": "0276 111 1111"}
    )
    assert "- Đường dây nóng: 0276 111 1111" in answers.contact_lines(configured)  # the setting wins


def test_a_sample_or_broken_directory_is_never_shown(tmp_path):
    sample = load_settings(environ={"TTHC_PROVINCE__LOCAL_FACTS": str(SAMPLE)})
    assert answers.contact_lines(sample) == ["- Nơi tiếp nhận trực tiếp: Bộ phận Một cửa UBND xã/phường"]
    broken = tmp_path / "facts.yaml"
    broken.write_text("version: [unclosed\n", encoding="utf-8")
    settings = load_settings(environ={"TTHC_PROVINCE__LOCAL_FACTS": str(broken)})
    assert answers.contact_lines(settings) == ["- Nơi tiếp nhận trực tiếp: Bộ phận Một cửa UBND xã/phường"]
