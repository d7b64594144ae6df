"""Variant markers: a title's unasked "lại", "xóa", "gia hạn", "nước ngoài" ... cost it rank."""

from __future__ import annotations

import pytest

from knowledge_base import store
from knowledge_base.schema import Procedure
from knowledge_base.store import KnowledgeBase
from knowledge_base.text import normalize, prepare_query, typed_with_diacritics
from knowledge_base.variants import question_text, title_markers, unmentioned


def test_markers_come_from_the_main_clause_only():
    assert title_markers("Đăng ký lại khai tử") == ("lại",)
    assert title_markers("Đăng ký thay đổi nội dung đăng ký hộ kinh doanh") == ("thay đổi",)  # not "đổi" too
    assert title_markers("Cấp đổi Giấy chứng nhận quyền sử dụng đất") == ("đổi",)
    assert title_markers("Thủ tục đăng ký khai sinh có yếu tố nước ngoài") == ("nước ngoài",)
    # Variants listed after the base action, audiences after the name: not markers.
    assert title_markers("Thủ tục cấp, cấp lại, điều chỉnh, gia hạn Giấy chứng nhận") == ()
    assert title_markers("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú") == ()
    assert title_markers("Đăng ký thành lập hộ kinh doanh") == ()


def asked(question):
    literal = typed_with_diacritics(normalize(question))
    return question_text(prepare_query(question), literal), literal


@pytest.mark.parametrize(
    ("question", "markers", "expected"),
    [
        ("làm giấy khai tử", ("lại",), 1),
        ("đăng ký lại khai tử", ("lại",), 0),
        ("tôi bị mất giấy khai sinh", ("lại",), 0),  # a lost paper is re-issued
        ("bố tôi mới mất, làm giấy khai tử", ("lại",), 1),  # a bare "mất" is a death, not a loss
        ("mat giay phep kinh doanh", ("lại",), 0),  # ... but losing a paper is
        ("doi dia chi ho kinh doanh", ("thay đổi",), 0),  # folded cue, no diacritics typed
        ("kết hôn với người Đài Loan", ("nước ngoài",), 0),  # a country names the foreign case
        ("đóng cửa tiệm không kinh doanh nữa", ("chấm dứt", "lại"), 1),
    ],
)
def test_a_marker_counts_unless_the_question_cues_it(question, markers, expected):
    text, literal = asked(question)
    assert unmentioned(markers, text, literal) == expected


FAMILIES = {
    "khai tử": [
        ("V.1", "Đăng ký lại khai tử"),
        ("B.1", "Thủ tục đăng ký khai tử"),
        ("X.1", "Thủ tục đăng ký khai sinh"),
    ],
    "xây dựng": [
        ("V.3", "Gia hạn giấy phép xây dựng"),
        ("B.3", "Cấp giấy phép xây dựng nhà ở riêng lẻ"),
        ("X.3", "Cấp giấy phép lái xe"),
    ],
    "lái xe": [
        ("V.4", "Đổi giấy phép lái xe của người nước ngoài"),
        ("B.4", "Đổi giấy phép lái xe"),
        ("X.4", "Cấp giấy phép lái xe"),
    ],
}
CASES = [  # (family, question, expected top): generic question -> base, a question naming the variant -> variant
    ("khai tử", "lam giay khai tu", "B.1"),
    ("khai tử", "đăng ký lại khai tử", "V.1"),
    ("xây dựng", "xin giay phep xay dung", "B.3"),
    ("xây dựng", "gia hạn giấy phép xây dựng", "V.3"),
    ("lái xe", "đổi bằng lái cho người nước ngoài", "V.4"),
]


def top_codes(tmp_path, penalty, monkeypatch):
    monkeypatch.setattr(store, "VARIANT_PENALTY", penalty)
    tops = []
    for n, (family, question, _) in enumerate(CASES):
        procedures = [Procedure(code=code, title=title) for code, title in FAMILIES[family]]
        kb = KnowledgeBase.build(procedures, tmp_path / str(n), model_path=None, progress=False)
        tops.append(kb.search(question, system="bm25").results[0].code)
    return tops


def test_generic_question_gets_the_base_procedure_and_a_variant_question_the_variant(tmp_path, monkeypatch):
    assert top_codes(tmp_path, store.VARIANT_PENALTY, monkeypatch) == [expected for _, _, expected in CASES]


def test_without_the_penalty_word_overlap_prefers_the_short_variant_titles(tmp_path, monkeypatch):
    # The catalogues above are real traps for word overlap alone: the check above is not vacuous.
    tops = top_codes(tmp_path, 0.0, monkeypatch)
    assert (tops[0], tops[2]) == ("V.1", "V.3")
