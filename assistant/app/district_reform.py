"""The 2025 reform: since 1 July 2025 there is no district level (cấp huyện).

Some published records still name it as the level or agency that handles the procedure ("cấp huyện",
"UBND huyện", "Công an huyện", "Phòng Tư pháp huyện", "Bảo hiểm xã hội cấp huyện"). For those records:
- answers carry a note saying where such procedures are handled now, configured per province
  (`province.district_successor`: commune or province; `province.district_note` replaces the wording);
- the staff API and page flag them (`district_mentions`) so the catalogue team can correct the record.

Only the fields that say who handles the procedure and where are read (title, agencies, place of
submission): a step that mentions a district office in passing is not a handling district level.
"""

from __future__ import annotations

import re

from assistant.core.settings import Settings
from knowledge_base.schema import Procedure

# An agency's name with "huyện" names the district level. In a title or an address only the level or a
# district office does ("cấp huyện", "UBND huyện", "Công an huyện", "Phòng Tư pháp huyện"), not a place
# ("các huyện nghèo", "đường huyện").
_DISTRICT_WORD = re.compile(r"(?<!\w)huyện(?!\w)", re.IGNORECASE)
_WORD = r"[^\s,;:()]+"
_DISTRICT_LEVEL = re.compile(
    r"(?<!\w)(?:(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân|Công an|Bảo hiểm xã hội|Tòa án nhân dân|Viện kiểm sát nhân dân)"
    rf"(?: cấp)? huyện|Phòng {_WORD}(?: {_WORD}){{0,4}}? (?:cấp )?huyện|cấp huyện)(?!\w)",
    re.IGNORECASE,
)

COMMUNE_SUCCESSOR = "Ủy ban nhân dân xã, phường, đặc khu nơi Anh/Chị cư trú (Bộ phận Một cửa cấp xã)"


def district_mentions(procedure: Procedure) -> list[str]:
    """Where the record names the district level, as "field: phrase" (empty when it does not)."""
    mentions = [f"Cơ quan thực hiện: {agency}" for agency in procedure.agencies if _DISTRICT_WORD.search(agency)]
    for label, text in (("Tên thủ tục", procedure.title), ("Nơi tiếp nhận", procedure.where_to_submit)):
        mentions += [f"{label}: {match.group(0)}" for match in _DISTRICT_LEVEL.finditer(text)]
    return list(dict.fromkeys(mentions))


def names_district_level(procedure: Procedure) -> bool:
    return bool(district_mentions(procedure))


def successor(settings: Settings) -> str:
    """Who handles former district-level procedures now, in the citizen's words."""
    province = settings.province
    if province.district_successor == "province":
        return province.one_stop_address.strip() or f"Trung tâm Phục vụ hành chính công tỉnh {province.name}"
    return COMMUNE_SUCCESSOR


def district_note(procedure: Procedure, settings: Settings) -> str:
    """The note an answer about this record carries ('' when the record does not name the district level)."""
    mentions = district_mentions(procedure)
    if not mentions:
        return ""
    if settings.province.district_note.strip():
        return settings.province.district_note.strip()
    named = mentions[0].split(": ", 1)[1]
    return (
        f"Lưu ý: thông tin thủ tục này còn ghi «{named}», nhưng từ ngày 01/7/2025 không còn cấp huyện. "
        f"Phần việc trước đây của cấp huyện nay do {successor(settings)} tiếp nhận; "
        "Anh/Chị liên hệ nơi này để được hướng dẫn."
    )
