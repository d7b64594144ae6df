"""Grouping unanswered questions with the knowledge base's own embedding model (multilingual-e5-small):
rewordings of one question together, neighbouring procedures and other topics apart."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from assistant.app import conversation_log, dashboard, interaction_log, unanswered
from assistant.core.settings import load_settings
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase
from tests.api.conftest import SAMPLE_CATALOG


@pytest.fixture(scope="module")
def kb_with_model(tmp_path_factory):
    model = load_settings(environ={}).embedding_model_path
    if not model.exists():
        pytest.skip("the embedding model is converted by set-up (./start or ./run-tests)")
    return KnowledgeBase.build(
        load_catalog(SAMPLE_CATALOG).procedures, tmp_path_factory.mktemp("kb-e5"), model, progress=False, train=False
    )


def occurrences(*questions: str) -> list[unanswered.Occurrence]:
    return [
        unanswered.Occurrence(n, question, "declined", "rest", f"2026-12-07T0{n % 10}:00:00+00:00", ())
        for n, question in enumerate(questions)
    ]


def test_rewordings_group_and_other_questions_stay_apart(kb_with_model, tmp_path):
    groups = unanswered.group(
        occurrences(
            "thủ tục xin trợ cấp thất nghiệp",
            "xin trợ cấp thất nghiệp thì làm sao",
            "thu tuc xin tro cap that nghiep",
            "thủ tục xin trợ cấp thất nghiệp",
            "đăng ký tạm trú cho người thuê trọ",
            "đăng ký tạm trú cho sinh viên thuê nhà",
            "đăng ký thường trú vào nhà người thân",
            "hôm nay trời có mưa không",
        ),
        kb=kb_with_model,
        db_path=tmp_path / "app.db",
    )
    assert unanswered.vectors_for(["x"], kb_with_model)[1] == unanswered.EMBEDDING_THRESHOLD
    members = [sorted(v.question for v in g.variants) for g in groups]
    assert members[0] == [
        "thu tuc xin tro cap that nghiep",
        "thủ tục xin trợ cấp thất nghiệp",
        "xin trợ cấp thất nghiệp thì làm sao",
    ]
    assert groups[0].count == 4 and groups[0].question == "thủ tục xin trợ cấp thất nghiệp"
    assert ["đăng ký tạm trú cho người thuê trọ", "đăng ký tạm trú cho sinh viên thuê nhà"] in members
    assert ["đăng ký thường trú vào nhà người thân"] in members  # a neighbouring procedure: its own group
    assert ["hôm nay trời có mưa không"] in members
    assert len(groups) == 4


def test_the_dashboard_groups_unanswered_questions_like_the_page(kb_with_model, tmp_path):
    db = tmp_path / "app.db"
    questions = [
        "thủ tục xin trợ cấp thất nghiệp",
        "xin trợ cấp thất nghiệp thì làm sao",
        "thu tuc xin tro cap that nghiep",
        "thủ tục xin trợ cấp thất nghiệp",
        "trợ cấp mất việc làm",
        "đăng ký tạm trú cho người thuê trọ",
        "đăng ký tạm trú cho sinh viên thuê nhà",
        "đăng ký thường trú vào nhà người thân",
        "đăng ký thường trú cho người thuê trọ",
        "hôm nay trời có mưa không",
    ]
    for n, question in enumerate(questions):
        interaction_log.save(
            interaction_log.InteractionRecord(
                id=0,
                created_at=conversation_log.utc_now(),
                sender_id=f"web-{n}",
                channel="rest",
                action="action_answer_procedure",
                intent="ask_documents",
                question=question,
                outcome="abstained",
                codes=[],
                chosen_option=None,
                chosen_code=None,
                feedback=None,
                action_ms=5,
                turn_ms=None,
            ),
            db,
        )
    today = datetime.now(interaction_log.VIETNAM_TIME).date()
    shown = {}
    for kb in (kb_with_model, None):  # the model, and the lexical fallback when the index runs without it
        page = unanswered.unanswered_groups(today, today, kb=kb, db_path=db)
        board = dashboard.compute(today, today, db_path=db, kb=kb, today=today)
        shown[kb is None] = [(row["question"], row["count"]) for row in board.top_unanswered]
        assert shown[kb is None] == [(g.question, g.count) for g in page.groups], kb
    assert shown[False] != shown[True]  # the two groupings differ here: the dashboard follows the model


class CountingEncoder:
    """Vectors from a fixed table (unit vectors), counting the texts it is asked to embed."""

    table = {"a": [1.0, 0.0], "a2": [0.95, 0.312], "b": [0.0, 1.0]}

    def __init__(self):
        self.embedded: list[str] = []

    def encode_queries(self, texts):
        self.embedded += texts
        return np.array([self.table[t] for t in texts], dtype=np.float32)


class FakeKB:
    def __init__(self):
        self.encoder = CountingEncoder()

    def read_question(self, text):
        raise ValueError("no reading: the text itself is embedded")


def test_the_threshold_decides_and_a_reload_embeds_nothing_again(tmp_path):
    kb = FakeKB()
    groups = unanswered.group(occurrences("a", "a2", "b", "a"), kb=kb, db_path=tmp_path / "app.db")
    # cos(a, a2) = 0.95 >= 0.93: one group; b is orthogonal.
    assert [sorted(v.question for v in g.variants) for g in groups] == [["a", "a2"], ["b"]]
    assert sorted(kb.encoder.embedded) == ["a", "a2", "b"]  # each distinct text once
    unanswered.group(occurrences("a", "b", "a2"), kb=kb, db_path=tmp_path / "app.db")
    assert len(kb.encoder.embedded) == 3  # cached for the same encoder
