"""Unit tests of the Vietnamese tokenizer component: NFC, folded lemmas, exact offsets, entity alignment."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.rasa_process.components.vietnamese_tokenizer import VietnameseTokenizer
from knowledge_base.text import fold_keeping_length, nfc

pytestmark = pytest.mark.rasa

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tokenizer() -> VietnameseTokenizer:
    return VietnameseTokenizer(VietnameseTokenizer.get_default_config())


def tokenize(tokenizer: VietnameseTokenizer, text: str):
    message = Message(data={TEXT: text})
    return message, tokenizer.tokenize(message, TEXT)


def test_words_are_segmented_and_lower_cased(tokenizer):
    _, tokens = tokenize(tokenizer, "Làm Căn cước công dân ở Tây Ninh cần giấy tờ gì?")
    texts = [t.text for t in tokens]
    assert "căn_cước" in texts and "giấy_tờ" in texts and "tây_ninh" in texts
    assert all(t.text == t.text.lower() for t in tokens)
    assert "?" not in "".join(texts)


def test_offsets_slice_the_message_text(tokenizer):
    text = "Cho em hỏi: đăng ký  khai sinh (cho bé) mất bao lâu ạ?!"
    message, tokens = tokenize(tokenizer, text)
    for token in tokens:
        assert fold_keeping_length(text[token.start : token.end].lower().replace(" ", "_")) == fold_keeping_length(
            token.text
        )
    assert [t.start for t in tokens] == sorted(t.start for t in tokens)


def test_decomposed_input_is_rewritten_to_nfc(tokenizer):
    decomposed = unicodedata.normalize("NFD", "Lệ phí đăng ký kết hôn")
    assert decomposed != nfc(decomposed)
    message, tokens = tokenize(tokenizer, decomposed)
    _, expected = tokenize(tokenizer, nfc(decomposed))
    assert message.get(TEXT) == nfc(decomposed)
    assert [(t.text, t.start, t.end) for t in tokens] == [(t.text, t.start, t.end) for t in expected]


def test_accented_and_folded_forms_share_lemmas(tokenizer):
    _, accented = tokenize(tokenizer, "làm căn cước cần gì")
    _, folded = tokenize(tokenizer, "lam can cuoc can gi")
    # The char n-gram featurizer reads lemmas: both spellings yield the same syllables.
    assert " ".join(t.lemma for t in accented).split() == " ".join(t.lemma for t in folded).split()
    assert all(t.lemma == fold_keeping_length(t.lemma) for t in accented)


def test_receipt_codes_stay_one_token(tokenizer):
    text = "tra hồ sơ 000.00.31.H57-250612-0005 giúp em"
    _, tokens = tokenize(tokenizer, text)
    assert "000.00.31.H57-250612-0005" in [text[t.start : t.end] for t in tokens]


def test_punctuation_only_message_is_one_token(tokenizer):
    _, tokens = tokenize(tokenizer, "?? :)")
    assert len(tokens) == 1 and (tokens[0].start, tokens[0].end) == (0, 5)


def test_training_tokens_align_with_entity_annotations(tokenizer):
    # underthesea joins "muon lam" into one word; the annotation starts at "lam", so training splits it.
    text = "toi muon lam can cuoc"
    start = text.index("lam")
    example = Message(
        data={
            TEXT: text,
            "entities": [{"start": start, "end": len(text), "value": text[start:], "entity": "procedure"}],
        }
    )
    tokenizer.process_training_data(TrainingData([example]))
    tokens = example.get(TOKENS_NAMES[TEXT])
    assert start in [t.start for t in tokens]
    assert len(text) in [t.end for t in tokens]


def test_entity_end_inside_an_underthesea_word_is_split_in_training(tokenizer):
    # underthesea joins "chieu can" across the end of the annotated name; the end edge falls on the space
    # before "can", so training must start a word at "can".
    text = "lam ho chieu can mang gi"
    start, end = text.index("ho"), text.index(" can")
    example = Message(
        data={TEXT: text, "entities": [{"start": start, "end": end, "value": text[start:end], "entity": "procedure"}]}
    )
    tokenizer.process_training_data(TrainingData([example]))
    tokens = example.get(TOKENS_NAMES[TEXT])
    assert start in [t.start for t in tokens] and end in [t.end for t in tokens]


def _trained_tokenizer(tmp_path, training_data: TrainingData) -> VietnameseTokenizer:
    """Train (persisting the phrases), then load a fresh instance from the model storage, as Rasa does."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    storage, resource = LocalModelStorage(tmp_path), Resource("vietnamese_tokenizer")
    context = ExecutionContext(GraphSchema({}), "test")
    config = VietnameseTokenizer.get_default_config()
    VietnameseTokenizer.create(config, storage, resource, context).train(training_data)
    return VietnameseTokenizer.load(config, storage, resource, context)


def test_known_procedure_names_keep_word_edges_at_run_time(tmp_path, tokenizer):
    lookup = {"name": "procedure", "elements": ["làm hộ chiếu", "hộ chiếu", "đăng ký khai sinh"]}
    trained = _trained_tokenizer(tmp_path, TrainingData(lookup_tables=[lookup]))
    for text, name in (("lam ho chieu can mang gi", "ho chieu"), ("làm hộ chiếu cần mang gì", "hộ chiếu")):
        name_start = text.index(name)
        name_end = name_start + len(name)
        plain_edges = [(t.start, t.end) for t in tokenize(tokenizer, text)[1]]
        _, tokens = tokenize(trained, text)
        # Without the phrases underthesea may merge across the name; with them both edges are token edges,
        # whether the user or an annotation includes the verb "làm" or not.
        assert name_start in [t.start for t in tokens] and name_end in [t.end for t in tokens], plain_edges
        assert 0 in [t.start for t in tokens]
    # Text without a known name is segmented exactly as before.
    other = "giá vàng hôm nay bao nhiêu"
    assert [t.text for t in tokenize(trained, other)[1]] == [t.text for t in tokenize(tokenizer, other)[1]]


def test_the_shared_text_module_loads_light_in_the_rasa_environment():
    """The tokenizer folds with knowledge_base.text, the project's one text module: in the Rasa process
    (Python 3.10, no torch) it must import nothing heavy and no other knowledge_base module."""
    code = (
        "import sys, knowledge_base.text as t\n"
        "print(t.fold_keeping_length(t.nfc('Căn cước')), t.content_syllables(t.normalize('Cần đăng ký gì')))\n"
        "heavy = ('numpy', 'torch', 'faiss', 'sentence_transformers', 'sklearn', 'pydantic', 'rasa', 'underthesea')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('knowledge_base.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    folded, loaded = result.stdout.splitlines()
    assert folded == "Can cuoc ['dang', 'ky']"
    assert loaded == "['knowledge_base.text']"
