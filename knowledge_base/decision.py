"""Answer, ask back, or abstain: decided from signals that tell "no procedure fits" apart.

The top score alone separates poorly (earlier measurement: AUC ~0.65), so the decision combines:
- coverage: share of the question's content syllables found in the best match's names,
- known share: share of the question's content syllables that occur anywhere in the catalogue
  (out-of-domain questions use vocabulary the catalogue never has),
- agreement: whether BM25 and dense retrieval put the same record on top (hybrid only),
- margin: the gap between the first and the next candidates (for clarify).
Thresholds are calibrated on the calibration half of the dev set (scripts/kb_calibrate.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from knowledge_base.schema import Decision

MIN_COVERAGE = 0.5
MIN_KNOWN_SHARE = 0.6
MIN_DENSE = 0.80  # e5 cosine below which even an agreeing dense match is not trusted
CLARIFY_MARGIN = 0.04  # candidates within this fused-score gap of the first are "close"
CLARIFY_MIN_COVERAGE = 0.9  # ...and must cover the question as well as the first does


@dataclass
class Candidate:
    index: int
    score: float  # fused score in [0, 1]
    lexical: float
    dense: float | None
    coverage: float


def abstain_score(candidates: list[Candidate], known_share: float, content_size: int) -> float:
    """How well the best candidate fits, in [0, 1]: higher = more likely a real answer exists."""
    if not candidates or content_size == 0:
        return 0.0
    best = candidates[0]
    return min(best.coverage, 1.0) * 0.6 + known_share * 0.4


def decide(candidates: list[Candidate], known_share: float, content_size: int, system: str) -> Decision:
    if not candidates or content_size == 0:
        return Decision.abstain
    best = candidates[0]
    if known_share < MIN_KNOWN_SHARE or best.coverage < MIN_COVERAGE:
        return Decision.abstain
    close = [
        c for c in candidates[1:5]
        if best.score - c.score <= CLARIFY_MARGIN and c.coverage >= best.coverage * CLARIFY_MIN_COVERAGE
    ]
    return Decision.clarify if close else Decision.answer
