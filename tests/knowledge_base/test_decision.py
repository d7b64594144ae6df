"""Abstention model: the embedding projection is part of the decision, and a mismatched one is ignored."""

from __future__ import annotations

import json

import numpy as np

from knowledge_base import decision
from knowledge_base.decision import Candidate, Signals


def _signals(vector):
    return Signals(
        system="dense",
        content_size=3,
        known_share=1.0,
        lexical_top=2.0,
        dense_top=0.88,
        agreement=1.0,
        dense_gap=0.03,
        field_agreement=0.5,
        query_vector=vector,
    )


def test_topic_projection_moves_the_answer_probability():
    topic = {"weights": np.array([1.0, 0.0, 0.0], dtype=np.float32), "bias": 0.0}
    model = {"weights": {"topic": 2.0}, "bias": 0.0, "mean": {"topic": 0.0}, "scale": {"topic": 1.0}, "threshold": 0.5}
    best = [Candidate(index=0, score=1.0, coverage=1.0, precision=1.0)]
    in_catalogue = decision.features(best, _signals(np.array([1.0, 0.0, 0.0], dtype=np.float32)), topic)
    elsewhere = decision.features(best, _signals(np.array([-1.0, 0.0, 0.0], dtype=np.float32)), topic)
    assert decision.probability(in_catalogue, model) > 0.5 > decision.probability(elsewhere, model)


def test_projection_of_another_embedding_size_or_no_embedding_gives_no_topic_signal():
    topic = {"weights": np.ones(384, dtype=np.float32), "bias": 1.0}
    best = [Candidate(index=0, score=1.0, coverage=1.0, precision=1.0)]
    assert decision.features(best, _signals(np.ones(768, dtype=np.float32) / 28), topic)["topic"] == 0.0
    assert decision.features(best, _signals(None), topic)["topic"] == 0.0


def test_shipped_calibration_has_every_feature_and_a_projection_of_the_embedding_size():
    models = json.loads(decision.ABSTENTION_FILE.read_text(encoding="utf-8"))
    for system in ("bm25", "dense", "hybrid"):
        assert set(models[system]["weights"]) <= set(decision.FEATURES)
        assert 0.0 < models[system]["threshold"] < 1.0
    assert len(models["topic"]["weights"]) == 384  # multilingual-e5-small
    assert "topic" in models["hybrid"]["weights"] and "topic" not in models["bm25"]["weights"]
