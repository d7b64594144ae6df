"""Masking of personal data citizens type into the chat, before anything is stored or logged.

Masked: phone numbers (Vietnamese mobile/landline: 0 or +84 followed by 9–10 digits, spaces,
dots or dashes allowed between digit groups), citizen ID numbers (CCCD, 12 digits) and old
identity card numbers (CMND, 9 digits), e-mail addresses, and street addresses written with a
house number ("123 đường Nguyễn Huệ", "số 45/2 hẻm 7", "số nhà 12A").

ID numbers are also masked when typed in groups: a CCCD always starts with 0 (the province code),
so any 12 digits starting with 0 with spaces, dots or dashes between them ("079 203 001 234",
"079.203.001.234"); a CMND in groups of three with spaces or dashes ("123 456 789"); and any
9 or 12 digits in any grouping right after a word naming an ID ("CMND: 123.456.789"). Dotted
9-digit runs without such a word stay, because that is how amounts are written ("150.000.000 đồng").
Digit runs of other lengths (dates, fees, receipt codes with letters) are kept, because staff need
them to understand the question.
"""

from __future__ import annotations

import re

_SEP = r"[ .\-]?"
# Phone first: a 10-digit mobile must not be half-matched as a 9-digit CMND.
_PHONE = re.compile(rf"(?<![\w+])(?:\+84|84|0)(?:{_SEP}\d){{9,10}}(?!\w)")
_CCCD = re.compile(r"(?<![\w.\-])\d{12}(?![\w\-]|\.\d)")
_CMND = re.compile(r"(?<![\w.\-])\d{9}(?![\w\-]|\.\d)")
# Grouped forms. The end: no letter or dash, and no further digit group joined by a dot or dash.
_GROUP_END = r"(?![\w\-]|[.\-]\d)"
_CCCD_GROUPED = re.compile(rf"(?<![\w.\-])0(?:[ .\-]?\d){{11}}{_GROUP_END}")
_CMND_GROUPED = re.compile(rf"(?<![\w.\-])\d{{3}}([ \-])\d{{3}}\1\d{{3}}{_GROUP_END}")
# A word naming an ID document, then (within a few non-digits) the number in any grouping.
_ID_WORDS = r"cccd|cmnd|cmt|căn cước|can cuoc|chứng minh|chung minh|định danh|dinh danh|số id"
_ID_AFTER_WORD = re.compile(
    rf"(?P<head>(?:{_ID_WORDS})\D{{0,24}}?)(?<![\w.\-])(?P<number>\d(?:[ .\-]?\d){{8,11}})(?![\w\-]|[ .\-]?\d)",
    re.IGNORECASE,
)

_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_HOUSE_NUMBER = r"\d{1,5}[a-z]?(?:/\d{1,5}[a-z]?)*"
_STREET_WORDS = ("đường", "phố", "hẻm", "ngõ", "ngách", "kiệt", "duong", "pho", "hem", "ngo", "ngach", "kiet")
# A house number before a street word; the street's name follows as capitalized words or numbers.
_STREET = re.compile(
    rf"(?<!\w)(?P<head>(?P<so>số\s+|so\s+)?(?P<number>{_HOUSE_NUMBER})\s*,?\s*(?:{'|'.join(_STREET_WORDS)}))(?!\w)"
    r"(?P<tail>(?:[ \t]+\S+){0,6})",
    re.IGNORECASE,
)
_HOUSE = re.compile(rf"(?<!\w)(?:số nhà|nhà số)\s*{_HOUSE_NUMBER}(?!\w)", re.IGNORECASE)

PHONE_MASK = "[SĐT đã ẩn]"
EMAIL_MASK = "[email đã ẩn]"
ADDRESS_MASK = "[địa chỉ đã ẩn]"
CCCD_MASK = "[số CCCD đã ẩn]"
CMND_MASK = "[số CMND đã ẩn]"


def _mask_street(match: re.Match[str]) -> str:
    """Mask the house number, the street word and the street's name; keep the words after it.

    Without a name after the street word, only "số 12 đường" or "12/3 hẻm" count as an address:
    "có 3 đường nộp hồ sơ" is a count of ways, not a house number.
    """
    words = match.group("tail").split()
    name_length = 0
    for word in words:
        if not (word[0].isupper() or word[0].isdigit() or word.lower().strip(",.;:") in _STREET_WORDS):
            break
        name_length += 1
    if name_length == 0 and not (match.group("so") or "/" in match.group("number")):
        return match.group(0)
    trailing = words[name_length - 1][-1] if name_length and words[name_length - 1][-1] in ",.;:" else ""
    rest = " ".join(words[name_length:])
    return ADDRESS_MASK + trailing + (" " + rest if rest else "")


def _mask_named_id(match: re.Match[str]) -> str:
    """An ID number after a word naming it: masked when it has 9 (CMND) or 12 (CCCD) digits."""
    digits = sum(ch.isdigit() for ch in match.group("number"))
    mask = {9: CMND_MASK, 12: CCCD_MASK}.get(digits)
    return match.group("head") + mask if mask else match.group(0)


def mask_pii(text: str) -> str:
    """Return text with phone, CCCD and CMND numbers, e-mails and street addresses replaced by placeholders."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _ID_AFTER_WORD.sub(_mask_named_id, text)
    text = _CCCD.sub(CCCD_MASK, text)
    text = _CCCD_GROUPED.sub(CCCD_MASK, text)
    text = _PHONE.sub(PHONE_MASK, text)
    text = _CMND.sub(CMND_MASK, text)
    text = _CMND_GROUPED.sub(CMND_MASK, text)
    text = _STREET.sub(_mask_street, text)
    return _HOUSE.sub(ADDRESS_MASK, text)
