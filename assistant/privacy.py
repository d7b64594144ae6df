"""Masking of personal data citizens type into the chat, before anything is stored or logged.

Masked: phone numbers (Vietnamese mobile/landline: 0 or +84 followed by 9–10 digits, spaces,
dots or dashes allowed between digit groups), citizen ID numbers (CCCD, 12 digits) and old
identity card numbers (CMND, 9 digits). Digit runs of other lengths (dates, fees, receipt codes
with letters) are kept, because staff need them to understand the question.
"""
from __future__ import annotations

import re

_SEP = r"[ .\-]?"
# Phone first: a 10-digit mobile must not be half-matched as a 9-digit CMND.
_PHONE = re.compile(rf"(?<![\w+])(?:\+84|84|0)(?:{_SEP}\d){{9,10}}(?!\w)")
_CCCD = re.compile(r"(?<![\w.\-])\d{12}(?![\w\-]|\.\d)")
_CMND = re.compile(r"(?<![\w.\-])\d{9}(?![\w\-]|\.\d)")

PHONE_MASK = "[SĐT đã ẩn]"
CCCD_MASK = "[số CCCD đã ẩn]"
CMND_MASK = "[số CMND đã ẩn]"


def mask_pii(text: str) -> str:
    """Return text with phone, CCCD and CMND numbers replaced by placeholders."""
    if not text:
        return text
    text = _CCCD.sub(CCCD_MASK, text)
    text = _PHONE.sub(PHONE_MASK, text)
    return _CMND.sub(CMND_MASK, text)
