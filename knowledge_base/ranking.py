"""Learned re-ranking and decision: features of (question, candidate) pairs and the models that read them.

Retrieval (BM25 + e5, `store.py`) proposes a pool of candidates; three small models trained per
catalogue (`training.py`, `tthc kb train`) then decide:
- **ranker** (LightGBM lambdarank over candidate features): the order of the pool;
- **answerable** (LightGBM binary over question-level features of the re-ranked pool): does any record
  of this catalogue answer the question? Below its threshold the search abstains;
- **top_right** (LightGBM binary, same features): is the first candidate the right one? Below 0.5 the
  search asks back with the candidates that share the probability, instead of guessing;
- **scope** (logistic regression over the question's e5 embedding): for an abstention, is the question
  still about an administrative matter (not in this catalogue) or off-topic?
- **topic** (logistic regression over the embedding, a feature of the decision models): does the question
  sound like this catalogue's questions rather than other sectors', rules or chat? "giấy phép karaoke"
  and "giấy phép xây dựng" look alike to the lexical signals, not to it.
All four are learned from questions generated from the catalogue itself (`questions.py`) with
leave-field-out negatives, so nothing is fitted to a hand-written question. The models live in the
index build (`models.json`), so every imported catalogue carries its own.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge_base.schema import Level

MODELS_FILE = "models.json"
# Bumped when the features below change meaning: a build's models.json of another version is ignored
# (the search falls back to the hand-tuned ranking) until `tthc kb train` runs.
FEATURES_VERSION = 2

CANDIDATE_FEATURES = (
    "bm25_scaled",  # BM25 / best BM25 of the question
    "bm25_per_word",  # log1p(BM25 / content words of the question)
    "bm25_rank",  # log1p(rank in BM25 order)
    "dense",  # e5 cosine
    "dense_behind",  # best cosine - this cosine
    "dense_rank",  # log1p(rank in dense order)
    "fused",  # the fusion score (BM25 0.6 / dense 0.4)
    "prior_score",  # the pre-learning ranking: fusion + title precision - unasked variant markers
    "title_precision",  # share of the title's words (position-weighted) the question mentions
    "coverage",  # share of the question's content words in the record's names
    "context_coverage",  # share of the question's content words anywhere in the record's text
    "bigram_share",  # share of the title's folded bigrams the question has
    "markers_unasked",  # variant markers in the title's main clause the question does not cue
    "markers",  # variant markers in the title's main clause
    "for_individuals",  # audience names citizens, individuals or households
    "title_words",  # content words of the title
    "same_title",  # records with the same title (the same procedure at several levels)
    "field_share",  # share of the pool's best 10 (by fusion) in this record's field
    "level_ministry",
    "level_province",
    "level_commune",
    "level_other",
    "question_words",  # content words of the question
    "known_share",  # share of the question's content words found anywhere in the catalogue
)

QUESTION_FEATURES = (
    "rank_top",  # ranker score of the first candidate
    "rank_margin",  # ... minus the second's
    "rank_spread",  # ... minus the fifth's
    "top_bm25_per_word",
    "top_dense",
    "top_title_precision",
    "top_coverage",
    "top_context_coverage",
    "top_markers_unasked",
    "top_bigram_share",
    "bm25_best_per_word",  # best BM25 over the whole catalogue per content word
    "dense_best",  # best cosine over the whole catalogue
    "dense_gap",  # best cosine - 50th best: a flat profile means nothing in particular matches
    "agreement",  # the best BM25 record is among dense's top 5
    "field_agreement",  # share of the ranker's top 5 in the first one's field
    "question_words",
    "known_share",
    "scope",  # administrative-language score of the question embedding
    "topic",  # this-catalogue score of the question embedding
)


def level_bits(levels) -> tuple[float, float, float, float]:
    values = {getattr(level, "value", level) for level in levels}
    return tuple(float(lv.value in values) for lv in (Level.ministry, Level.province, Level.commune, Level.other))


@dataclass
class Booster:
    """A LightGBM model held as its text dump (or several, whose predictions are averaged): loaded lazily,
    predicts on a feature matrix."""

    text: str | list[str]
    _models: list | None = None

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        if self._models is None:
            import lightgbm

            texts = [self.text] if isinstance(self.text, str) else self.text
            self._models = [lightgbm.Booster(model_str=text) for text in texts]
        predictions = [np.asarray(model.predict(matrix, num_threads=1), dtype=np.float64) for model in self._models]
        return np.mean(predictions, axis=0)


@dataclass(frozen=True)
class Projection:
    """A linear score of the question embedding (a fitted logistic regression's logit)."""

    weights: np.ndarray
    bias: float

    def score(self, vector: np.ndarray | None) -> float:
        """The logit; 0 (undecided) without an embedding or for another embedding model's dimension."""
        if vector is None or vector.shape != self.weights.shape:
            return 0.0
        return float(self.weights @ vector) + self.bias

    def as_json(self) -> dict:
        return {"weights": [round(float(w), 6) for w in self.weights], "bias": round(self.bias, 6)}

    @classmethod
    def from_json(cls, payload: dict) -> Projection:
        return cls(np.asarray(payload["weights"], dtype=np.float32), float(payload["bias"]))


@dataclass
class RankingModels:
    ranker: Booster
    answerable: Booster
    top_right: Booster
    answerable_threshold: float
    scope: Projection
    scope_threshold: float
    topic: Projection
    info: dict

    def administrative(self, vector: np.ndarray | None) -> bool:
        """Whether the question is about administration (scope logit at or above its threshold)."""
        return self.scope.score(vector) >= self.scope_threshold

    def save(self, directory: Path) -> None:
        payload = {
            "features_version": FEATURES_VERSION,
            "candidate_features": list(CANDIDATE_FEATURES),
            "question_features": list(QUESTION_FEATURES),
            "ranker": self.ranker.text,
            "answerable": self.answerable.text,
            "top_right": self.top_right.text,
            "answerable_threshold": self.answerable_threshold,
            "scope": self.scope.as_json() | {"threshold": self.scope_threshold},
            "topic": self.topic.as_json(),
            "info": self.info,
        }
        (Path(directory) / MODELS_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RankingModels | None:
        """The build's models, or None when it has none or they were trained on other features."""
        path = Path(directory) / MODELS_FILE
        if not path.exists():
            return None
        payload = json.loads(path.read_text(encoding="utf-8"))
        if (
            payload.get("features_version") != FEATURES_VERSION
            or payload.get("candidate_features") != list(CANDIDATE_FEATURES)
            or payload.get("question_features") != list(QUESTION_FEATURES)
        ):
            return None
        scope = payload["scope"]
        return cls(
            ranker=Booster(payload["ranker"]),
            answerable=Booster(payload["answerable"]),
            top_right=Booster(payload["top_right"]),
            answerable_threshold=float(payload["answerable_threshold"]),
            scope=Projection.from_json(scope),
            scope_threshold=float(scope["threshold"]),
            topic=Projection.from_json(payload["topic"]),
            info=payload.get("info", {}),
        )


def question_features(
    pool_features: np.ndarray,
    rank_scores: np.ndarray,
    order: np.ndarray,
    fields: list[str],
    bm25_best_per_word: float,
    dense_best: float,
    dense_gap: float,
    agreement: float,
    scope: float,
    topic: float,
) -> np.ndarray:
    """One row of QUESTION_FEATURES from the pool's candidate features in re-ranked `order`."""
    index = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}
    if not len(order):
        row = np.zeros(len(QUESTION_FEATURES), dtype=np.float32)
        row[QUESTION_FEATURES.index("scope")] = scope
        row[QUESTION_FEATURES.index("topic")] = topic
        return row
    top = pool_features[order[0]]
    scores = rank_scores[order]
    second = scores[1] if len(scores) > 1 else scores[0] - 5.0
    fifth = scores[min(4, len(scores) - 1)] if len(scores) > 1 else scores[0] - 5.0
    best_field = fields[order[0]]
    top5 = order[:5]
    values = {
        "rank_top": scores[0],
        "rank_margin": scores[0] - second,
        "rank_spread": scores[0] - fifth,
        "top_bm25_per_word": top[index["bm25_per_word"]],
        "top_dense": top[index["dense"]],
        "top_title_precision": top[index["title_precision"]],
        "top_coverage": top[index["coverage"]],
        "top_context_coverage": top[index["context_coverage"]],
        "top_markers_unasked": top[index["markers_unasked"]],
        "top_bigram_share": top[index["bigram_share"]],
        "bm25_best_per_word": bm25_best_per_word,
        "dense_best": dense_best,
        "dense_gap": dense_gap,
        "agreement": agreement,
        "field_agreement": sum(1 for i in top5 if fields[i] == best_field) / len(top5),
        "question_words": top[index["question_words"]],
        "known_share": top[index["known_share"]],
        "scope": scope,
        "topic": topic,
    }
    return np.array([values[name] for name in QUESTION_FEATURES], dtype=np.float32)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def log1p_rank(rank: float) -> float:
    return math.log1p(rank)
