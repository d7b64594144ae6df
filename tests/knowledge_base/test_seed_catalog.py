"""The seed catalogue shipped in knowledge_base/catalog: loads, validates, and says what the real records say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge_base.importers import load_catalog
from knowledge_base.schema import Level

_STATED_AMOUNT = re.compile(r"(\d{1,3}(?:\.\d{3})+)\s?(?:đồng|đ\b|VNĐ)")
SEED = Path(__file__).resolve().parents[2] / "knowledge_base" / "catalog"
NATIONAL_PORTAL = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/"


@pytest.fixture(scope="module")
def seed():
    return load_catalog(SEED)


def test_seed_loads_without_skips_and_has_at_least_40_unique_procedures(seed):
    assert seed.format == "seed"
    assert seed.skipped == [], seed.render()
    codes = [p.code for p in seed.procedures]
    assert len(codes) >= 40
    assert len(set(codes)) == len(codes)


def test_every_procedure_is_usable_by_the_bot(seed):
    for procedure in seed.procedures:
        assert procedure.documents, procedure.code
        assert all(d.name and d.copies for d in procedure.documents), procedure.code
        assert procedure.channels, procedure.code
        assert procedure.levels and procedure.field and procedure.result, procedure.code
        assert procedure.keywords and procedure.summary, procedure.code
        assert procedure.source_url.startswith(NATIONAL_PORTAL) and procedure.decision_number, procedure.code
        assert procedure.legal_basis and all(d.number for d in procedure.legal_basis), procedure.code


def test_levels_cover_commune_and_province(seed):
    levels = {level for p in seed.procedures for level in p.levels}
    assert {Level.commune, Level.province} <= levels
    assert sum(Level.commune in p.levels for p in seed.procedures) >= 25


def test_topics_citizens_ask_about_are_covered(seed):
    fields = {p.field for p in seed.procedures}
    for field in (
        "Hộ tịch",
        "Đăng ký, quản lý cư trú",
        "Cấp, quản lý căn cước",
        "Chứng thực",
        "Lý lịch tư pháp",
        "Đất đai",
        "Hoạt động xây dựng",
        "Thành lập và hoạt động doanh nghiệp (hộ kinh doanh)",
    ):
        assert field in fields, field
    keywords = {k.lower() for p in seed.procedures for k in p.keywords}
    for everyday in ("làm giấy khai sinh", "sổ đỏ", "cccd", "nhập hộ khẩu", "lý lịch tư pháp"):
        assert any(everyday in k for k in keywords), everyday


def test_entries_are_concise_summaries_not_copies_of_the_portal(seed):
    for procedure in seed.procedures:
        assert len(procedure.steps) <= 600, procedure.code
        assert len(procedure.summary) <= 200, procedure.code
        assert all(len(d.name) <= 250 for d in procedure.documents), procedure.code
        assert all(len(c.fee.text) <= 200 and len(c.description) <= 200 for c in procedure.channels), procedure.code


def test_a_single_seed_file_loads_too():
    report = load_catalog(SEED / "ho_tich.yaml")
    assert report.procedures and all(p.field == "Hộ tịch" for p in report.procedures)


@pytest.mark.full_catalog
def test_seed_facts_match_the_national_records(seed, national_catalog: Path):
    national = {p.code: p for p in load_catalog(national_catalog).procedures}
    for procedure in seed.procedures:
        source = national.get(procedure.code)
        assert source is not None, f"{procedure.code} is not an imported national record"
        assert procedure.title == source.title, procedure.code
        assert procedure.source_url == source.source_url, procedure.code
        assert procedure.decision_number == source.decision_number, procedure.code
        assert set(procedure.levels) == set(source.levels), procedure.code
        amounts = {c.fee.amount_vnd for c in source.channels if c.fee.amount_vnd} | {
            int(number.replace(".", "")) for c in source.channels for number in _STATED_AMOUNT.findall(c.fee.text)
        }
        for channel in procedure.channels:
            if channel.fee.amount_vnd:  # a stated amount must be one the record publishes (fee column or note)
                assert channel.fee.amount_vnd in amounts, (procedure.code, channel.fee.amount_vnd, amounts)


# --- the seed loader on small files ----------------------------------------------------------------------

_MINIMAL = """
procedures:
  - code: "9.000001"
    title: "Thu\u0309 tu\u0323c thư\u0309"
    levels: [cap_xa]
    channels: [{kind: truc_tiep}]
    documents: [{name: "Tờ khai", copies: "1 bản chính"}]
  - code: "9.000001"
    title: "Trùng mã"
  - code: "9.000002"
    title: "Cấp sai"
    levels: [cap_huyen]
"""


def test_seed_loader_normalizes_unicode_and_reports_bad_records(tmp_path: Path):
    (tmp_path / "thu.yaml").write_text(_MINIMAL, encoding="utf-8")
    report = load_catalog(tmp_path)
    assert [p.title for p in report.procedures] == ["Thủ tục thử"]  # composed (NFC) although the file is decomposed
    assert report.total == 3 and report.accounted_for
    reasons = [item.reason for item in report.skipped]
    assert "duplicate code 9.000001" in reasons[0]
    assert "levels" in reasons[1]


def test_broken_yaml_is_one_line_naming_the_file(tmp_path: Path):
    from knowledge_base.errors import KnowledgeBaseError

    (tmp_path / "hong.yaml").write_text("procedures: [\n  - code: 1\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        load_catalog(tmp_path)
    assert "hong.yaml" in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.full_catalog
def test_a_single_national_record_file_loads(national_catalog: Path):
    report = load_catalog(national_catalog / "bo-tu-phap" / "1.001193.json")
    assert [p.code for p in report.procedures] == ["1.001193"]
