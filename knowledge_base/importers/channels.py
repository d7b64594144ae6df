"""Parse the national portal's flattened submission-channel table (`cach_thuc_thuc_hien`).

The portal renders a table with the columns Hình thức nộp | Thời gian | Phí, lệ phí | Mô tả and the crawler
flattened it without separators, e.g.

    Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếp20 Ngày làm việcKhông có thông tinNộp tại …
    Trực tuyến7 Ngày làm việc10,000 Việt Nam Đồng(Trường hợp … 10.000 đồng/lần đăng ký.)Dịch vụ bưu chính…

A row starts where a channel name is directly followed by a time cell (a number, optionally with a unit, or
"Không có thông tin") and a fee cell ("Miễn phí", "Không có thông tin" or an amount with a currency). The fee
cell may carry a parenthesised note (nested parentheses are common); what follows is the description.

Normalization rules (documented because they interpret the data):
- time: "N Ngày làm việc" -> working_days = N. "N Ngày", "N Giờ", "N Tháng" are calendar durations, kept in
  the text only (working_days stays None). A bare number (the unit was lost in the page) is shown as "N ngày"
  and not normalized. "0" is read as not stated.
- fee: "Miễn phí" -> free, unless its note states that a fee is charged (then unknown: free=None).
  "Không có thông tin" -> unknown. An amount in VNĐ/Việt Nam Đồng -> amount_vnd. The portal shows some fees in
  thousands of đồng (e.g. "20 VNĐ" with the note "20.000 vnđ/tờ khai"), so an amount below 1,000 is read as
  thousands. Other currencies (USD) keep amount_vnd None. amount_vnd is the fee column's amount; further
  charges stated in the note or description ("Lệ phí: 100.000 đồng/hồ sơ.") are appended to the fee text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge_base.importers.text import NO_INFO, balanced_prefix, clean_text
from knowledge_base.schema import ChannelKind, Fee, ProcessingTime, SubmissionChannel

TABLE_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"

CHANNEL_NAMES = {
    "Trực tiếp": ChannelKind.in_person,
    "Trực tuyến": ChannelKind.online,
    "Dịch vụ bưu chính": ChannelKind.postal,
}

_KIND = "|".join(CHANNEL_NAMES)
_UNIT = r"Ngày làm việc|Ngày|Giờ|Tháng|Năm"
_CURRENCY = r"Việt Nam Đồng|VNĐ|USD"
# Row start: channel, time cell, then the first characters of a fee cell (checked, not consumed).
_ROW_START = re.compile(
    rf"({_KIND})"
    rf"(?P<time>{NO_INFO}|\d+(?:[.,]\d+)?\s?(?:{_UNIT})|\d+)"
    rf"(?=Miễn phí|{NO_INFO}|\s?[\d,.]*\d\s?(?:{_CURRENCY}))"
)
# Fallback for tables whose time cells are words ("Không quy định", "Không phải trả kết quả …"): used only
# when the strict pattern misses the first row, because free text could also match inside a description.
_LOOSE_ROW_START = re.compile(
    rf"({_KIND})(?P<time>(?:(?!{_KIND}).){{1,200}}?)(?=Miễn phí|{NO_INFO}|\s?[\d,.]*\d\s?(?:{_CURRENCY}))"
)
_FEE_CELL = re.compile(rf"Miễn phí|{NO_INFO}|(?P<amount>[\d,.]*\d)\s?(?P<currency>{_CURRENCY})")
_TIME_CELL = re.compile(rf"(?P<number>\d+(?:[.,]\d+)?)\s?(?P<unit>{_UNIT})?$")
# A note under "Miễn phí" that nevertheless states a charge ("Lệ phí: 20.000 đồng/lần", "Mức lệ phí … HĐND …").
_CHARGE_HINT = re.compile(r"\d[\d.,]*\s?(?:đồng|đ\b|vnđ|VNĐ)|[Mm]ức (?:thu|lệ phí|phí)|thu (?:lệ )?phí", re.IGNORECASE)
_FREE_NOTE = re.compile(r"^\(?\s*(?:không|không có|không quy định|không thu[^)]*|miễn[^)]*)\s*\)?\.?$", re.IGNORECASE)


@dataclass
class ChannelParse:
    channels: list[SubmissionChannel] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (kind, example) for the import report


def parse_time(cell: str) -> ProcessingTime:
    """Time cell -> text + working days when the unit is working days."""
    cell = cell.strip()
    if not cell or cell == NO_INFO:
        return ProcessingTime(text="")
    match = _TIME_CELL.match(cell)
    if not match:
        return ProcessingTime(text=clean_text(cell))
    number = float(match.group("number").replace(",", "."))
    unit = match.group("unit")
    if number == 0:  # "0" is the portal's blank, not an instant procedure
        return ProcessingTime(text="")
    if unit is None:
        return ProcessingTime(text=f"{_format_number(number)} ngày")
    text = f"{_format_number(number)} {unit.lower()}"
    return ProcessingTime(text=text, working_days=number if unit == "Ngày làm việc" else None)


def _format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number).replace(".", ",")


def amount_in_vnd(amount: str, currency: str) -> int | None:
    """'10,000' + 'Việt Nam Đồng' -> 10000; '20' + 'VNĐ' -> 20000 (the portal's thousands); USD -> None."""
    if currency == "USD":
        return None
    digits = re.sub(r"[.,](?=\d{3}(?:\D|$))", "", amount)  # drop thousands separators (both styles)
    if not digits.isdigit():
        return None
    value = int(digits)
    return value * 1000 if 0 < value < 1000 else value


def parse_fee(cell: str, note: str) -> Fee:
    """Fee cell plus its parenthesised note -> Fee (text as published, normalized amount, free flag)."""
    note_text = clean_text(note.strip()[1:-1] if note.startswith("(") and note.endswith(")") else note)
    if cell == NO_INFO:
        return Fee(text=note_text)
    match = _FEE_CELL.fullmatch(cell)
    if cell == "Miễn phí":
        charged = bool(note_text) and _CHARGE_HINT.search(note_text) and not _FREE_NOTE.match(note_text)
        text = f"Miễn phí ({note_text})" if note_text and not _FREE_NOTE.match(note_text) else "Miễn phí"
        return Fee(text=text, amount_vnd=None if charged else 0, free=None if charged else True)
    if match and match.group("amount"):
        amount = amount_in_vnd(match.group("amount"), match.group("currency"))
        shown = f"{amount:,} đồng".replace(",", ".") if amount is not None else cell
        text = f"{shown} ({note_text})" if note_text else shown
        return Fee(text=text, amount_vnd=amount, free=False if amount is not None else None)
    return Fee(text=clean_text(f"{cell} {note_text}"))


# "Phí: 800.000 đồng/hồ sơ …" / "Lệ phí: 100.000 đồng/hồ sơ." written in the description column.
_CHARGE_LINE = re.compile(r"^\s*[-+•]?\s*(?:Lệ phí|Phí)[^:\n]{0,40}:[^\n]*\d[^\n]*$", re.MULTILINE)


def with_stated_charges(fee: Fee, description: str) -> Fee:
    """Append fee lines stated in the description ("Lệ phí: 100.000 đồng/hồ sơ.") to the fee text.

    amount_vnd stays the fee column's amount: several charges are not one amount.
    """
    lines = [clean_text(line).lstrip("-+• ") for line in _CHARGE_LINE.findall(description)]
    extra = [line for line in lines if line and line not in fee.text]
    if not extra:
        return fee
    parts = [part.rstrip(" .") for part in ([fee.text] if fee.text else []) + extra]
    return fee.model_copy(update={"text": "; ".join(parts)})


_WELL_FORMED_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:[.,]\d{3})*|[1-9]\d*")


def split_glued_time_and_fee(digits: str, preferred_times: list[str]) -> tuple[str, str] | None:
    """'120,000' after a channel name is a unit-less time glued to an amount ('1' + '20,000'). Split it.

    A time stated by another row of the same record wins; otherwise the shortest time that leaves a
    well-formed amount (no leading zero, proper thousands groups).
    """
    candidates = [t for t in preferred_times if t.isdigit()] + [digits[:n] for n in range(1, len(digits))]
    for time in candidates:
        amount = digits[len(time) :]
        if digits.startswith(time) and amount and _WELL_FORMED_AMOUNT.fullmatch(amount):
            return time, amount
    return None


def _row_cells(match: re.Match, segment: str, preferred_times: list[str]) -> tuple[str, re.Match | None, str, str]:
    """(time cell, fee-cell match, text after the fee cell, warning) for one row."""
    time_cell, rest, warning = match.group("time"), segment, ""
    fee = _FEE_CELL.match(rest)
    glued = fee is not None and fee.group("amount") and time_cell.isdigit() and rest[:1] in tuple("0123456789,.")
    if glued:
        split = split_glued_time_and_fee(time_cell + fee.group("amount"), preferred_times)
        if split:
            currency_at = fee.start("currency")
            space = " " if rest[currency_at - 1] == " " else ""
            time_cell, rest = split[0], split[1] + space + rest[currency_at:]
            fee = _FEE_CELL.match(rest)
            warning = (
                f"read {match.group('time')}{segment[:12]}… as time {time_cell} + fee {fee.group(0) if fee else '?'}"
            )
    elif fee is None and rest[:1] == " ":
        rest = rest.lstrip()
        fee = _FEE_CELL.match(rest)
    return time_cell, fee, rest[fee.end() :] if fee else rest, warning


def parse_channels(text: str) -> ChannelParse:
    """Parse a flattened channel table into SubmissionChannel rows (with warnings for anything odd)."""
    result = ChannelParse()
    body = text.split(TABLE_HEADER, 1)[1] if TABLE_HEADER in text else text
    starts = list(_ROW_START.finditer(body))
    if not starts or clean_text(body[: starts[0].start()]):
        loose = list(_LOOSE_ROW_START.finditer(body))
        if loose and not clean_text(body[: loose[0].start()]):
            starts = loose
    if not starts:
        if clean_text(body):
            result.warnings.append(("no channel row", clean_text(body)[:100]))
        return result
    if clean_text(body[: starts[0].start()]):
        result.warnings.append(("text before the first row", clean_text(body[: starts[0].start()])[:100]))
    # Bare times not glued to an amount are unambiguous; they settle the split of glued ones in the same record.
    preferred = [
        m.group("time") for m in starts if m.group("time").isdigit() and not body[m.end() : m.end() + 1].isdigit()
    ]
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(body)
        time_cell, fee, after_fee, warning = _row_cells(match, body[match.end() : end], preferred)
        if warning:
            result.warnings.append(("unit-less time glued to the fee", warning))
        kind = CHANNEL_NAMES[match.group(1)]
        if fee is None:
            result.warnings.append(("unreadable fee cell", clean_text(after_fee)[:100]))
            result.channels.append(
                SubmissionChannel(kind=kind, time=parse_time(time_cell), description=clean_text(after_fee))
            )
            continue
        note = balanced_prefix(after_fee) if after_fee.startswith("(") else ""
        description = after_fee[len(note) :]
        if after_fee.startswith("(") and not note:
            # The field was cut inside the note (crawler limit): the rest of the row is the note.
            result.warnings.append(("unclosed parenthesis in a fee note", clean_text(after_fee)[:100]))
            note, description = after_fee + ")", ""
        result.channels.append(
            SubmissionChannel(
                kind=kind,
                time=parse_time(time_cell),
                fee=with_stated_charges(parse_fee(fee.group(0), note), description),
                description=clean_text(description),
            )
        )
    return result


# --- the case a row applies to ----------------------------------------------------------------------------
# A table with several rows for one channel is split by case ("Cấp lần đầu …: 20 ngày", "Cấp lại do mất,
# hỏng: 7 ngày"); only the row's description names the case. `row_case` reads it back for the replies:
# - the description's items (split at "- ", "+ ", "a) "…) that state the row's own duration ("07 ngày",
#   "sáu mươi (60) ngày") name the case; without one, the first item does;
# - the case is the item's label: the text before its ":" or before "Trong thời hạn …"; an item that is only a
#   duration statement ("Trong thời hạn 02 ngày làm việc … gửi văn bản …") is returned whole (shortened);
# - "Đối với (trường hợp)" is dropped; generic labels ("Cách thức thực hiện", "Thời hạn giải quyết") and
#   how-to-submit texts ("Nộp hồ sơ trực tuyến qua …") are not cases.
_ITEM_SPLIT = re.compile(r"(?:^|\s)(?:[-+•]|[a-zđ]\))\s+")
_LABEL_END = re.compile(r"\s*:\s|\s+(?=(?:Trong|trong) (?:thời hạn|vòng)\b)")
_LABEL_PREFIX = re.compile(r"^(?:Đối với\s+(?:trường hợp\s+)?|Trường hợp\s+)", re.IGNORECASE)
_GENERIC_LABEL = re.compile(
    r"^(?:Cách thức thực hiện|Thời hạn(?: giải quyết)?|Thời gian(?: giải quyết)?|Lưu ý|Ghi chú|"
    r"Phí|Lệ phí|Mức (?:thu|phí|lệ phí))$",
    re.IGNORECASE,
)
_CHANNEL_TEXT = re.compile(r"^(?:Nộp|Gửi) (?:hồ sơ|trực|qua|tại)", re.IGNORECASE)  # how to submit, not a case
CASE_CHARS = 140


def _shorten_case(text: str) -> str:
    text = text.strip(" .;,:")
    if len(text) <= CASE_CHARS:
        return text
    cut = text.rfind(" ", 0, CASE_CHARS)
    return text[: cut if cut > 0 else CASE_CHARS].rstrip(" ,;:") + " …"


def _item_label(item: str) -> str:
    """'Cấp lại giấy phép bị mất, hỏng: 07 ngày làm việc …' -> 'Cấp lại giấy phép bị mất, hỏng'."""
    end = _LABEL_END.search(item)
    label = item[: end.start()] if end else item
    if end is None or len(label) > 2 * CASE_CHARS:
        label = item
    label = _LABEL_PREFIX.sub("", label.strip(" .;,:"))
    label = label[:1].upper() + label[1:]
    if not label or _GENERIC_LABEL.match(label) or _CHANNEL_TEXT.match(label):
        return ""
    return _shorten_case(label)


def row_case(description: str, time_text: str = "") -> str:
    """The case a channel row applies to, from its description ('' when it names none); see above."""
    items = [item.strip() for item in _ITEM_SPLIT.split(clean_text(description)) if item.strip(" .;,:")]
    if not items:
        return ""
    number = re.match(r"(\d+)", time_text.strip())
    chosen: list[str] = []
    if number:
        duration = re.compile(rf"(?<![\d.,])\(?0*{number.group(1)}\)?\s?(?:ngày|giờ|tháng|năm)", re.IGNORECASE)
        chosen = [item for item in items if duration.search(item)]
    labels = [label for label in dict.fromkeys(_item_label(item) for item in (chosen or items[:1])) if label]
    return _shorten_case("; ".join(labels)) if labels else ""
