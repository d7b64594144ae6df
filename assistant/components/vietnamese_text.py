"""Tiny pure-Python Vietnamese text helpers for the Rasa components (no Rasa, no knowledge_base import).

The Rasa environment has no torch, so the components cannot import `knowledge_base`; these helpers are
deliberately minimal: NFC normalization and diacritics folding.
"""
from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """Compose decomposed input (NFD from some keyboards) so the same word always has the same code points."""
    return unicodedata.normalize("NFC", text or "")


def fold(text: str) -> str:
    """Remove Vietnamese diacritics, keeping the length of NFC text: "làm căn cước" -> "lam can cuoc".

    Each NFC character maps to exactly one character (đ -> d), so offsets stay valid between the two forms.
    """
    folded = []
    for char in text:
        if char in "đĐ":
            folded.append("d" if char == "đ" else "D")
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
        folded.append(base if len(base) == 1 else char)
    return "".join(folded)
