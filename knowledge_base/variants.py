"""Variant markers: the closed set of words that turn a base procedure into one of its variants.

Vietnamese procedure titles form families: "Đăng ký khai tử" / "Đăng ký lại khai tử", "Cấp giấy
chứng nhận đăng ký tàu cá" / "Xóa đăng ký tàu cá", "Đổi giấy phép lái xe" / "Đổi giấy phép lái xe
... của người nước ngoài". The variant's title holds nearly every word of the base title, so word
overlap alone cannot tell them apart; but a citizen who wants the variant says so ("làm lại",
"xóa", "gia hạn", "người nước ngoài"). A title whose main clause carries a marker the question does
not mention is therefore less likely to be the one asked about.

Only the title's main clause counts (before the first comma, semicolon, colon or parenthesis):
combined titles list their variants after the base action ("Thủ tục cấp, cấp lại, điều chỉnh ...")
and audience lists follow the procedure's name ("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam,
người nước ngoài ...").
"""

from __future__ import annotations

import re

from knowledge_base.text import fold, normalize, without_procedure_prefix

# marker phrase (as written in titles) -> cue words: the marker counts as mentioned when the question
# has any cue (a citizen asking "đổi địa chỉ" means "thay đổi"; "làm lại" means "cấp lại"). Longer
# phrases are matched first, so "thay đổi" is one marker, not "đổi" as well.
# Countries citizens name instead of saying "người nước ngoài" (marriage, adoption, work abroad).
_COUNTRIES = (
    "hàn quốc",
    "nhật bản",
    "trung quốc",
    "đài loan",
    "hồng kông",
    "mỹ",
    "hoa kỳ",
    "úc",
    "canada",
    "nước anh",
    "nước pháp",
    "nước đức",
    "nga",
    "lào",
    "campuchia",
    "thái lan",
    "singapore",
    "malaysia",
)

VARIANT_MARKERS: dict[str, tuple[str, ...]] = {
    # re-issue, exchange, change of an existing paper or registration; a lost or damaged paper is
    # re-issued. "mất" counts when it loses something ("bị mất", "mất" + a kind of paper: giấy, sổ, thẻ,
    # bằng, bản), not alone: "bố tôi mới mất" asks for the first death registration. Cues are general
    # words, not one question's wording (scripts/lexicon_audit.py counts the dev questions using each).
    "lại": (
        "lại",
        "hỏng",
        "rách",
        "cháy",
        "thất lạc",
        "bị mất",
        "làm mất",
        "đánh mất",
        "mất hết",
        "mất giấy",
        "mất sổ",
        "mất thẻ",
        "mất bằng",
        "mất bản",
        "mất hộ chiếu",
    ),
    "đổi": ("đổi",),
    "thay đổi": ("thay", "đổi", "sửa"),
    "chuyển đổi": ("đổi",),
    "sửa đổi": ("sửa", "đổi"),
    "điều chỉnh": ("chỉnh", "sửa", "đổi"),
    "bổ sung": ("bổ sung", "thêm"),
    "cập nhật": ("cập nhật",),
    "gia hạn": ("gia hạn", "hết hạn"),
    # ending or suspending one ("đóng cửa", "nghỉ bán" are how citizens say it)
    "xóa": ("xóa", "xoá"),
    "hủy": ("hủy", "huỷ"),
    "thu hồi": ("thu hồi",),
    "tạm ngừng": ("ngừng", "nghỉ", "đóng"),
    "ngừng": ("ngừng", "nghỉ", "đóng"),
    "chấm dứt": ("chấm dứt", "ngừng", "nghỉ", "đóng"),
    "dừng": ("dừng", "ngừng", "nghỉ", "đóng"),
    "giải thể": ("giải thể", "đóng"),
    "khôi phục": ("khôi phục", "phục hồi"),
    "phục hồi": ("khôi phục", "phục hồi"),
    # audience qualifier ("quốc tế" is no cue: an international driving licence is for Vietnamese drivers)
    "nước ngoài": ("nước ngoài", "ngoại quốc", "ngoại kiều", "việt kiều", "quốc tịch", *_COUNTRIES),
}

_CLAUSE_END = re.compile(r"[,;:(]")
_WORD = re.compile(r"[^\W_]+")
_PHRASES = sorted(((tuple(m.split()), m) for m in VARIANT_MARKERS), key=lambda item: -len(item[0]))


def main_clause(title: str) -> list[str]:
    """Words of the title's main clause: normalized, "thủ tục" dropped, cut at the first , ; : or (."""
    text = without_procedure_prefix(normalize(title))
    return _WORD.findall(_CLAUSE_END.split(text, 1)[0])


def title_markers(title: str) -> tuple[str, ...]:
    """Variant markers in a title's main clause, in order (each phrase once)."""
    words = main_clause(title)
    found: list[str] = []
    i = 0
    while i < len(words):
        for phrase, marker in _PHRASES:
            if tuple(words[i : i + len(phrase)]) == phrase:
                if marker not in found:
                    found.append(marker)
                i += len(phrase)
                break
        else:
            i += 1
    return tuple(found)


def question_text(prepared_query: str, literal: bool) -> str:
    """The question as cues are looked up in: its words space-padded, folded when typed without diacritics."""
    words = _WORD.findall(prepared_query)
    return " " + " ".join(words if literal else [fold(w) for w in words]) + " "


def unmentioned(markers: tuple[str, ...], question: str, literal: bool) -> int:
    """How many of a title's markers the question names by none of their cues (whole words or phrases).

    question: from `question_text`. Without diacritics a cue is compared folded, so "lai" (lại, lái)
    counts as mentioning "lại": the ambiguity costs a missed penalty, never a wrong one.
    """
    count = 0
    for marker in markers:
        if not any(f" {cue if literal else fold(cue)} " in question for cue in VARIANT_MARKERS[marker]):
            count += 1
    return count
