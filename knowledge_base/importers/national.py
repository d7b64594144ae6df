"""Importer for the national public-service portal's records (`<agency>/<code>.json`, dichvucong.gov.vn).

Each record is mapped to a `Procedure`: the flattened tables are parsed back into structure
(channels.py, documents.py), levels and agencies are normalized, page boilerplate is stripped from the
result, and "Không có thông tin" reads as empty. Records that contradict themselves (consistency.py) are
skipped with a reason; nothing is dropped silently: every file ends up imported or skipped.

When a table field is misaligned (the crawler cut the page at a heading repeated inside the steps, so
`thanh_phan_ho_so` holds part of the steps), the same section is read from `raw_text` instead, and the
report counts it under "<field>: taken from raw_text".

Online availability (`online`) is derived only from what the record states:
- toàn trình (full): the title says the procedure is done "toàn trình" online and does not also say
  "một phần" (e.g. "Đăng ký xe lần đầu trực tuyến toàn trình …");
- có thể nộp trực tuyến (`partial`, value "mot_phan"): otherwise, when an online submission channel
  ("Trực tuyến") is listed. The channel table does not say how much of the procedure is done online, so
  the label claims no more than that a dossier can be submitted online ("Có thể nộp hồ sơ trực tuyến");
- không (none): channels are listed and none of them is online;
- không rõ (unknown): no channel could be read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from knowledge_base.importers.channels import CHANNEL_NAMES, parse_channels
from knowledge_base.importers.channels import TABLE_HEADER as CHANNEL_HEADER
from knowledge_base.importers.consistency import DuplicateTracker, record_problems
from knowledge_base.importers.documents import (
    DOSSIER_HEADER,
    LEGAL_HEADER,
    copies_cells,
    parse_documents,
    parse_legal_basis,
)
from knowledge_base.importers.report import ImportReport
from knowledge_base.importers.text import clean_text, field_value
from knowledge_base.schema import ChannelKind, Level, OnlineAvailability, Procedure, SubmissionChannel

LEVELS = {
    "cấp bộ": Level.ministry,
    "cấp tỉnh": Level.province,
    "cấp xã": Level.commune,
    "cơ quan khác": Level.other,
}
REQUIRED_KEYS = ("ma_thu_tuc", "ten_thu_tuc", "raw_text")

_RESULT_CODE = re.compile(r"Mã:\s*[A-Z0-9]*(?:[.\-][A-Z0-9]+)*\d")
_FULLY_ONLINE = re.compile(r"toàn\s+trình", re.IGNORECASE)
_PARTLY_ONLINE = re.compile(r"một\s+phần", re.IGNORECASE)


# --- sections of the page text (fallback and coverage denominator) ---------------------------------


def channel_section(raw: str) -> str:
    start = raw.find(CHANNEL_HEADER)
    if start < 0:
        return ""
    end = raw.find("Thành phần hồ sơ", start)
    return raw[start : end if end > 0 else len(raw)]


def documents_section(raw: str) -> str:
    table = raw.find(CHANNEL_HEADER)
    start = raw.find("Thành phần hồ sơ", max(table, 0))
    if start < 0:
        return ""
    end = raw.find("Căn cứ pháp lý" + LEGAL_HEADER, start)
    if end < 0:
        end = raw.find("Căn cứ pháp lý", start)
    return raw[start + len("Thành phần hồ sơ") : end if end > 0 else len(raw)]


def legal_section(raw: str) -> str:
    start = raw.find(LEGAL_HEADER)
    if start < 0:
        return ""
    end = raw.find("Cơ quan thực hiện", start)
    return raw[start : end if end > 0 else len(raw)]


# --- field mappers ------------------------------------------------------------------------------------


def parse_levels(text: str) -> tuple[list[Level], list[str]]:
    """'Cấp bộ, Cấp tỉnh' -> [ministry, province]; unknown parts are returned for the report."""
    levels, unknown = [], []
    for part in clean_text(text).split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name in LEVELS:
            if LEVELS[name] not in levels:
                levels.append(LEVELS[name])
        else:
            unknown.append(part.strip())
    return levels, unknown


def split_agencies(text: str) -> list[str]:
    """The portal joins agencies with ", " but names contain commas too ("xã, phường, thị trấn"):
    split only where the next part starts with a capital letter."""
    value = field_value(text).rstrip(".")
    if not value:
        return []
    parts: list[str] = []
    for piece in value.split(", "):
        if parts and not piece[:1].isupper():
            parts[-1] += ", " + piece
        else:
            parts.append(piece)
    return [p.strip() for p in parts if p.strip()]


def clean_result(text: str) -> str:
    """'Giấy khai sinhMã: KQ.G15.000031Từ khóa…Nộp hồ sơ' -> 'Giấy khai sinh' (several results joined by '; ')."""
    value = clean_text(text)
    cut = value.find("Từ khóa")
    if cut >= 0:
        value = value[:cut]
    names = [clean_text(part).strip(" .;-+") for part in _RESULT_CODE.split(value)]
    names = [name for name in names if name]
    return "; ".join(dict.fromkeys(names))


def derive_online(title: str, channels: list[SubmissionChannel]) -> OnlineAvailability:
    """See the module docstring for the rule."""
    if _FULLY_ONLINE.search(title) and not _PARTLY_ONLINE.search(title):
        return OnlineAvailability.full
    if not channels:
        return OnlineAvailability.unknown
    if any(channel.kind == ChannelKind.online for channel in channels):
        return OnlineAvailability.partial
    return OnlineAvailability.none


# --- one record -----------------------------------------------------------------------------------------


def record_to_procedure(record: dict, report: ImportReport) -> Procedure:
    """Map one consistent record to a Procedure, counting parse coverage and warnings in `report`."""
    code = str(record["ma_thu_tuc"]).strip()
    raw = record.get("raw_text") or ""

    channel_text = record.get("cach_thuc_thuc_hien") or ""
    if CHANNEL_HEADER not in channel_text and CHANNEL_HEADER in raw:
        report.warn("channels: taken from raw_text", code)
        channel_text = channel_section(raw)
    channels = parse_channels(channel_text)
    for kind, example in channels.warnings:
        report.warn(f"channels: {kind}", f"{code}: {example}")
    raw_has_channels = any(name in channel_section(raw) for name in CHANNEL_NAMES)
    report.count_coverage("channels", present=raw_has_channels, parsed=bool(channels.channels))

    dossier_text = record.get("thanh_phan_ho_so") or ""
    raw_documents = documents_section(raw)
    if not copies_cells(dossier_text) and DOSSIER_HEADER in raw_documents and copies_cells(raw_documents):
        report.warn("documents: taken from raw_text", code)
        dossier_text = raw_documents
    documents = parse_documents(dossier_text)
    for kind, example in documents.warnings:
        report.warn(f"documents: {kind}", f"{code}: {example}")
    report.count_coverage("documents", present=bool(copies_cells(raw_documents)), parsed=bool(documents.documents))

    legal_text = record.get("can_cu_phap_ly") or ""
    if LEGAL_HEADER not in legal_text and LEGAL_HEADER in raw:
        report.warn("legal_basis: taken from raw_text", code)
        legal_text = legal_section(raw)
    legal_basis, legal_warnings = parse_legal_basis(legal_text)
    for kind, example in legal_warnings:
        report.warn(f"legal_basis: {kind}", f"{code}: {example}")
    report.count_coverage("legal_basis", present=LEGAL_HEADER in raw, parsed=any(d.number for d in legal_basis))

    levels, unknown_levels = parse_levels(record.get("cap_thuc_hien", ""))
    for name in unknown_levels:
        report.warn("levels: unknown level", f"{code}: {name}")

    agencies = split_agencies(record.get("co_quan_thuc_hien", ""))
    for agency in split_agencies(record.get("co_quan_co_tham_quyen", "")):
        if agency not in agencies:
            agencies.append(agency)

    title = clean_text(record["ten_thu_tuc"])
    return Procedure(
        code=code,
        title=title,
        levels=levels,
        field=field_value(record.get("linh_vuc", "")),
        agencies=agencies,
        audience=field_value(record.get("doi_tuong_thuc_hien", "")),
        where_to_submit=field_value(record.get("dia_chi_tiep_nhan", "")),
        steps=field_value(record.get("trinh_tu_thuc_hien", ""), keep_newlines=True),
        channels=channels.channels,
        documents=documents.documents,
        conditions=field_value(record.get("yeu_cau_dieu_kien", ""), keep_newlines=True),
        result=clean_result(record.get("ket_qua_xu_ly", "")),
        legal_basis=legal_basis,
        online=derive_online(title, channels.channels),
        source_url=clean_text(record.get("detail_url", "")),
        decision_number=field_value(record.get("so_quyet_dinh", "")),
    )


# --- the directory --------------------------------------------------------------------------------------


def _read_record(path: Path) -> tuple[dict | None, str]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"unreadable JSON ({type(exc).__name__}: {str(exc).splitlines()[0][:80]})"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    missing = [key for key in REQUIRED_KEYS if not str(record.get(key) or "").strip()]
    if missing:
        return None, f"missing field(s): {', '.join(missing)}"
    return record, ""


def load_national(root: Path, files: list[Path]) -> ImportReport:
    """Import every record file; inconsistent, duplicate or unreadable ones are skipped with a reason."""
    report = ImportReport(source=str(root), format="national")
    duplicates = DuplicateTracker()
    for path in files:
        report.total += 1
        where = str(path.relative_to(root))
        record, error = _read_record(path)
        if record is None:
            report.skip(where, error)
            continue
        problems = record_problems(record, path.stem)
        if problems:
            report.skip(where, "inconsistent record: " + "; ".join(problems))
            continue
        duplicate = duplicates.duplicate_of(record)
        if duplicate:
            report.skip(where, duplicate)
            continue
        try:
            procedure = record_to_procedure(record, report)
        except ValueError as exc:  # pydantic ValidationError is a ValueError
            report.skip(where, f"invalid record: {str(exc).splitlines()[0][:120]}")
            continue
        duplicates.keep(record, where)
        report.procedures.append(procedure)
    return report
