"""The seed catalogue shipped in knowledge_base/catalog: loads, validates, and says what the real records say."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.importers import load_catalog
from knowledge_base.schema import Level

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
    for field in ("Hộ tịch", "Đăng ký, quản lý cư trú", "Cấp, quản lý căn cước", "Chứng thực", "Lý lịch tư pháp",
                  "Đất đai", "Hoạt động xây dựng", "Thành lập và hoạt động doanh nghiệp (hộ kinh doanh)"):
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
        amounts = {c.fee.amount_vnd for c in source.channels if c.fee.amount_vnd}
        for channel in procedure.channels:
            if channel.fee.amount_vnd:  # a stated amount must be one the record publishes
                assert channel.fee.amount_vnd in amounts, (procedure.code, channel.fee.amount_vnd, amounts)
