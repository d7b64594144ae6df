"""Where a learned search spends its time, stage by stage, on a question file.

    TTHC_CATALOG__DATA_DIR=/path/to/imported .venv/bin/python scripts/search_profile.py QUESTIONS.jsonl

Prints p50 / p95 in ms of each stage of `KnowledgeBase.search` on the learned path (reading the question,
e5 encoding with the query cache bypassed, BM25, the candidate pool and its features, the ranker and
decision models) and the machine-speed calibration before and after, so figures from different machines
and loads can be compared. Searches run one after the other on the active index of the settings' data dir.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from assistant.core.settings import get_settings
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.evaluation import machine_calibration_seconds, read_questions
from knowledge_base.store import KnowledgeBase

STAGES = ("read", "encode", "bm25", "pool", "judge", "total")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", help="a question file in `tthc kb eval` format (JSONL with 'question')")
    args = parser.parse_args()
    settings = get_settings()
    try:
        questions = [q.question for q in read_questions(Path(args.questions))]
        kb = KnowledgeBase.open(settings.data_dir, settings.embedding_model_path, threads=settings.embedding.threads)
    except (KnowledgeBaseError, OSError, ValueError) as error:
        print(f"search_profile: error: {error}", file=sys.stderr)
        return 2
    if not kb.learned:
        print(
            "search_profile: error: the active index has no trained models or no embedding model: "
            "run `tthc kb train` (and `tthc up --prepare-only` for the model)",
            file=sys.stderr,
        )
        return 2
    print(f"calibration_s {machine_calibration_seconds():.3f} (before)")
    kb.search("làm căn cước cần giấy tờ gì")  # loads the models
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    mask = np.ones(len(kb.procedures()), dtype=bool)  # no filters
    for text in questions:
        started = time.perf_counter()
        view = kb.read_question(text)
        read = time.perf_counter()
        vector = kb.embed_questions([view])[0]  # the same vector a search computes, never cached
        encoded = time.perf_counter()
        lexical = kb.lexical.scores(view.terms)
        scored = time.perf_counter()
        pool = kb.pool_from(view, lexical, vector, mask)
        pooled = time.perf_counter()
        kb.judge(pool)
        judged = time.perf_counter()
        marks = (started, read, encoded, scored, pooled, judged)
        for stage, begin, end in zip(STAGES[:-1], marks[:-1], marks[1:], strict=True):
            times[stage].append((end - begin) * 1000)
        times["total"].append((judged - started) * 1000)
    print(f"{len(questions)} questions from {args.questions}")
    for stage in STAGES:
        values = np.array(times[stage])
        print(f"{stage:7s} p50 {np.percentile(values, 50):7.1f} ms   p95 {np.percentile(values, 95):7.1f} ms")
    print(f"calibration_s {machine_calibration_seconds():.3f} (after)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
