"""Answer, ask back, or abstain: decided from signals that tell "no procedure fits" apart.

The top score alone separates poorly (earlier measurement: AUC ~0.65), so abstention is a small
logistic model over several signals, one weight set per retriever:
- coverage: share of the question's content syllables found in the best match's names,
- precision: share of the best title's content syllables the question mentions,
- known share: share of the question's content syllables that occur anywhere in the catalogue
  (out-of-domain questions use vocabulary the catalogue never has),
- lexical top: best BM25 score per content syllable,
- dense top: best e5 cosine, dense gap: how far it stands above the 50th best (a flat similarity
  profile means nothing in particular matches), and agreement: whether BM25's best record is in
  dense's top 5,
- field agreement: share of the close candidates (at least half the best's score) in the best one's
  field (lĩnh vực): a question
  about something the catalogue has pulls records of one field; one about something absent pulls
  a scatter of records that share only generic words ("cấp giấy phép ..."),
- topic: a linear projection of the question's e5 embedding, fitted on in-catalogue questions
  (generated from the catalogue's own titles) against everyday and other-sector questions the
  catalogue has no procedure for (knowledge_base/devset/abstention_train.jsonl). It is what tells
  "giấy phép karaoke" from "giấy phép xây dựng" when the lexical signals look alike.
(Tried and not kept: share of the question's bigrams known to the catalogue (AUC 0.71 on tune, worse
BM25-only decisions on small catalogues); IDF-weighted coverage and the IDF of the words the best match
does not explain (no gain once topic is in); long story-like no-answer questions in the training file
(dev holdout AUC 0.988 -> 0.981: they taught "long question = no answer").)
Weights and the threshold come from `scripts/kb_calibrate.py` (fitted on the training questions
above plus the dev set's tune split; the holdout split is only reported) and live in
data/abstention.json; the threshold keeps false abstentions on answerable questions rare.

Clarify is a generic ambiguity signal: several candidates score within a small margin of the best
and match the question about as well: as much of the question in their names, and about as few
title words the question did not mention (e.g. "đăng ký lưu động" fits the "... lưu động" variants of
khai sinh, khai tử and kết hôn alike; "đăng ký khai sinh" is answered with the generic procedure).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge_base.schema import Decision, Scope

log = logging.getLogger(__name__)

ABSTENTION_FILE = Path(__file__).parent / "data" / "abstention.json"
FEATURES = (
    "coverage",
    "precision",
    "known_share",
    "lexical_top",
    "dense_top",
    "dense_gap",
    "agreement",
    "field_agreement",
    "topic",
)
CLARIFY_MARGIN = 0.03  # candidates within this score gap of the best are "close"
CLARIFY_MAX = 5
# A close candidate whose title has clearly more words the question did not mention is a special
# case ("... có yếu tố nước ngoài"), not an equal alternative: no need to ask back for it.
CLARIFY_PRECISION_TOLERANCE = 0.05


@dataclass
class Candidate:
    index: int
    score: float
    coverage: float  # share of the question's content syllables in this record's names
    precision: float  # share of this record's title syllables the question mentions


@dataclass
class Signals:
    system: str
    content_size: int
    known_share: float
    lexical_top: float
    dense_top: float | None
    agreement: float | None
    dense_gap: float | None = None
    field_agreement: float = 0.0
    query_vector: np.ndarray | None = None  # normalized e5 embedding of the question (None: not embedded)


def topic_score(vector: np.ndarray | None, topic: dict | None) -> float:
    """Linear in-catalogue score of the question embedding; 0 without an embedding or a fitted projection."""
    if vector is None or not topic:
        return 0.0
    weights = np.asarray(topic["weights"], dtype=np.float32)  # no copy for the file's model (converted on load)
    if weights.shape != vector.shape:  # another embedding model than the one calibrated: no topic signal
        log.warning(
            "abstention topic projection has %d dimensions, the embedding %d: recalibrate (scripts/kb_calibrate.py)",
            weights.size,
            vector.size,
        )
        return 0.0
    return float(weights @ vector) + float(topic["bias"])


def features(candidates: list[Candidate], signals: Signals, topic: dict | None = None) -> dict[str, float]:
    """Decision features; `topic` is the fitted embedding projection (data/abstention.json "topic")."""
    best = candidates[0] if candidates else Candidate(-1, 0.0, 0.0, 0.0)
    return {
        "coverage": best.coverage,
        "precision": best.precision,
        "known_share": signals.known_share,
        "lexical_top": math.log1p(signals.lexical_top),
        "dense_top": signals.dense_top if signals.dense_top is not None else 0.0,
        "dense_gap": signals.dense_gap if signals.dense_gap is not None else 0.0,
        "agreement": signals.agreement if signals.agreement is not None else 0.0,
        "field_agreement": signals.field_agreement,
        "topic": topic_score(signals.query_vector, topic),
    }


@lru_cache(maxsize=1)
def _models() -> dict:
    if not ABSTENTION_FILE.exists():
        return {}
    models = json.loads(ABSTENTION_FILE.read_text(encoding="utf-8"))
    if models.get("topic"):
        models["topic"]["weights"] = np.asarray(models["topic"]["weights"], dtype=np.float32)
    return models


def probability(x: dict[str, float], model: dict) -> float:
    """Logistic model over standardized features (only the features the model has weights for)."""
    z = model["bias"] + sum(
        w * (x[name] - model["mean"][name]) / model["scale"][name] for name, w in model["weights"].items()
    )
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def answer_probability(candidates: list[Candidate], signals: Signals) -> float:
    """Estimated probability that a real answer exists, from the calibrated model of this retriever."""
    models = _models()
    model = models.get(signals.system)
    x = features(candidates, signals, models.get("topic"))
    if model is None:  # uncalibrated fallback: the question's words must be in the best title
        return 0.5 * x["coverage"] + 0.5 * x["known_share"]
    return probability(x, model)


def abstain_threshold(system: str) -> float:
    model = _models().get(system)
    return model["threshold"] if model else 0.5


def decide(candidates: list[Candidate], signals: Signals) -> Decision:
    if not candidates or signals.content_size == 0:
        return Decision.abstain
    if answer_probability(candidates, signals) < abstain_threshold(signals.system):
        return Decision.abstain
    best = candidates[0]
    close = [
        c
        for c in candidates[1:CLARIFY_MAX]
        if best.score - c.score <= CLARIFY_MARGIN
        and c.coverage >= best.coverage
        and c.precision >= best.precision - CLARIFY_PRECISION_TOLERANCE
    ]
    return Decision.clarify if close else Decision.answer


def administrative_scope(candidates: list[Candidate], signals: Signals) -> Scope:
    """For an abstention: is the question still about administration (not in this catalogue) or off-topic?

    Interim rule until the learned scope model lands: most of the question's words are catalogue vocabulary."""
    return Scope.administrative if signals.content_size and signals.known_share >= 0.6 else Scope.off_topic
