"""English questions (issue 15, item 6): how the English search path does on a question file.

    .venv/bin/python scripts/english_eval.py knowledge_base/devset/english_seed.jsonl
    .venv/bin/python scripts/english_eval.py knowledge_base/devset/english_national.jsonl --data-dir DIR

Reads the active index (catalog.data_dir, or --data-dir) with the embedding model, like `tthc kb eval`.
Prints, over the answerable questions: detected as English, hit@1 (the first result is a gold record, whatever
the decision: `tthc kb eval`'s definition), answered right (decision answer and the answer is gold), asked back
with a gold option, answered wrong, abstained; over the no-answer ones: abstained. `--no-glossary` ranks by e5
on the English question alone (no glossary terms: the decision then always abstains, only the ranking counts).
`--detector FILE ...` only counts the questions of each file the detector calls English (no index needed):

    .venv/bin/python scripts/english_eval.py --detector knowledge_base/devset/*.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.core.settings import get_settings  # noqa: E402
from knowledge_base import english  # noqa: E402
from knowledge_base.evaluation import read_questions  # noqa: E402
from knowledge_base.store import KnowledgeBase  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--detector", type=Path, nargs="+", help="count English-detected questions per file")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--no-glossary", action="store_true", help="e5 alone on the English text (ablation)")
    args = parser.parse_args()
    if args.detector:
        for path in args.detector:
            questions = read_questions(path)
            found = sum(english.is_english(q.question) for q in questions)
            print(json.dumps({"file": str(path), "questions": len(questions), "detected_english": found}))
        return 0
    if args.file is None:
        parser.error("pass a question file (or --detector FILE ...)")
    settings = get_settings()
    kb = KnowledgeBase.open(args.data_dir or settings.data_dir, settings.embedding_model_path)
    if args.no_glossary:
        english.glossary_terms = lambda text: []
    questions = read_questions(args.file)
    counts = {
        "answerable": 0,
        "detected": 0,
        "hit@1": 0,
        "answered_right": 0,
        "clarify_with_gold": 0,
        "answered_wrong": 0,
        "abstained": 0,
        "no_answer": 0,
        "no_answer_abstained": 0,
    }
    for question in questions:
        gold = set(question.gold)
        response = kb.search(question.question, top_k=5)
        codes = [hit.code for hit in response.results]
        counts["detected"] += int(english.is_english(question.question))
        if not gold:
            counts["no_answer"] += 1
            counts["no_answer_abstained"] += int(response.abstained)
            continue
        counts["answerable"] += 1
        counts["hit@1"] += int(bool(codes) and codes[0] in gold)
        decision = response.decision.value
        if decision == "answer":
            counts["answered_right" if codes[0] in gold else "answered_wrong"] += 1
        elif decision == "clarify":
            counts["clarify_with_gold"] += int(bool(gold & set(codes)))
        else:
            counts["abstained"] += 1
    n = max(counts["answerable"], 1)
    report = {
        "file": str(args.file),
        "questions": len(questions),
        "detected_english": counts["detected"],
        "answerable": counts["answerable"],
        "hit@1": round(counts["hit@1"] / n, 4),
        "answered_right": round(counts["answered_right"] / n, 4),
        "clarify_with_gold": round(counts["clarify_with_gold"] / n, 4),
        "answered_wrong": round(counts["answered_wrong"] / n, 4),
        "abstained": round(counts["abstained"] / n, 4),
        "no_answer": counts["no_answer"],
        "no_answer_abstained": counts["no_answer_abstained"],
        "glossary": not args.no_glossary,
        "procedures": len(kb.procedures()),
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
