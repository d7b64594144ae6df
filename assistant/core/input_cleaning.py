"""Clean a chat message before anything interprets it (pure Python: used by the Rasa component).

- NFC: decomposed input (some keyboards, copy-paste from PDFs) must match composed text.
- Invisible characters are removed: control characters (C0/C1, DEL), format characters (zero-width
  space/joiners, BOM, bidirectional overrides), lone surrogates, private-use code points.
  Tabs and newlines become spaces; whitespace runs collapse to one space.
- Overlong text is cut at `max_chars`, at a word boundary when there is one nearby, so a
  10,000-character paste costs the NLU pipeline no more than a long question.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_MAX_CHARS = 2000
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co"}
_WHITESPACE = re.compile(r"\s+")


def clean_message(text: str | None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        if char in "\t\n\r\v\f":
            kept.append(" ")
        elif unicodedata.category(char) not in _DROPPED_CATEGORIES:
            kept.append(char)
    text = _WHITESPACE.sub(" ", "".join(kept)).strip()
    if len(text) > max_chars:
        cut = text.rfind(" ", max_chars - 50, max_chars + 1)
        text = text[: cut if cut > 0 else max_chars].rstrip()
    return text
