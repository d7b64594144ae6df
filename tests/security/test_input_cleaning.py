"""Message cleaning before NLU: one canonical, visible, bounded form of what the citizen typed."""

from __future__ import annotations

import unicodedata

from assistant.core.input_cleaning import clean_message


def test_decomposed_text_becomes_composed():
    decomposed = unicodedata.normalize("NFD", "làm căn cước")
    assert decomposed != "làm căn cước"
    assert clean_message(decomposed) == "làm căn cước"


def test_invisible_characters_are_removed():
    assert clean_message("khai\u200bsinh\u200c cần\u200d gì\ufeff\u202e") == "khaisinh cần gì"
    assert clean_message("khai\x00 sinh\x07\x1b[31m\x7f") == "khai sinh[31m"
    assert clean_message("a\ud800b\ue000c") == "abc"  # lone surrogate, private use


def test_whitespace_is_collapsed_and_trimmed():
    assert clean_message("  lệ phí\t\tbao\n\nnhiêu  ") == "lệ phí bao nhiêu"
    assert clean_message(" \t\n ") == ""
    assert clean_message(None) == ""


def test_visible_text_is_kept():
    for text in (
        "😀🙏🇻🇳",
        "<script>alert(1)</script>",
        "'; DROP TABLE x; --",
        "如何办理出生登记",
        "Số 12/3 đường 30-4",
    ):
        assert clean_message(text) == text


def test_long_text_is_cut_at_a_word_boundary():
    text = "làm giấy khai sinh " * 600  # 11,400 characters
    cleaned = clean_message(text, max_chars=2000)
    assert len(cleaned) <= 2000
    assert len(cleaned) > 1950
    assert cleaned.endswith("sinh") or cleaned.endswith("giấy") or cleaned.endswith("làm") or cleaned.endswith("khai")


def test_long_text_without_spaces_is_cut_hard():
    assert clean_message("x" * 5000, max_chars=100) == "x" * 100
