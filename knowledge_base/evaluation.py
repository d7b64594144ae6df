"""Search evaluation on a JSONL question set: ranking quality, abstention and latency.

Each line: {"id": ..., "question": ..., "gold": [codes], "aspect"?: ...}; an empty gold list means no
answer exists. `aspect` (optional, e.g. "fee") is what the question asks about the procedure; search
evaluation ignores it, `tthc bot eval` (assistant/cli/bot_evaluation.py) checks the reply speaks to it.
hit@1, recall@5 (at least one gold code in the top 5) and mrr@10 are over answerable questions;
abstain_recall is the share of no-answer questions abstained, false_abstain_rate the share of
answerable ones abstained.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from knowledge_base.errors import KnowledgeBaseError

WARMUP_QUERIES = 3
CALIBRATION_LOOP = 3_000_000  # iterations of the machine-speed reference loop


class Question(BaseModel):
    id: str | int
    question: str
    gold: list[str]
    aspect: str | None = None
    split: str | None = None  # dev set: tune (choices may be made on it) or holdout (reporting only)


def read_questions(path: Path) -> list[Question]:
    path = Path(path)
    if not path.is_file():
        raise KnowledgeBaseError(
            f'question file {path} not found: pass a JSONL file with one {{"id", "question", "gold"}} per line'
        )
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            raise KnowledgeBaseError(
                f'{path}:{number}: not a valid question line ({first}); expected {{"id", "question", "gold": [codes]}}'
            ) from None
    if not questions:
        raise KnowledgeBaseError(f'{path} holds no questions: add JSONL lines {{"id", "question", "gold"}}')
    return questions


def evaluate(kb, questions: list[Question], system: str = "hybrid") -> dict:
    """Run every question through kb.search and aggregate the metrics of the CLI contract."""
    for q in questions[:WARMUP_QUERIES]:  # load lazy parts (model threads, caches) before timing
        kb.search(q.question, top_k=10, system=system)
    kb.clear_cache()
    hits1, recall5, rr, latencies = [], [], [], []
    abstained_unanswerable = abstained_answerable = 0
    answerable = [q for q in questions if q.gold]
    for q in questions:
        started = time.perf_counter()
        response = kb.search(q.question, top_k=10, system=system)
        latencies.append((time.perf_counter() - started) * 1000)
        codes = [h.code for h in response.results]
        gold = set(q.gold)
        if not gold:
            abstained_unanswerable += int(response.abstained)
            continue
        abstained_answerable += int(response.abstained)
        hits1.append(bool(codes[:1]) and codes[0] in gold)
        recall5.append(any(c in gold for c in codes[:5]))
        rank = next((i for i, c in enumerate(codes[:10], 1) if c in gold), None)
        rr.append(1.0 / rank if rank else 0.0)
    unanswerable = len(questions) - len(answerable)
    return {
        "n": len(questions),
        "answerable": len(answerable),
        "hit@1": _mean(hits1),
        "recall@5": _mean(recall5),
        "mrr@10": _mean(rr),
        "abstain_recall": round(abstained_unanswerable / unanswerable, 4) if unanswerable else None,
        "false_abstain_rate": round(abstained_answerable / len(answerable), 4) if answerable else None,
        **latency_percentiles(latencies),
    }


def latency_percentiles(latencies_ms: list[float]) -> dict:
    """{"p50_ms", "p95_ms"} of the given timings (None when there are none); shared by the evaluators."""
    if not latencies_ms:
        return {"p50_ms": None, "p95_ms": None}
    return {f"p{q}_ms": round(float(np.percentile(latencies_ms, q)), 2) for q in (50, 95)}


def machine_calibration_seconds() -> float:
    """Seconds this machine takes for a fixed pure-Python loop (best of 3), printed next to timings.

    Latency figures from different runs are comparable only with the machine's speed at the time (a
    shared 2-core machine under load is several times slower): divide by this to compare runs.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(CALIBRATION_LOOP):
            total += i % 7
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def _mean(values: list) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
