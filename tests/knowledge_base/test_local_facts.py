"""Province facts over national records (issue 15, item 5): the province's value wins at import and the
import report says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.settings import PROJECT_ROOT
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers import load_catalog
from knowledge_base.importers.local_facts import read_local_facts
from knowledge_base.schema import ChannelKind

SEED = PROJECT_ROOT / "knowledge_base" / "catalog"
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "local_facts.yaml"
SAMPLE = PROJECT_ROOT / "knowledge_base" / "local" / "tay_ninh.sample.yaml"


def _record(report, code):
    return next(p for p in report.procedures if p.code == code)


def test_override_wins_and_is_reported():
    national = _record(load_catalog(SEED), "1.004194")
    report = load_catalog(SEED, FIXTURE)
    merged = _record(report, "1.004194")
    in_person = next(c for c in merged.channels if c.kind == ChannelKind.in_person)
    online = next(c for c in merged.channels if c.kind == ChannelKind.online)
    assert in_person.fee.text == "15.000 đồng/lần đăng ký" and in_person.fee.amount_vnd == 15000
    # Only the channel the province named changes; the online fee stays the national record's.
    assert online.fee == next(c for c in national.channels if c.kind == ChannelKind.online).fee
    assert merged.local is not None and merged.local.fields == ["fee"] and merged.local.fee_channels == ["truc_tiep"]
    assert merged.local.source.startswith("Nghị quyết số 99/2099/NQ-HĐND") and merged.local.version == "test-2026-12-07"
    rendered = report.render()
    assert "Province facts:" in rendered and "1 field(s) replaced" in rendered
    assert "1.004194: fee (truc_tiep):" in rendered and "'15.000 đồng/lần đăng ký'" in rendered
    assert "not in this catalogue (ignored): 9.999999" in rendered
    # Records the file does not name are untouched, and hash as before (their dense vectors are reused).
    assert _record(report, "1.001193").local is None
    assert _record(report, "1.001193").content_hash() == _record(load_catalog(SEED), "1.001193").content_hash()
    assert merged.content_hash() != national.content_hash()


def test_sample_file_is_marked_and_states_no_amount():
    facts = read_local_facts(SAMPLE)
    assert facts.sample is True
    for entry in facts.procedures.values():
        assert entry.fee is None or (entry.fee.amount_vnd is None and "(mẫu)" in entry.fee.text)
    merged = _record(load_catalog(SEED, SAMPLE), "1.004194")
    assert merged.local.sample is True


@pytest.mark.parametrize(
    "content, fix",
    [
        ("procedures: {}\n", "version"),
        ("version: x\nprocedures:\n  '1.004194':\n    fee: {amount_vnd: lots}\n", "amount_vnd"),
        ("- just a list\n", "mapping"),
    ],
)
def test_bad_file_gets_a_one_line_error(tmp_path: Path, content, fix):
    path = tmp_path / "facts.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as error:
        load_catalog(SEED, path)
    assert fix in str(error.value) and "\n" not in str(error.value)


def test_missing_file_names_the_setting(tmp_path: Path):
    with pytest.raises(KnowledgeBaseError, match="province.local_facts"):
        load_catalog(SEED, tmp_path / "missing.yaml")
