"""Small text helpers shared by the importers (whitespace, Unicode form, parentheses)."""

from __future__ import annotations

import re
import unicodedata

NO_INFO = "Không có thông tin"  # the portal's placeholder for an empty field

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """NFC, no invisible characters, single spaces; newlines kept (collapsed) only when asked."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text or ""))
    if keep_newlines:
        lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
        return "\n".join(line for line in lines if line)
    return _SPACES.sub(" ", text.replace("\r", " ").replace("\n", " ")).strip()


def field_value(text: str, keep_newlines: bool = False) -> str:
    """A record field, cleaned, with the portal's "Không có thông tin" placeholder read as empty."""
    cleaned = clean_text(text, keep_newlines)
    return "" if cleaned.rstrip(".") == NO_INFO else cleaned


def balanced_prefix(text: str) -> str:
    """The leading '( … )' group of `text`, nested parentheses included; '' when it never closes."""
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[: index + 1]
    return ""
