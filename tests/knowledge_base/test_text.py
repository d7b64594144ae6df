"""Vietnamese text handling: normalization, folding, abbreviations, stopwords, diacritics restoration."""

import unicodedata

from knowledge_base.diacritics import DiacriticRestorer
from knowledge_base.text import (
    abbreviations,
    content_syllables,
    filler_words,
    fold,
    fold_keeping_length,
    normalize,
    prepare_query,
    query_terms,
    syllables,
    typed_with_diacritics,
    without_procedure_prefix,
)


def test_normalize_composes_decomposed_input_and_strips_invisible_characters():
    decomposed = unicodedata.normalize("NFD", "Làm Căn Cước")
    assert decomposed != "Làm Căn Cước"
    assert normalize(decomposed + "\u200b  ạ") == "làm căn cước ạ"


def test_fold_removes_tones_and_d_bar():
    assert fold("đăng ký khai sinh") == "dang ky khai sinh"
    assert fold("Đổi giấy phép lái xe") == "Doi giay phep lai xe"


def test_fold_keeping_length_maps_each_character_to_one():
    text = "Đổi giấy phép lái xe ở Tây Ninh"
    assert fold_keeping_length(text) == fold(text) == "Doi giay phep lai xe o Tay Ninh"
    # A lone combining mark has no one-character base: it stays, so offsets into the text stay valid.
    stray = "a\u0301\u0323b"
    assert len(fold_keeping_length(stray)) == len(stray)
    assert fold(stray) == "ab"


def test_title_prefix_is_dropped_only_at_the_start():
    assert without_procedure_prefix("thủ tục đăng ký khai sinh") == "đăng ký khai sinh"
    assert without_procedure_prefix("hướng dẫn thủ tục đăng ký") == "hướng dẫn thủ tục đăng ký"


def test_filler_words_are_the_stopwords_a_name_never_needs_plus_chat_words():
    fillers = set(filler_words())
    stopwords = set(abbreviations().stopword_list)
    # Shared question words: one entry in data/abbreviations.yml serves both lists.
    assert {"cho", "hỏi", "không", "gì", "nhiêu", "làm"} <= fillers & stopwords
    # Stopwords for search that can be part of a name ("bản sao", "người nước ngoài") are no filler.
    assert {"sao", "người", "nước", "tại"} <= stopwords - fillers
    # Chat words and phrases that search meets already expanded are fillers only.
    assert {"ko", "dc", "thì sao", "vui lòng", "ok"} <= fillers - stopwords
    assert all(word == normalize(word) for word in fillers)


def test_folded_question_and_accented_question_give_the_same_syllables():
    assert syllables(normalize("làm căn cước cần gì")) == syllables("lam can cuoc can gi")


def test_abbreviations_and_everyday_names_expand_with_or_without_diacritics():
    assert "thẻ căn cước" in prepare_query("làm CCCD")
    assert "giấy chứng nhận quyền sử dụng đất" in prepare_query("cap so do lan dau")
    assert "giấy chứng nhận quyền sử dụng đất" in prepare_query("Sổ Đỏ bị mất")
    assert "giấy phép lái xe" in prepare_query("đổi gplx")


def test_chat_words_expand_and_unknown_words_stay_as_typed():
    assert prepare_query("ko biết j") == "không biết gì"
    assert prepare_query("đc ko") == "được không"
    assert prepare_query("xyzabc") == "xyzabc"
    assert prepare_query("mất sổ đỏ").startswith("mất sổ đỏ giấy chứng nhận")  # name kept beside expansion


def test_a_word_typed_with_diacritics_expands_only_as_the_entry_is_written():
    # "vật" is not the abbreviation "VAT", "hỏng" is not the chat "hông" (không), "cuối" is not "cưới".
    assert prepare_query("vật liệu xây dựng") == "vật liệu xây dựng"
    assert prepare_query("giấy tờ bị hỏng").endswith("bị hỏng")
    assert prepare_query("cuối năm") == "cuối năm"
    assert "giá trị gia tăng" in prepare_query("hoàn thuế VAT")
    # Typed without diacritics, folding still decides; common phrases are matched before their last word.
    assert "kết hôn" in prepare_query("toi muon cuoi vo")
    assert prepare_query("bo sung ten cha") == "bổ sung ten cha"  # not "súng" (vũ khí)
    assert prepare_query("dieu kien") == "điều kiện"  # not "kiện" (khởi kiện)


def test_stopwords_are_decided_on_the_typed_form():
    # "cần" is a question word, "căn" (căn cước) is not; typed without diacritics "can" is ambiguous
    # and dropped as a unigram, while the bigram "can_cuoc" keeps the meaning.
    assert content_syllables("cần căn cước") == ["can", "cuoc"]
    assert "can_cuoc" in query_terms("lam can cuoc")


def test_bigrams_with_a_question_word_weigh_less():
    terms = query_terms("khai sinh cho con")
    assert terms["khai_sinh"] == 1.0
    assert terms["sinh_cho"] < 1.0
    assert "cho" not in terms


def test_diacritics_restored_from_catalogue_wording():
    restorer = DiacriticRestorer.build(["Cấp thẻ căn cước", "Đăng ký thường trú", "Cấp lại giấy phép lái xe"])
    assert restorer.restore("lam the can cuoc can gi") == "làm thẻ căn cước cần gì"
    assert restorer.restore("dang ky thuong tru") == "đăng ký thường trú"
    # Words already accented, and words the catalogue never uses, stay as typed.
    assert restorer.restore("đổi bằng xyz") == "đổi bằng xyz"


def test_plain_words_are_literal_in_a_question_typed_with_diacritics():
    # "di" (di chúc) and "con" (child) fold like the question words "đi" and "còn": only a question
    # typed without diacritics leaves that ambiguous.
    assert typed_with_diacritics("lập di chúc cho các con")
    assert not typed_with_diacritics("lap di chuc cho cac con")
    assert content_syllables("lập di chúc cho các con") == ["lap", "di", "chuc", "con"]
    assert content_syllables("lap di chuc cho cac con") == ["lap", "chuc"]
    assert "di" in query_terms("lập di chúc", literal=True)
    assert "di" not in query_terms("lap di chuc")


def test_diacritics_restored_next_to_punctuation():
    restorer = DiacriticRestorer.build(["Cấp thẻ căn cước", "Đăng ký thường trú", "Cấp lại giấy phép lái xe"])
    # A long message's words before commas and full stops are restored, punctuation kept in place.
    assert restorer.restore("mat the can cuoc, xin cap lai.") == "mat thẻ căn cước, xin cấp lại."
    assert restorer.restore("(can cuoc)... cap lai?") == "(căn cước)... cấp lại?"
