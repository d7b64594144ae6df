"""Grouping unanswered questions with the knowledge base's own embedding model (multilingual-e5-small):
rewordings of one question together, neighbouring procedures and other topics apart."""
from __future__ import annotations

import pytest

from assistant import unanswered
from assistant.settings import load_settings
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase
from tests.api.conftest import SAMPLE_CATALOG


@pytest.fixture(scope="module")
def kb_with_model(tmp_path_factory):
    model = load_settings(environ={}).embedding_model_path
    if not model.exists():
        pytest.skip("the embedding model is converted by set-up (./start or ./run-tests)")
    return KnowledgeBase.build(load_catalog(SAMPLE_CATALOG).procedures, tmp_path_factory.mktemp("kb-e5"), model,
                               progress=False, train=False)


def occurrences(*questions: str) -> list[unanswered.Occurrence]:
    return [unanswered.Occurrence(n, question, "declined", "rest", f"2026-12-07T0{n % 10}:00:00+00:00", ())
            for n, question in enumerate(questions)]


def test_rewordings_group_and_other_questions_stay_apart(kb_with_model, tmp_path):
    groups = unanswered.group(occurrences(
        "thủ tục xin trợ cấp thất nghiệp", "xin trợ cấp thất nghiệp thì làm sao", "thu tuc xin tro cap that nghiep",
        "thủ tục xin trợ cấp thất nghiệp",
        "đăng ký tạm trú cho người thuê trọ", "đăng ký tạm trú cho sinh viên thuê nhà",
        "đăng ký thường trú vào nhà người thân",
        "hôm nay trời có mưa không",
    ), kb=kb_with_model, db_path=tmp_path / "app.db")
    assert unanswered.vectors_for(["x"], kb_with_model)[1] == unanswered.EMBEDDING_THRESHOLD
    members = [sorted(v.question for v in g.variants) for g in groups]
    assert members[0] == ["thu tuc xin tro cap that nghiep", "thủ tục xin trợ cấp thất nghiệp",
                          "xin trợ cấp thất nghiệp thì làm sao"]
    assert groups[0].count == 4 and groups[0].question == "thủ tục xin trợ cấp thất nghiệp"
    assert ["đăng ký tạm trú cho người thuê trọ", "đăng ký tạm trú cho sinh viên thuê nhà"] in members
    assert ["đăng ký thường trú vào nhà người thân"] in members  # a neighbouring procedure: its own group
    assert ["hôm nay trời có mưa không"] in members
    assert len(groups) == 4
