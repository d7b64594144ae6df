"""Vietnamese replies composed from catalogue records (no Rasa here).

Every fact in a reply comes from the `Procedure` record; when the record does not state a
field, the reply says so and points to the one-stop counter instead of guessing a fee or a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from urllib.parse import urlencode

from assistant.app import local_directory
from assistant.app.district_reform import district_note, names_district_level
from assistant.app.dossier_tracking import TrackingResult, TrackingStatus
from assistant.core.reply import Button, Link, Reply, ReplyOutcome
from assistant.core.settings import Settings, get_settings
from knowledge_base.english import ASPECT_INTENTS as INTENT_OF_ASPECT
from knowledge_base.importers.channels import row_case
from knowledge_base.importers.local_facts import Office
from knowledge_base.schema import (
    CHANNEL_LABELS,
    LEVEL_LABELS,
    ONLINE_LABELS,
    ChannelKind,
    Fee,
    Level,
    OnlineAvailability,
    Procedure,
    ProcessingTime,
    SearchHit,
)
from knowledge_base.text import fold

ASPECTS = ("overview", "documents", "fee", "time", "where", "online", "steps", "conditions", "result")
MAX_OPTIONS = 5
MAX_DOCUMENTS = 15  # a longer checklist is cut, and the reply says how many were left out
MAX_FIELD_CHARS = 600  # long published texts are shortened; the source link has the rest
MAX_TITLE_CHARS = 160  # some published titles run to 1,000+ characters
MAX_DOCUMENT_CHARS = 250  # one checklist line; some published "document names" are whole pages
MAX_CHECKLIST_CHARS = 2500  # the whole checklist; the rest is counted, not shown
MAX_CASE_LINES = 8  # fee or time lines (one per case); the rest is counted, not shown
MAX_FEE_ITEMS = 6  # items of a fee note that lists amounts by case, one line each
MAX_OVERVIEW_CASES = 3  # fee or time lines in the overview
MAX_CARD_CHARS = 1900  # the guide card with its links: one Zalo message (2,000 characters), room to spare
MAX_CARD_DOCUMENTS = 8  # checklist lines on the guide card; the documents answer has the rest
MAX_CARD_DOCUMENT_CHARS = 160
MAX_CARD_PURPOSE_CHARS = 200

DEFAULT_COUNTER = "Bộ phận Một cửa UBND xã/phường"
HANDOFF_PAYLOAD = "/request_human"  # the "Gặp cán bộ" button
NEAR_DUPLICATE_RATIO = 0.9  # option titles this similar (folded) get their level or agency added
# Published placeholders that mean "nothing stated" (the national portal prints them in empty cells).
_UNSTATED = {"", "không có thông tin", "đang cập nhật", "chưa có thông tin"}


def _stated(text: str) -> bool:
    return text.strip().strip(".").lower() not in _UNSTATED


def _shorten(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip(" ,;:") + " …"


def short_title(procedure: Procedure) -> str:
    return _shorten(procedure.title, MAX_TITLE_CHARS)


def counter_name(settings: Settings) -> str:
    """Where a citizen can ask a person: the configured one-stop address (settings, else the province's facts
    file, assistant.app.local_directory) or the commune counter."""
    return local_directory.one_stop_address(settings) or DEFAULT_COUNTER


def contact_lines(settings: Settings) -> list[str]:
    """Human contact details from settings and the province's facts file; only what is configured is shown."""
    province = settings.province
    lines = []
    hotline = local_directory.hotline(settings)
    if hotline:
        lines.append(f"- Đường dây nóng: {hotline}")
    lines.append(f"- Nơi tiếp nhận trực tiếp: {counter_name(settings)}")
    hours = local_directory.opening_hours(settings)
    if hours:
        lines.append(f"- Giờ làm việc: {hours}")
    if province.email.strip():
        lines.append(f"- Email: {province.email.strip()}")
    return lines


def _not_stated(what: str, settings: Settings) -> str:
    return (
        f"Danh mục thủ tục không nêu {what} của thủ tục này. "
        f"Anh/Chị vui lòng hỏi {counter_name(settings)} để được hướng dẫn chính xác."
    )


def procedure_links(procedure: Procedure, settings: Settings) -> list[Link]:
    """The procedure's page on the national portal, then the province portal when configured."""
    links = []
    if procedure.source_url:
        links.append(Link("Chi tiết thủ tục trên Cổng Dịch vụ công quốc gia", procedure.source_url))
    else:
        links.append(Link("Cổng Dịch vụ công quốc gia", settings.national_portal_url))
    if settings.province.portal_url.strip():
        links.append(Link(f"Cổng Dịch vụ công tỉnh {settings.province.name}", settings.province.portal_url.strip()))
    return links


# ---- one line per aspect ------------------------------------------------------------------

# A fee published as "HEAD (NOTE)"; the note may list amounts by case ("- Sát hạch lý thuyết: 600.000 đồng/lần.
# - Sát hạch thực hành: 250.000 đồng/lần."), each item after a "- " or "+ " bullet.
_FEE_WITH_NOTE = re.compile(r"^(?P<head>[^()]*?)\s*\((?P<note>.*)\)(?P<tail>[^()]*)$", re.DOTALL)
_NOTE_BULLET = re.compile(r"(?:^|\s)[-+•]\s+")
FEE_CASES_INTRO = " — theo từng trường hợp:"  # ends the head line of a fee listed by case


def _fee_cases(text: str) -> tuple[str, list[str]] | None:
    """'50.000 đồng (- 50.000đ/tem … - 25.000đ/tem …)' -> ('50.000 đồng', [items]); None when the note lists
    fewer than two items (then the fee is one line as published)."""
    match = _FEE_WITH_NOTE.match(text.strip())
    if not match:
        return None
    items = [item.strip(" .;") for item in _NOTE_BULLET.split(match.group("note")) if item.strip(" .;:")]
    if len(items) < 2:
        return None
    head = " ".join(part for part in (match.group("head").strip(), match.group("tail").strip(" ;")) if part)
    return head, items


def _format_fee(fee: Fee) -> str:
    """One fee as text: one line, or a head line and one indented line per case its note lists."""
    if fee.free:
        return "Miễn phí" + (f" ({_shorten(fee.text, 200)})" if _stated(fee.text) and len(fee.text) > 12 else "")
    if fee.amount_vnd is not None and not _stated(fee.text):
        return f"{fee.amount_vnd:,} đồng".replace(",", ".")
    cases = _fee_cases(fee.text)
    if cases is None:
        return _shorten(fee.text, 300)
    head, items = cases
    if head == "Miễn phí":  # "free" in the fee column, yet the note states charges: say both, as published
        head = "Danh mục ghi «Miễn phí» nhưng nêu các mức"
    lines = [f"  + {_shorten(item, 200)}" for item in items[:MAX_FEE_ITEMS]]
    if len(items) > MAX_FEE_ITEMS:
        lines.append(f"  + … và {len(items) - MAX_FEE_ITEMS} mức khác (xem đường dẫn bên dưới)")
    return "\n".join([f"{head or 'Các mức'}{FEE_CASES_INTRO}", *lines])


def _format_time(time: ProcessingTime) -> str:
    text = time.text.strip()
    if time.working_days is not None and (not text or text.replace(".", "").replace(",", "").isdigit()):
        return f"{time.working_days:g} ngày làm việc"
    return _shorten(text, 300)


def _by_case(procedure: Procedure, has_value, render) -> bool:
    """Whether the table is split by case: one channel has rows with different values."""
    values: dict[ChannelKind, set[str]] = {}
    for channel in procedure.channels:
        if has_value(channel):
            values.setdefault(channel.kind, set()).add(render(channel))
    return any(len(found) > 1 for found in values.values())


def _per_case(procedure: Procedure, has_value, render) -> list[str]:
    """Lines 'case: value', one per case the rows' descriptions name (knowledge_base.importers.channels.
    row_case), with the channels when not every channel has it; rows naming no case show their value."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for channel in procedure.channels:
        if has_value(channel):
            kinds = grouped.setdefault((row_case(channel.description, channel.time.text), render(channel)), [])
            if CHANNEL_LABELS[channel.kind] not in kinds:
                kinds.append(CHANNEL_LABELS[channel.kind])
    every = {CHANNEL_LABELS[channel.kind] for channel in procedure.channels}
    lines = []
    for (case, value), kinds in grouped.items():
        where = "" if set(kinds) == every else f" ({', '.join(kinds).lower()})"
        lines.append(f"- {case}: {value}{where}" if case else f"- {value}{where}")
    if len(lines) > MAX_CASE_LINES:
        lines = lines[:MAX_CASE_LINES] + [
            f"- … và {len(lines) - MAX_CASE_LINES} trường hợp khác (xem đường dẫn bên dưới)"
        ]
    if any(not case for case, _ in grouped):
        lines.append(
            "(Danh mục không ghi rõ trường hợp nào áp dụng mức nào: Anh/Chị xem chi tiết ở đường dẫn bên dưới "
            "hoặc hỏi nơi tiếp nhận hồ sơ.)"
        )
    return lines


def _per_channel(procedure: Procedure, has_value, render) -> list[str]:
    """Lines 'Kênh A, Kênh B: value', merging channels that publish the same value; one line per case instead
    when the published table is split by case (_per_case)."""
    if _by_case(procedure, has_value, render):
        return _per_case(procedure, has_value, render)
    grouped: dict[str, list[str]] = {}
    for channel in procedure.channels:
        if has_value(channel):
            grouped.setdefault(render(channel), []).append(CHANNEL_LABELS[channel.kind])
    if len(grouped) == 1 and len(next(iter(grouped.values()))) == len(procedure.channels) > 1:
        value = next(iter(grouped))
        if "\n" in value:  # a fee listed by case: the cases follow the head line
            head, rest = value.split("\n", 1)
            return [f"- Mọi hình thức nộp: {head}\n{rest}"]
        return [f"- {value} (mọi hình thức nộp)"]
    return [f"- {', '.join(kinds)}: {value}" for value, kinds in grouped.items()]


def _fee_by_case(procedure: Procedure) -> bool:
    return _by_case(procedure, _has_fee, lambda c: _format_fee(c.fee)) or any(
        _fee_cases(c.fee.text) for c in procedure.channels if not c.fee.free
    )


def _has_fee(channel) -> bool:
    return channel.fee.free is not None or channel.fee.amount_vnd is not None or _stated(channel.fee.text)


def _has_time(channel) -> bool:
    return channel.time.working_days is not None or _stated(channel.time.text)


def _fee_lines(procedure: Procedure) -> list[str]:
    return _per_channel(procedure, _has_fee, lambda c: _format_fee(c.fee) + _local_fee_mark(procedure, c))


# ---- province facts over the national record (issue 15, item 5; knowledge_base/importers/local_facts.py) ----


def _local_fee_mark(procedure: Procedure, channel) -> str:
    """' (theo quy định của tỉnh)' after a fee the province's facts file set for this channel."""
    local = procedure.local
    if local is None or channel.kind.value not in local.fee_channels:
        return ""
    return " (dữ liệu mẫu)" if local.sample else " (theo quy định của tỉnh)"


_LOCAL_FIELDS = {"fee": "lệ phí", "time": "thời hạn giải quyết", "where_to_submit": "nơi tiếp nhận hồ sơ"}
# The record fields each answer shows (the guide card all of them; an aspect answer adds where, fee and time
# among its next facts, so the note follows those too).
_ASPECT_FIELDS = {"fee": {"fee"}, "time": {"time"}, "where": {"where_to_submit"}}


def shows_local_facts(procedure: Procedure, aspect: str) -> bool:
    """Whether the answer about `aspect` shows a fact the province set (then it carries the local note)."""
    local = procedure.local
    if local is None or not local.fields:
        return False
    if aspect == "overview":
        return True
    return bool(_ASPECT_FIELDS.get(aspect, set()) & set(local.fields))


def local_changes(procedure: Procedure) -> list[str]:
    """Which facts of the record the province's facts file replaced, in the staff's words ("lệ phí (Trực tiếp)");
    empty for a record without province facts."""
    local = procedure.local
    if local is None:
        return []
    changes = []
    for field in local.fields:
        label = _LOCAL_FIELDS.get(field, field)
        if field == "fee" and local.fee_channels:
            label += f" ({', '.join(CHANNEL_LABELS[ChannelKind(kind)] for kind in local.fee_channels)})"
        changes.append(label)
    return changes


def local_note(procedure: Procedure, settings: Settings) -> str:
    """The line saying which facts of this answer the province set ('' when none): they replace the national
    record's, with the province's decision or resolution named."""
    local = procedure.local
    if local is None or not local.fields:
        return ""
    province = local.province or settings.province.name
    what = ", ".join(_LOCAL_FIELDS.get(field, field) for field in local.fields)
    if local.sample:
        return f"Lưu ý: {what} ở trên là dữ liệu mẫu của tỉnh {province}, chưa phải quy định chính thức."
    source = f" ({local.source})" if local.source else ""
    return (
        f"Theo quy định của tỉnh {province}{source}: {what} ở trên là mức của tỉnh, "
        "thay cho mức trong danh mục quốc gia."
    )


def _time_lines(procedure: Procedure) -> list[str]:
    return _per_channel(procedure, _has_time, lambda c: _format_time(c.time))


_CLAUSE_ENDS = ("; ", ": ", " (", ", ", " - ", " – ")
# A sentence ends at a full stop before a space or a capital (published texts often lack the space: "ký xác
# nhận.Trường hợp …"), not inside "17/2024/TT-BCA" or "1.000.000".
_SENTENCE_STOP = re.compile(r"\.(?=\s|[A-ZĐÀ-Ỹ])")


def shorten_clause(text: str, limit: int) -> str:
    """A long published text cut at its last sentence end in the window (the first sentence of a
    several-sentence document name says what it is), else at the last clause boundary (";", ":", "(", ",",
    " - ") in the second half of the window, else at a space: never inside a word; "…" says something was
    left out."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    window = text[: limit - 1]
    stops = [m.start() for m in _SENTENCE_STOP.finditer(window) if m.start() >= 40]
    if stops:
        return text[: stops[-1]].rstrip() + " …"
    cut = max((window.rfind(mark) for mark in _CLAUSE_ENDS), default=-1)
    if cut < limit // 2:
        cut = window.rfind(" ")
    return text[: cut if cut > 0 else limit - 1].rstrip(" ,;:-–(") + " …"


# What a record says about a document the citizen does not bring: the counter prints it ("Phiếu CC01 in từ Cơ sở
# dữ liệu quốc gia về dân cư để công dân kiểm tra, ký"), or it is only shown ("xuất trình bản chính để đối chiếu").
_PRINTED_BY_COUNTER = re.compile(
    r"\bin (?:từ|trong quá trình|tại nơi|khi) |\bin sẵn\b|\bdo (?:cơ quan|bộ phận|cán bộ|nơi)[^.;]{0,40}\bin\b",
    re.IGNORECASE,
)
_SHOWN_ONLY = re.compile(r"\bxuất trình\b|\bđể đối chiếu\b|\bđối chiếu\b", re.IGNORECASE)
PRINTED_MARK = "nơi tiếp nhận in sẵn, Anh/Chị kiểm tra và ký"
SHOWN_MARK = "chỉ xuất trình"


def document_mark(document) -> str:
    """ "nơi tiếp nhận in sẵn…" or "chỉ xuất trình" when the record says so (in the name, the copies or the
    group, e.g. "Giấy tờ phải xuất trình"); "" otherwise."""
    if _PRINTED_BY_COUNTER.search(document.name):
        return PRINTED_MARK
    if (
        _SHOWN_ONLY.search(document.copies)
        or _SHOWN_ONLY.search(document.group)
        or fold(document.name.strip().lower()).startswith("xuat trinh")
    ):
        return SHOWN_MARK
    return ""


def _document_key(document) -> tuple[str, str]:
    """The folded name with punctuation dropped, and the same without its parentheticals."""
    folded = fold(document.name.lower())
    bare = re.sub(r"\([^()]*\)", " ", folded)
    return " ".join(re.findall(r"\w+", folded)), " ".join(re.findall(r"\w+", bare))


def merged_documents(documents: Sequence) -> list:
    """The checklist without near-duplicates: a document of the same group whose name is the same as an
    earlier one's but for case, accents typed or not, punctuation, spacing or a parenthetical (a form number)
    is left out, the fuller line kept. Names that differ in a word are different documents ("kiểm dịch động
    vật" / "thực vật"), so no similarity ratio is used."""
    kept: list = []
    for document in documents:
        key, bare = _document_key(document)
        twin = next(
            (
                i
                for i, other in enumerate(kept)
                if other.group == document.group
                and (_document_key(other)[0] == key or (len(bare) >= 20 and _document_key(other)[1] == bare))
            ),
            None,
        )
        if twin is None:
            kept.append(document)
        elif len(document.name) + len(document.form) > len(kept[twin].name) + len(kept[twin].form):
            kept[twin] = document
    return kept


def _document_line(document, name_chars: int = MAX_DOCUMENT_CHARS, details: bool = True) -> str:
    line = f"☐ {shorten_clause(document.name, name_chars)}"
    if details and document.copies.strip():
        line += f" — {_shorten(document.copies, 60)}"
    if details and _stated(document.form):
        line += f" (mẫu: {_shorten(document.form, 120)})"
    mark = document_mark(document)
    if mark:
        line += f" [{mark}]"
    return line


def _documents_body(procedure: Procedure, settings: Settings, limit: int = MAX_DOCUMENTS) -> str:
    """A checklist of at most `limit` documents and about MAX_CHECKLIST_CHARS; the rest is counted."""
    if not procedure.documents:
        return _not_stated("thành phần hồ sơ", settings)
    lines = [f"Hồ sơ cần chuẩn bị cho «{short_title(procedure)}»:"]
    current_group = None
    shown = 0
    documents = merged_documents(procedure.documents)
    for document in documents[:limit]:
        entry = []
        if document.group.strip() and document.group != current_group:
            entry.append(f"{_shorten(document.group, MAX_DOCUMENT_CHARS).rstrip(':')}:")
        entry.append(_document_line(document))
        if shown and sum(len(line) + 1 for line in lines + entry) > MAX_CHECKLIST_CHARS:
            break
        current_group = document.group
        lines += entry
        shown += 1
    hidden = len(documents) - shown
    if hidden > 0:
        lines.append(f"… và {hidden} giấy tờ khác (xem đầy đủ ở đường dẫn bên dưới).")
    return "\n".join(lines)


def _fee_body(procedure: Procedure, settings: Settings) -> str:
    lines = _fee_lines(procedure)
    if not lines:
        return _not_stated("phí, lệ phí", settings)
    by_case = " (khác nhau theo từng trường hợp)" if _fee_by_case(procedure) else ""
    return "\n".join([f"Phí, lệ phí của «{short_title(procedure)}»{by_case}:", *lines])


def _time_body(procedure: Procedure, settings: Settings) -> str:
    lines = _time_lines(procedure)
    if not lines:
        return _not_stated("thời hạn giải quyết", settings)
    by_case = (
        " (khác nhau theo từng trường hợp)" if _by_case(procedure, _has_time, lambda c: _format_time(c.time)) else ""
    )
    return "\n".join([f"Thời hạn giải quyết «{short_title(procedure)}»{by_case}:", *lines])


def _where_body(procedure: Procedure, settings: Settings, commune: Office | None = None) -> str:
    lines = [f"Nơi nộp hồ sơ «{short_title(procedure)}»:"]
    if _stated(procedure.where_to_submit):
        lines.append(f"- {_shorten(procedure.where_to_submit, 400)}")
    elif procedure.agencies:
        lines.append(f"- Cơ quan thực hiện: {_shorten('; '.join(procedure.agencies), 400)}")
    else:
        if not office_lines(procedure, settings, commune):
            return _not_stated("nơi tiếp nhận hồ sơ", settings)
    lines += office_lines(procedure, settings, commune, "\n".join(lines))
    kinds = [CHANNEL_LABELS[c.kind].lower() for c in procedure.channels]
    if kinds:
        lines.append(f"- Hình thức nộp: {', '.join(dict.fromkeys(kinds))}.")
    return "\n".join(lines)


_ABOUT_ONLINE = re.compile(r"trực tuyến|cổng dịch vụ công|vneid|online|phải đến", re.IGNORECASE)


def _online_note(procedure: Procedure) -> str:
    """What the record says about submitting online (the 'Trực tuyến' row's description, when it is about
    that and not, as it often is, about the processing time)."""
    for channel in procedure.channels:
        if channel.kind == ChannelKind.online and _ABOUT_ONLINE.search(channel.description):
            return _shorten(channel.description, 300)
    return ""


def _online_body(procedure: Procedure, settings: Settings) -> str:
    """What the record supports: an online channel is 'có thể nộp hồ sơ trực tuyến'; only a record that says
    the whole procedure is done online ("toàn trình") is called so."""
    title = short_title(procedure)
    offers_online = any(c.kind == ChannelKind.online for c in procedure.channels)
    if procedure.online == OnlineAvailability.unknown and not offers_online:
        return _not_stated("thông tin về nộp trực tuyến", settings)
    if procedure.online == OnlineAvailability.none:
        return f"«{title}»: {ONLINE_LABELS[procedure.online].lower()}; Anh/Chị nộp trực tiếp hoặc qua bưu chính."
    lines = []
    if procedure.online == OnlineAvailability.full:
        lines.append(
            f"«{title}» có thể làm trực tuyến toàn trình: Anh/Chị nộp hồ sơ và nhận kết quả qua "
            "Cổng Dịch vụ công (đường dẫn bên dưới)."
        )
    else:
        lines.append(f"«{title}» có thể nộp hồ sơ trực tuyến qua Cổng Dịch vụ công (đường dẫn bên dưới).")
        lines.append(
            "Danh mục thủ tục không nêu có làm trực tuyến được toàn bộ hay không: Anh/Chị có thể vẫn "
            "phải đến nơi tiếp nhận (ví dụ để xuất trình bản chính hoặc nhận kết quả)."
        )
    note = _online_note(procedure)
    if note:
        lines.append(f"Danh mục ghi thêm: {note}")
    return "\n".join(lines)


def _text_body(title: str, text: str, what: str, procedure: Procedure, settings: Settings) -> str:
    if not _stated(text):
        return _not_stated(what, settings)
    return f"{title} «{short_title(procedure)}»:\n{_shorten(text)}"


def _purpose(procedure: Procedure) -> str:
    """What the procedure is for, in one line: the record's summary, else what the citizen receives."""
    if procedure.summary.strip():
        return shorten_clause(procedure.summary, MAX_CARD_PURPOSE_CHARS)
    if _stated(procedure.result):
        return f"Kết quả: {shorten_clause(procedure.result.splitlines()[0], MAX_CARD_PURPOSE_CHARS)}"
    return ""


def _who_and_where(procedure: Procedure, settings: Settings, commune: Office | None = None) -> list[str]:
    """Level and agency, then where to go: the record's place of submission, else by level the citizen's
    commune one-stop counter or the province's; then the office's address and hours from the province's facts
    (`office_lines`)."""
    lines = []
    facts = []
    if procedure.levels:
        facts.append(", ".join(LEVEL_LABELS[level] for level in procedure.levels))
    if procedure.agencies:
        facts.append(_shorten(procedure.agencies[0], 150))
    if facts:
        lines.append(f"- Thực hiện: {' — '.join(facts)}")
    if _stated(procedure.where_to_submit):
        lines.append(f"- Nơi nộp: {shorten_clause(procedure.where_to_submit, 200)}")
    elif Level.commune in procedure.levels:
        lines.append(f"- Nơi nộp: {DEFAULT_COUNTER} nơi Anh/Chị cư trú")
    elif Level.province in procedure.levels:
        place = local_directory.one_stop_address(settings) or (
            f"Trung tâm Phục vụ hành chính công tỉnh {settings.province.name}"
        )
        lines.append(f"- Nơi nộp: {place}")
    return lines + office_lines(procedure, settings, commune, "\n".join(lines))


LOCAL_DIRECTORY_MARK = "(thông tin của tỉnh)"  # an address or hours from the province's facts file
COMMUNE_QUESTION = (
    "Anh/Chị cho tôi biết xã/phường nơi cư trú, tôi sẽ gửi địa chỉ và giờ làm việc của Bộ phận Một cửa ở đó ạ."
)


def handled_by_commune(procedure: Procedure, settings: Settings) -> bool:
    """Submitted at the citizen's commune: a commune-level record, or one still naming the abolished district
    level when the province hands those to the communes (assistant.app.district_reform)."""
    return Level.commune in procedure.levels or (
        names_district_level(procedure) and settings.province.district_successor != "province"
    )


def office_lines(procedure: Procedure, settings: Settings, commune: Office | None, shown: str = "") -> list[str]:
    """Where exactly to go, from the province's facts (assistant.app.local_directory): the citizen's commune one-stop
    counter with its address and hours when the commune is known and the procedure is handled there, else the
    province's one-stop centre (hours only when `shown` already names it)."""
    if commune is not None and handled_by_commune(procedure, settings):
        hours = f"; giờ làm việc: {commune.hours.strip()}" if commune.hours.strip() else ""
        return [f"- Bộ phận Một cửa {commune.name.strip()}: {commune.address.strip()}{hours} {LOCAL_DIRECTORY_MARK}"]
    centre = local_directory.one_stop_address(settings)
    hours = local_directory.opening_hours(settings)
    mark = "" if settings.province.one_stop_address.strip() else f" {LOCAL_DIRECTORY_MARK}"
    if centre and centre in shown:
        return [f"- Giờ làm việc: {hours}{mark}"] if hours else []
    if not centre:
        return []
    return [f"- Một cửa của tỉnh: {centre}{f'; giờ làm việc: {hours}' if hours else ''}{mark}"]


def asks_for_commune(procedure: Procedure, settings: Settings, commune: Office | None) -> bool:
    """Ask the citizen's commune (one question) when it decides the address: the procedure is handled at commune
    level and the province lists its communes' counters."""
    return commune is None and handled_by_commune(procedure, settings) and bool(local_directory.communes(settings))


def _card_documents(procedure: Procedure, limit: int) -> list[str]:
    if not procedure.documents:
        return ["- Hồ sơ: danh mục không nêu"]
    documents = merged_documents(procedure.documents)
    lines = [f"- Hồ sơ ({len(documents)} giấy tờ):"]
    lines += [f"  {_document_line(d, MAX_CARD_DOCUMENT_CHARS, details=False)}" for d in documents[:limit]]
    if len(documents) > limit:
        lines.append(f"  … và {len(documents) - limit} giấy tờ khác (bấm «Giấy tờ» để xem đủ)")
    return lines


def _overview_body(
    procedure: Procedure, settings: Settings, documents_limit: int = MAX_CARD_DOCUMENTS, commune: Office | None = None
) -> str:
    """The guide card: what it is for, who and where, the checklist, fee, time, online."""
    lines = [f"«{short_title(procedure)}» (mã {procedure.code})"]
    purpose = _purpose(procedure)
    if purpose:
        lines.append(purpose)
    lines += _who_and_where(procedure, settings, commune)
    lines += _card_documents(procedure, documents_limit)
    lines += _overview_fact("Lệ phí", _fee_lines(procedure))
    lines += _overview_fact("Thời hạn", _time_lines(procedure))
    lines.append(f"- Trực tuyến: {_online_line(procedure)}")
    return "\n".join(lines)


def _online_line(procedure: Procedure) -> str:
    """The honest label, and where: the Cổng Dịch vụ công (the links follow)."""
    label = ONLINE_LABELS[procedure.online]
    if procedure.online in (OnlineAvailability.full, OnlineAvailability.partial) or any(
        c.kind == ChannelKind.online for c in procedure.channels
    ):
        if procedure.online == OnlineAvailability.unknown:
            label = ONLINE_LABELS[OnlineAvailability.partial]
        return f"{label} (Cổng Dịch vụ công, đường dẫn bên dưới)"
    return label


# The facts kept under an aspect answer, in this order, leaving out the one asked.
KEY_FACTS = ("where", "fee", "time", "online")


def _key_facts(procedure: Procedure, aspect: str, settings: Settings) -> list[str]:
    """Two or three short facts a citizen needs next (one line each; a value by case points to its answer)."""
    facts = []
    for fact in KEY_FACTS:
        if fact == aspect or (fact == "online" and aspect in ("overview", "where")):
            continue
        if fact == "where":
            facts += [line for line in _who_and_where(procedure, settings) if line.startswith("- Nơi nộp")]
        elif fact == "fee":
            facts.append(_short_fact("Lệ phí", _fee_lines(procedure), "Lệ phí"))
        elif fact == "time":
            facts.append(_short_fact("Thời hạn", _time_lines(procedure), "Thời gian"))
        else:
            facts.append(f"- Trực tuyến: {_online_line(procedure)}")
    return facts[:3]


def _short_fact(label: str, lines: list[str], button: str) -> str:
    if not lines:
        return f"- {label}: danh mục không nêu"
    if len(lines) == 1 and "\n" not in lines[0]:
        return f"- {label}: {_shorten(lines[0].removeprefix('- '), 160)}"
    return f"- {label}: khác nhau theo từng trường hợp (bấm «{button}» để xem)"


def _overview_fact(label: str, lines: list[str]) -> list[str]:
    """'- Lệ phí: 50.000 đồng' for one value; a value per case or channel gets a line each (up to
    MAX_OVERVIEW_CASES), never one line merging them."""
    if not lines:
        return [f"- {label}: danh mục không nêu"]
    if len(lines) == 1 and "\n" not in lines[0]:  # one value for every channel and case
        return [f"- {label}: {_shorten(lines[0].removeprefix('- '), 300)}"]
    entries = [line.removeprefix("- ") for line in lines if line.startswith("- ") and not line.startswith("- … ")]
    heads = [entry.split("\n")[0] for entry in entries[:MAX_OVERVIEW_CASES]]
    shown = [f"  + {_shorten(head.removesuffix(FEE_CASES_INTRO), 200)}" for head in heads]
    if len(entries) > len(shown) or any("\n" in entry for entry in entries):
        shown.append("  + … (chi tiết theo từng trường hợp: Anh/Chị hỏi riêng về mục này để xem đủ)")
    return [f"- {label}:", *shown]


def aspect_body(procedure: Procedure, aspect: str, settings: Settings, commune: Office | None = None) -> str:
    """The body text for one aspect of a procedure (see ASPECTS); `commune`: the citizen's, when known."""
    if aspect == "documents":
        return _documents_body(procedure, settings)
    if aspect == "fee":
        return _fee_body(procedure, settings)
    if aspect == "time":
        return _time_body(procedure, settings)
    if aspect == "where":
        return _where_body(procedure, settings, commune)
    if aspect == "online":
        return _online_body(procedure, settings)
    if aspect == "steps":
        return _text_body("Các bước thực hiện", procedure.steps, "trình tự thực hiện", procedure, settings)
    if aspect == "conditions":
        return _text_body("Điều kiện thực hiện", procedure.conditions, "điều kiện thực hiện", procedure, settings)
    if aspect == "result":
        return _text_body("Kết quả", procedure.result, "kết quả giải quyết", procedure, settings)
    return _overview_body(procedure, settings, commune=commune)


# ---- whole replies ------------------------------------------------------------------------


def polite(text: str) -> str:
    """An answer opens with "Dạ," as a counter clerk's does (docs/conversation-contract.md, "Voice")."""
    if not text or text.startswith("Dạ"):
        return text
    first_word = text.split(" ", 1)[0]
    if first_word[:1].isupper() and first_word[1:2].islower():  # "Hồ sơ" -> "hồ sơ"; "UBND", "«…»" stay
        text = text[0].lower() + text[1:]
    return f"Dạ, {text}"


def answer(
    procedure: Procedure,
    aspect: str,
    settings: Settings | None = None,
    max_buttons: int = 0,
    commune: Office | None = None,
) -> Reply:
    """The reply to a question about one aspect of one procedure, with its links; a record that still names
    the district level carries the 2025 reform note (assistant.app.district_reform).

    "overview" is the guide card (what, who and where, checklist, fee, time, online), fitted to MAX_CARD_CHARS
    with its links by showing fewer documents; another aspect leads with that aspect and keeps the facts a
    citizen needs next (`_key_facts`). `max_buttons` > 0 adds the next steps as quick replies (`next_steps`).
    `commune`: the citizen's commune when the conversation named one (its counter's address and hours are shown
    where the procedure is handled at commune level); when it decides the address and is unknown, the guide card
    and the place answer end with one question asking for it (`asks_for_commune`)."""
    settings = settings or get_settings()
    question = (
        COMMUNE_QUESTION if aspect in ("overview", "where") and asks_for_commune(procedure, settings, commune) else ""
    )
    note = "\n\n".join(
        part
        for part in (
            local_note(procedure, settings) if shows_local_facts(procedure, aspect) else "",
            district_note(procedure, settings),
        )
        if part
    )
    links = procedure_links(procedure, settings)

    def compose(body: str) -> str:
        text = polite(body) + (f"\n\n{question}" if question else "")
        return f"{text}\n\n{note}" if note else text

    if aspect == "overview":
        limit = MAX_CARD_DOCUMENTS
        text = compose(_overview_body(procedure, settings, limit, commune))
        while limit > 1 and len(Reply(text, links=links).full_text()) > MAX_CARD_CHARS:
            limit -= 1
            text = compose(_overview_body(procedure, settings, limit, commune))
    else:
        body = aspect_body(procedure, aspect, settings, commune)
        facts = _key_facts(procedure, aspect, settings) if aspect in ASPECTS else []
        if facts and "Danh mục thủ tục không nêu" not in body.split("\n", 1)[0]:
            body = "\n".join([body, "", "Anh/Chị cũng cần biết:", *facts])
        text = compose(body)
    buttons = next_steps(procedure, aspect, max_buttons, commune) if max_buttons > 0 else []
    return Reply(text=text, buttons=buttons, links=links, outcome=ReplyOutcome.answered)


# ---- next steps: quick replies after an answer (docs/conversation-contract.md, payload convention) ----

NEXT_STEP_LABELS = {
    "documents": "Giấy tờ",
    "fee": "Lệ phí",
    "time": "Thời gian",
    "where": "Nơi nộp",
    "online": "Nộp trực tuyến",
    "steps": "Các bước",
}
ASPECT_INTENTS = {aspect: INTENT_OF_ASPECT[aspect] for aspect in NEXT_STEP_LABELS}  # the quick replies' intents
CHECKLIST_LABEL = "Gửi danh sách giấy tờ"
HANDOFF_LABEL = "Gặp cán bộ"
# Which aspects come first when a channel has room for only some: after the guide card, what it does not
# show in full (the steps, the whole checklist, the online detail); after an aspect, the card's order.
_AFTER_CARD = ("steps", "documents", "online", "where", "fee", "time")
_AFTER_ASPECT = ("documents", "fee", "time", "where", "online", "steps")


def aspect_payload(aspect: str, code: str) -> str:
    """'/ask_fee{"procedure_code":"1.001193"}': the aspect's intent with the procedure's code."""
    return '/%s{"procedure_code":"%s"}' % (ASPECT_INTENTS[aspect], code)


CHECKLIST_COMMUNE_PARAM = "xa"  # /checklist/<code>?xa=<commune>: the page names that commune's counter


def checklist_path(code: str, commune: Office | None = None) -> str:
    """The public printable checklist page of a procedure (assistant/app/server/checklist.py); with the citizen's
    commune, the page shows its one-stop counter where the procedure is handled at commune level."""
    query = f"?{urlencode({CHECKLIST_COMMUNE_PARAM: commune.name.strip()})}" if commune is not None else ""
    return f"/checklist/{code}{query}"


def next_steps(procedure: Procedure, aspect: str, max_buttons: int, commune: Office | None = None) -> list[Button]:
    """Quick replies for the other aspects, then «Gửi danh sách giấy tờ» (a link to the printable checklist,
    when the record lists documents; naming the citizen's commune when known) and «Gặp cán bộ», at most
    `max_buttons` (the channel's limit): the aspects are cut first, the checklist and the human are always offered."""
    tail = [Button(HANDOFF_LABEL, HANDOFF_PAYLOAD)]
    if procedure.documents:
        tail.insert(0, Button(CHECKLIST_LABEL, url=checklist_path(procedure.code, commune)))
    order = _AFTER_CARD if aspect == "overview" else _AFTER_ASPECT
    room = max(0, max_buttons - len(tail))
    aspects = [item for item in order if item != aspect][:room]
    return [Button(NEXT_STEP_LABELS[item], aspect_payload(item, procedure.code)) for item in aspects] + tail[
        :max_buttons
    ]


def option_payload(index: int) -> str:
    return '/choose_option{"option_index":"%d"}' % index


def procedure_payload(code: str) -> str:
    return '/ask_procedure{"procedure_code":"%s"}' % code


def _near_duplicate(first: str, second: str) -> bool:
    """Titles a citizen cannot tell apart at a glance: equal, or differing in a few characters."""
    a, b = fold(" ".join(first.lower().split())), fold(" ".join(second.lower().split()))
    return a == b or SequenceMatcher(None, a, b).ratio() >= NEAR_DUPLICATE_RATIO


def _level_text(procedure: Procedure) -> str:
    return ", ".join(LEVEL_LABELS[level] for level in procedure.levels)


def _agency_text(procedure: Procedure) -> str:
    return _shorten(procedure.agencies[0], 80) if procedure.agencies else ""


def distinct_titles(procedures: Sequence[Procedure]) -> list[str]:
    """Option titles a citizen can tell apart: each short title, and where two are identical or nearly
    so, the level ("Cấp tỉnh") added, or the agency when the levels are the same too."""
    titles = [short_title(procedure) for procedure in procedures]
    labels = list(titles)
    for i, procedure in enumerate(procedures):
        twins = [j for j in range(len(procedures)) if j != i and _near_duplicate(titles[i], titles[j])]
        if not twins:
            continue
        level = _level_text(procedure)
        if level and all(_level_text(procedures[j]) != level for j in twins):
            labels[i] = f"{titles[i]} ({level})"
            continue
        agency = _agency_text(procedure)
        if agency and all(_agency_text(procedures[j]) != agency for j in twins):
            labels[i] = f"{titles[i]} ({agency})"
        elif level or agency:
            labels[i] = f"{titles[i]} ({' — '.join(part for part in (level, agency) if part)})"
    return labels


def ask_back(hits: Sequence[SearchHit], labels: Sequence[str] | None = None) -> Reply:
    """Several close matches: ask which one, with up to MAX_OPTIONS buttons (payload = option number).

    `labels`: the button titles when known (`distinct_titles` of the hits' records), else the hits' titles."""
    options = list(hits)[:MAX_OPTIONS]
    titles = list(labels or [])[: len(options)] or [_shorten(hit.title, MAX_TITLE_CHARS) for hit in options]
    buttons = [Button(title, option_payload(number)) for number, title in enumerate(titles, start=1)]
    return Reply(text="Anh/Chị muốn hỏi thủ tục nào dưới đây ạ?", buttons=buttons, outcome=ReplyOutcome.asked_back)


def offer_alternatives(labels: Sequence[str]) -> Reply:
    """ "Không phải thủ tục này": the next candidates of the last search (payload = option number)."""
    buttons = [
        Button(title, option_payload(number)) for number, title in enumerate(list(labels)[:MAX_OPTIONS], start=1)
    ]
    return Reply(
        text="Dạ, xin lỗi Anh/Chị. Có phải Anh/Chị muốn hỏi một trong các thủ tục dưới đây không ạ? "
        "Nếu không có thủ tục nào đúng, Anh/Chị cho tôi biết rõ hơn tên thủ tục cần làm.",
        buttons=buttons,
        outcome=ReplyOutcome.asked_back,
    )


def no_alternatives() -> Reply:
    """ "Không phải thủ tục này" with nothing else to offer: ask for the name, offer a human."""
    return Reply(
        text="Dạ, xin lỗi Anh/Chị. Anh/Chị cho tôi biết rõ hơn tên thủ tục cần làm (ví dụ «đăng ký tạm trú», "
        "«cấp phiếu lý lịch tư pháp») để tôi tra lại, hoặc gõ «gặp cán bộ» để được cán bộ hỗ trợ ạ.",
        outcome=ReplyOutcome.abstained,
    )


def not_in_catalogue(settings: Settings | None = None) -> Reply:
    """An administrative question whose procedure this catalogue does not hold: say so, say where to ask."""
    settings = settings or get_settings()
    lines = [
        "Dạ, thủ tục Anh/Chị hỏi hiện chưa có trong danh mục thủ tục của tỉnh mà tôi tra cứu được, "
        "nên tôi chưa trả lời chính xác được ạ. Câu hỏi đã được ghi lại để bộ phận phụ trách bổ sung danh mục.",
        "Anh/Chị có thể hỏi:",
        f"- {counter_name(settings)} (nơi tiếp nhận hồ sơ trực tiếp)",
    ]
    if local_directory.hotline(settings):
        lines.append(f"- Đường dây nóng: {local_directory.hotline(settings)}")
    lines.append("- Mục tra cứu thủ tục hành chính trên Cổng Dịch vụ công quốc gia (đường dẫn bên dưới)")
    lines.append("Hoặc Anh/Chị bấm «Gặp cán bộ» để được cán bộ hỗ trợ.")
    return Reply(
        text="\n".join(lines),
        buttons=[Button("Gặp cán bộ", HANDOFF_PAYLOAD)],
        links=[Link("Tra cứu thủ tục trên Cổng Dịch vụ công quốc gia", settings.national_portal_url)],
        outcome=ReplyOutcome.not_in_catalogue,
    )


def suggestions(hits: Sequence[SearchHit], settings: Settings | None = None) -> Reply:
    """NLU was unsure: say so, offer the closest procedures (payload = the code) and a human."""
    settings = settings or get_settings()
    text = "Dạ, xin lỗi Anh/Chị, tôi chưa hiểu rõ câu hỏi."
    buttons = [
        Button(_shorten(hit.title, MAX_TITLE_CHARS), procedure_payload(hit.code)) for hit in list(hits)[:MAX_OPTIONS]
    ]
    if buttons:
        text += " Có phải Anh/Chị muốn hỏi một trong các thủ tục sau?"
    else:
        text += " Anh/Chị có thể hỏi, ví dụ: «làm căn cước cần giấy tờ gì?» hoặc «lệ phí đăng ký khai sinh?»."
    text += " Nếu cần hỗ trợ trực tiếp, Anh/Chị gõ «gặp cán bộ» ạ."
    return Reply(text=text, buttons=buttons, outcome=ReplyOutcome.abstained)


def tracking_connected(settings: Settings) -> bool:
    """Whether a one-stop tracking system is configured (assistant.app.dossier_tracking)."""
    return bool(settings.one_stop_system.tracking_url.strip())


def capabilities(settings: Settings | None = None) -> Reply:
    """What the assistant can do: only what is connected (no dossier tracking without a tracking system)."""
    settings = settings or get_settings()
    things = [
        "hỏi về một thủ tục hành chính: hồ sơ cần chuẩn bị, lệ phí, thời gian giải quyết, nơi nộp, có nộp "
        "trực tuyến được không, các bước và kết quả"
    ]
    if tracking_connected(settings):
        things.append("tra cứu tình trạng hồ sơ đã nộp bằng mã biên nhận")
    things.append("gặp cán bộ khi cần")
    return Reply(
        text=f"Dạ, Anh/Chị có thể {'; '.join(things[:-1])}; hoặc {things[-1]} ạ.", outcome=ReplyOutcome.small_talk
    )


def _with_contacts(lines: list[str], settings: Settings, outcome: ReplyOutcome) -> Reply:
    """The shape of every reply that sends the citizen on: the message, how to reach staff, the portal links."""
    return Reply(text="\n".join([*lines, *contact_lines(settings)]), links=_portal_links(settings), outcome=outcome)


def abstain(settings: Settings | None = None) -> Reply:
    """Nothing in the catalogue fits: say so honestly, suggest rephrasing, offer a human."""
    return _with_contacts(
        [
            "Dạ, xin lỗi Anh/Chị, tôi không tìm thấy thủ tục phù hợp trong danh mục thủ tục hành chính.",
            "Anh/Chị có thể diễn đạt lại, ví dụ nêu tên thủ tục (như «đăng ký khai sinh», «cấp lại căn cước»).",
            "Nếu cần, Anh/Chị có thể liên hệ cán bộ:",
        ],
        settings or get_settings(),
        ReplyOutcome.abstained,
    )


def commune_noted(commune: str) -> Reply:
    """The citizen named their commune before any procedure: keep it for the answers, ask which procedure."""
    return Reply(
        text=f"Dạ, tôi đã ghi nhận Anh/Chị ở {commune}. Anh/Chị cần hỏi thủ tục nào ạ?", outcome=ReplyOutcome.asked_back
    )


def which_procedure() -> Reply:
    """An aspect was asked but no procedure is known yet."""
    return Reply(
        text="Anh/Chị muốn hỏi về thủ tục nào ạ? Ví dụ: «lệ phí đăng ký kết hôn».", outcome=ReplyOutcome.asked_back
    )


def unknown_option(count: int) -> Reply:
    if count:
        return Reply(
            text=f"Anh/Chị vui lòng chọn một số từ 1 đến {count} trong danh sách vừa rồi.",
            outcome=ReplyOutcome.asked_back,
        )
    return Reply(
        text="Hiện chưa có danh sách nào để chọn. Anh/Chị muốn hỏi về thủ tục nào ạ?", outcome=ReplyOutcome.asked_back
    )


def handoff(settings: Settings | None = None, staff_can_reply: bool = False) -> Reply:
    """Hand-off to staff; the conversation has been flagged for the staff page. What happens next depends
    on the channel: on Zalo a staff member can write back in the same chat (`staff_can_reply`); a web chat
    is anonymous, so nobody can write back and the citizen is given the hotline and the counter."""
    if staff_can_reply:
        lines = [
            "Dạ, tôi đã chuyển cuộc trò chuyện này tới cán bộ tiếp nhận. Cán bộ sẽ đọc và trả lời Anh/Chị "
            "ngay trong cuộc trò chuyện Zalo này; việc này có thể mất một thời gian.",
            "Nếu cần gấp, Anh/Chị có thể liên hệ trực tiếp:",
        ]
    else:
        lines = [
            "Dạ, cuộc trò chuyện trên trang web là ẩn danh nên cán bộ không thể nhắn trả lời Anh/Chị tại đây. "
            "Tôi đã ghi lại nội dung (đã ẩn thông tin cá nhân) để cán bộ xem xét.",
            "Để được cán bộ hỗ trợ trực tiếp, Anh/Chị vui lòng liên hệ:",
        ]
    return _with_contacts(lines, settings or get_settings(), ReplyOutcome.handed_off)


def feedback_thanks(good: bool) -> Reply:
    if good:
        return Reply(
            text="Dạ, cảm ơn Anh/Chị đã phản hồi! Chúc Anh/Chị làm thủ tục thuận lợi.", outcome=ReplyOutcome.feedback
        )
    return Reply(
        text=(
            "Dạ, cảm ơn Anh/Chị đã góp ý. Ý kiến đã được ghi lại để bộ phận phụ trách kiểm tra "
            "và cải thiện câu trả lời."
        ),
        outcome=ReplyOutcome.feedback,
    )


def _portal_links(settings: Settings) -> list[Link]:
    links = [Link("Cổng Dịch vụ công quốc gia", settings.national_portal_url)]
    if settings.province.portal_url.strip():
        links.append(Link(f"Cổng Dịch vụ công tỉnh {settings.province.name}", settings.province.portal_url.strip()))
    return links


# ---- dossier tracking ---------------------------------------------------------------------

_TRACKING_LABELS = {
    "procedure": "Thủ tục",
    "received_at": "Ngày tiếp nhận",
    "due_at": "Ngày hẹn trả kết quả",
    "note": "Ghi chú",
}


def ask_dossier_code() -> Reply:
    return Reply(
        text="Anh/Chị vui lòng gửi mã hồ sơ ghi trên giấy tiếp nhận (ví dụ: 000.00.12.H59-250101-0001).",
        outcome=ReplyOutcome.dossier_tracking,
    )


def tracking(result: TrackingResult, settings: Settings | None = None) -> Reply:
    """The reply for a dossier lookup, one message per outcome (found, malformed, unknown, …)."""
    settings = settings or get_settings()
    counter = counter_name(settings)
    if result.status == TrackingStatus.found:
        lines = [f"Dạ, hồ sơ {result.code}: {result.details['status']}"]
        lines += [
            f"- {label}: {result.details[key]}" for key, label in _TRACKING_LABELS.items() if key in result.details
        ]
        return Reply(text="\n".join(lines), outcome=ReplyOutcome.dossier_tracking)
    if result.status == TrackingStatus.malformed:
        return Reply(
            text=(
                f"Dạ, mã hồ sơ «{result.code or '(trống)'}» không đúng định dạng. Mã hồ sơ gồm 6–30 ký tự chữ và số, "
                "có thể có dấu chấm hoặc gạch ngang (ví dụ: 000.00.12.H59-250101-0001). "
                "Anh/Chị vui lòng kiểm tra lại trên giấy tiếp nhận."
            ),
            outcome=ReplyOutcome.dossier_tracking,
        )
    if result.status == TrackingStatus.unknown:
        return Reply(
            text=(
                f"Dạ, tôi không tìm thấy hồ sơ có mã {result.code} trong hệ thống một cửa. "
                f"Anh/Chị vui lòng kiểm tra lại mã hoặc liên hệ {counter}."
            ),
            outcome=ReplyOutcome.dossier_tracking,
        )
    if result.status == TrackingStatus.unreachable:
        return Reply(
            text=(
                "Dạ, hiện tôi chưa kết nối được hệ thống một cửa để tra cứu hồ sơ. "
                "Anh/Chị vui lòng thử lại sau ít phút "
                f"hoặc tra cứu trên Cổng Dịch vụ công, hoặc liên hệ {counter}."
            ),
            links=_portal_links(settings),
            outcome=ReplyOutcome.dossier_tracking,
        )
    return Reply(
        text=(
            "Dạ, tôi chưa được kết nối với hệ thống một cửa nên chưa tra cứu được tình trạng hồ sơ. "
            f"Anh/Chị vui lòng tra cứu trên Cổng Dịch vụ công hoặc liên hệ {counter}."
        ),
        links=_portal_links(settings),
        outcome=ReplyOutcome.dossier_tracking,
    )


def catalogue_unavailable(settings: Settings | None = None) -> Reply:
    """The knowledge base cannot be opened: apologise and give the ways to get help meanwhile."""
    return _with_contacts(
        [
            "Dạ, xin lỗi Anh/Chị, hệ thống tra cứu thủ tục tạm thời chưa sẵn sàng.",
            "Anh/Chị vui lòng thử lại sau ít phút, tra cứu trên Cổng Dịch vụ công, hoặc liên hệ:",
        ],
        settings or get_settings(),
        ReplyOutcome.unavailable,
    )


# ---- the printable checklist page (assistant/app/server/checklist.py) ---------------------------


def fee_lines(procedure: Procedure) -> list[str]:
    """The fee as the answers show it: one line per channel or case ("- Trực tiếp: 50.000 đồng")."""
    return _fee_lines(procedure)


def time_lines(procedure: Procedure) -> list[str]:
    """The processing time as the answers show it: one line per channel or case."""
    return _time_lines(procedure)


def purpose(procedure: Procedure) -> str:
    """What the procedure is for, in one line ("" when the record says nothing usable)."""
    return _purpose(procedure)


def who_and_where(procedure: Procedure, settings: Settings, commune: Office | None = None) -> list[str]:
    """'- Thực hiện: …', '- Nơi nộp: …' and the office's address and hours lines, as on the guide card."""
    return _who_and_where(procedure, settings, commune)


def online_line(procedure: Procedure) -> str:
    """The honest online label, as on the guide card."""
    return _online_line(procedure)
