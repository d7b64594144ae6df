"""The learned decision's trade-off on a question set: what each abstention and direct-answer threshold would do.

For each (abstain below, answer directly at or above) pair it replays the active index's models on every
question, as `KnowledgeBase.search` decides, and prints the end-to-end shares `tthc bot eval` reports:
right directly, right within one ask-back (the gold among the offered candidates), answerable given a
wrong procedure, no-answer questions given a procedure. This is how ABSTAIN_QUANTILE
(knowledge_base/training.py) and TOP_RIGHT_THRESHOLD (knowledge_base/store.py) were chosen, on the dev set's
tune split only; the index's own threshold is printed with the quantiles of its out-of-fold probabilities.

    TTHC_CATALOG__DATA_DIR=... .venv/bin/python scripts/decision_tradeoff.py \\
        knowledge_base/devset/dev.jsonl --split tune
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core.settings import get_settings  # noqa: E402
from knowledge_base.evaluation import read_questions  # noqa: E402
from knowledge_base.store import OFFER_MASS, OFFER_MAX, KnowledgeBase  # noqa: E402

ABSTAIN_BELOW = (0.01, 0.02, 0.04, 0.08, 0.14)
ANSWER_AT = (0.5, 0.65, 0.8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--split", help="only the questions of this split (e.g. tune)")
    args = parser.parse_args()
    settings = get_settings()
    kb = KnowledgeBase.open(settings.data_dir, settings.embedding_model_path)
    if not kb.learned:
        print("tthc: error: the active index has no trained models; run `tthc kb train`", file=sys.stderr)
        return 2
    questions = [q for q in read_questions(args.file) if not args.split or q.split == args.split]
    print(json.dumps({k: kb.models.info.get(k) for k in ("answerable_threshold", "oof_positive_quantiles")}))
    judged = []
    for q in questions:
        pool = kb.pool(q.question)
        j = kb.judge(pool)
        codes = [kb.procedures()[pool.indices[i]].code for i in j.order]
        judged.append((set(q.gold), j.answerable, j.top_right, codes, np.cumsum(j.shares)))
    answerable = sum(1 for gold, *_ in judged if gold) or 1
    no_answer = sum(1 for gold, *_ in judged if not gold) or 1
    for below in ABSTAIN_BELOW:
        for at in ANSWER_AT:
            direct = within = wrong = given = 0
            for gold, p_answer, p_top, codes, cumulative in judged:
                if p_answer < below:
                    continue
                if not gold:
                    given += 1
                elif p_top >= at:
                    direct += codes[0] in gold
                    wrong += codes[0] not in gold
                else:
                    offered = max(2, min(OFFER_MAX, int(np.searchsorted(cumulative, OFFER_MASS) + 1)))
                    within += bool(gold & set(codes[:offered]))
            print(
                f"abstain below {below:<5} answer at {at:<5} right directly {direct / answerable:.3f}  "
                f"within one ask-back {(direct + within) / answerable:.3f}  wrong {wrong / answerable:.3f}  "
                f"no-answer given a procedure {given / no_answer:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
