"""Train a catalogue's ranking and decision models (knowledge_base.ranking) from the catalogue itself.

1. Questions are generated from every record (knowledge_base.questions: aspects, chat, stories, polite
   portal style, no diacritics, abbreviations, typos, sibling variants). A question's right answers are
   its record and the records with the same title at another level.
2. **Ranker**: every question is searched in the whole catalogue; the candidate pool's features and
   whether each candidate is right train a LightGBM lambdarank model. Two more rankers, each trained on
   the questions of half of the records, score the other half below, so the decision models see ranker
   scores of questions the ranker did not learn from.
3. **Decision models**: the catalogue's fields (lĩnh vực) are split into FOLDS groups; for each group,
   an index of the other groups is built in memory and asked (a) questions of the left-out group, which
   it cannot answer: they look like real questions about procedures a catalogue does not hold, and
   (b) questions of the records it holds. Questions about rules rather than procedures
   (questions.rule_questions) and everyday chat (data/offtopic.txt, devset/abstention_train.jsonl)
   are asked of the whole index as further no-answer questions. `answerable` learns (a)+(rules) vs (b);
   `top_right` learns from (b) whether the first candidate is right.
4. **Scope**: a logistic regression over question embeddings, administrative (generated, rule and
   other-sector questions) vs everyday chat.
The abstention threshold is the ABSTAIN_QUANTILE quantile of the out-of-fold answerable probability of
held-in questions: chosen on generated data by a fixed rule, never on an evaluation set.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge_base.dense import DenseIndex
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.labelled import ANSWERABLE_STYLE, LabelledQuestion, generated_questions, training_examples
from knowledge_base.lexical import LexicalIndex
from knowledge_base.questions import generate, rule_questions
from knowledge_base.ranking import (
    CANDIDATE_FEATURES,
    Booster,
    Projection,
    RankingModels,
    question_features,
)

log = logging.getLogger(__name__)

SEED = 13
# The decision models average this many seeds: a single model let float noise in the record vectors move
# the abstention on real questions (docs/benchmarks.md, "Issue 11, 2026-12-07").
DECISION_SEEDS = 5
MAX_QUESTIONS = 8000  # generated questions at most (the full national catalogue: 3 per record)
# A small catalogue gets more questions per record: with 8 each, the 44-record seed catalogue's models
# asked back on "làm giấy khai sinh cần những gì" and ranked the foreign-element variant first.
MIN_PER_RECORD, MAX_PER_RECORD = 2, 30
MIN_RECORDS = 10  # a handful of records gives no ranking to learn: the untrained ranking serves them
FOLDS = 5
RULE_SHARE = 0.08  # rule questions, as a share of the generated ones
# Quantile of held-in generated questions' out-of-fold answerable probability that becomes the abstention
# threshold (generated questions are easier than real ones, hence a small one). Chosen from the trade-off on
# the dev set's tune split (scripts/decision_tradeoff.py), never a check set: on the national catalogue it
# gives a threshold of ~0.07, which abstains on 0.80 of the tune split's no-answer questions at 0.13 false
# abstentions (`tthc kb eval ... --split tune`; docs/benchmarks.md).
ABSTAIN_QUANTILE = 0.02
DATA_DIR = Path(__file__).parent / "data"
OFFTOPIC_FILE = DATA_DIR / "offtopic.txt"
NO_ANSWER_TRAINING_FILE = Path(__file__).parent / "devset" / "abstention_train.jsonl"


@dataclass
class _Row:
    """One question run through one index: its pool and what is right in it."""

    pool: object  # store.Pool
    relevant: np.ndarray  # per pool candidate, 1 when it answers the question
    fields: list[str]
    half: int  # which half of the records the question came from (-1: not from a record)


def _stable(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _lightgbm_params(rows: int, objective: str) -> dict:
    return {
        "objective": objective,
        "learning_rate": 0.08,
        "num_leaves": 15,
        "min_data_in_leaf": max(5, min(40, rows // 200)),
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": SEED,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 2,
        "verbose": -1,
    }


def _train_ranker(rows: list[_Row]) -> Booster:
    import lightgbm

    usable = [r for r in rows if r.relevant.any() and len(r.relevant) > 1]
    features = np.vstack([r.pool.features for r in usable])
    labels = np.concatenate([r.relevant for r in usable])
    groups = [len(r.relevant) for r in usable]
    params = _lightgbm_params(len(labels), "lambdarank") | {"lambdarank_truncation_level": 10, "eval_at": [1, 5]}
    booster = lightgbm.train(params, lightgbm.Dataset(features, labels, group=groups), num_boost_round=150)
    return Booster(booster.model_to_string())


def _train_binary(features: np.ndarray, labels: np.ndarray, rounds: int = 120) -> Booster:
    """DECISION_SEEDS models on differently seeded row and feature samples, predictions averaged."""
    import lightgbm

    texts = []
    for seed in range(SEED, SEED + DECISION_SEEDS):
        params = _lightgbm_params(len(labels), "binary") | {"seed": seed}
        booster = lightgbm.train(params, lightgbm.Dataset(features, labels), num_boost_round=rounds)
        texts.append(booster.model_to_string())
    return Booster(texts)


def _question_row(row: _Row, ranker: Booster, scope: float, topic: float) -> tuple[np.ndarray, float]:
    """QUESTION_FEATURES of a row scored by `ranker`, and whether its first candidate is right."""
    pool = row.pool
    if not pool.indices:
        empty = question_features(
            np.zeros((0, len(CANDIDATE_FEATURES))),
            np.zeros(0),
            np.zeros(0, dtype=int),
            [],
            pool.bm25_best_per_word,
            pool.dense_best,
            pool.dense_gap,
            pool.agreement,
            scope,
            topic,
        )
        return empty, 0.0
    scores = ranker.predict(pool.features)
    order = np.argsort(-scores, kind="stable")
    features = question_features(
        pool.features,
        scores,
        order,
        row.fields,
        pool.bm25_best_per_word,
        pool.dense_best,
        pool.dense_gap,
        pool.agreement,
        scope,
        topic,
    )
    return features, float(row.relevant[order[0]])


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _no_answer_training() -> tuple[list[str], list[str]]:
    """(other-sector administrative questions, everyday chat) from the written training file."""
    administrative, chat = [], []
    if NO_ANSWER_TRAINING_FILE.exists():
        for line in NO_ANSWER_TRAINING_FILE.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                (chat if item.get("style") == "offtopic" else administrative).append(item["question"])
    return administrative, chat + _read_lines(OFFTOPIC_FILE)


def _fit_projection(positives: np.ndarray, negatives: np.ndarray, strength: float = 4.0) -> Projection:
    """Logistic regression positives (1) vs negatives (0) on embeddings, classes weighted equally."""
    from sklearn.linear_model import LogisticRegression

    features = np.vstack([positives, negatives])
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    model = LogisticRegression(C=strength, class_weight="balanced", max_iter=2000, random_state=SEED)
    model.fit(features, labels)
    return Projection(model.coef_[0].astype(np.float32), float(model.intercept_[0]))


def train_models(
    kb,
    progress: bool = False,
    seed: int = SEED,
    max_questions: int = MAX_QUESTIONS,
    labelled: Sequence[LabelledQuestion] = (),
) -> RankingModels:
    """Train the ranking and decision models of `kb` (a store.KnowledgeBase with its embedding model).

    `labelled`: real questions the catalogue team labelled (knowledge_base.labelled); they join the
    generated questions (answerable ones, always asked of an index holding their record) and the
    written no-answer questions."""
    from knowledge_base.store import _RecordFacts

    started = time.monotonic()
    say = (lambda text: print(f"  training: {text}", file=sys.stderr, flush=True)) if progress else (lambda text: None)
    procedures = kb.procedures()
    if len(procedures) < MIN_RECORDS:
        raise KnowledgeBaseError(
            f"{len(procedures)} procedures are too few to train a ranking (at least {MIN_RECORDS}): "
            "searching with the untrained ranking"
        )
    per_record = max(MIN_PER_RECORD, min(MAX_PER_RECORD, max_questions // max(len(procedures), 1)))
    generated = generate(procedures, per_record=per_record, seed=seed)
    labels = training_examples(list(labelled), {p.code for p in procedures})
    generated += generated_questions(labels, procedures)
    position = {p.code: i for i, p in enumerate(procedures)}
    # Right answers: the record and its same-title siblings (another level); a text generated from
    # several records is right for each of them.
    facts = _RecordFacts.of(procedures)
    title_key = facts.title_keys
    by_title: dict[str, set[int]] = {}
    for i, key in enumerate(title_key):
        by_title.setdefault(key, set()).add(i)
    by_text: dict[str, set[int]] = {}
    for q in generated:
        by_text.setdefault(q.text, set()).update(by_title[title_key[position[q.code]]])
    say(f"{len(generated)} questions from {len(procedures)} records ({per_record} each)")

    other_sector, chat_texts = _no_answer_training()
    other_sector, chat_texts = other_sector + labels.other_sector, chat_texts + labels.chat
    rules = rule_questions(procedures, max(20, int(RULE_SHARE * len(generated))), seed=seed)
    views = [kb.read_question(q.text) for q in generated]
    extra_texts = [q.text for q in rules] + other_sector + chat_texts
    extra_views = [kb.read_question(t) for t in extra_texts]
    vectors = kb.embed_questions(views + extra_views)
    say(f"embedded {len(vectors)} questions in {time.monotonic() - started:.0f} s")
    question_vectors, extra_vectors = vectors[: len(views)], vectors[len(views) :]

    # Scope first: its score is a decision feature (administrative vs everyday chat).
    n_rules, n_other = len(rules), len(other_sector)
    scope = _fit_projection(
        np.vstack([question_vectors, extra_vectors[: n_rules + n_other]]), extra_vectors[n_rules + n_other :]
    )
    scope_threshold = 0.0  # balanced classes: even odds

    # 1. Ranker on the whole catalogue.
    everything = np.ones(len(procedures), dtype=bool)
    halves = [_stable(q.code) % 2 for q in generated]
    full_rows = []
    for q, view, vector, half in zip(generated, views, question_vectors, halves, strict=True):
        pool = kb.pool_from(view, kb.lexical.scores(view.terms), vector, everything)
        relevant = np.array([float(i in by_text[q.text]) for i in pool.indices], dtype=np.float32)
        full_rows.append(_Row(pool, relevant, [procedures[i].field for i in pool.indices], half))
    say(f"pools computed ({time.monotonic() - started:.0f} s)")
    ranker = _train_ranker(full_rows)
    half_rankers = [_train_ranker([r for r in full_rows if r.half == h]) for h in (0, 1)]
    say(f"rankers trained ({time.monotonic() - started:.0f} s)")

    # 2. Leave-field-out runs for the decision models.
    seen: dict[str, int] = {}
    nth_of_record = []
    for q in generated:
        nth_of_record.append(seen.get(q.code, 0))
        seen[q.code] = nth_of_record[-1] + 1
    # Whole fields are left out when there are enough of them (other sectors' procedures look like
    # that to an index); a small catalogue of few fields leaves out records instead.
    fields = sorted({p.field for p in procedures})
    by_field = len(fields) >= 2 * FOLDS
    record_fold = np.array([_stable(p.field if by_field else p.code) % FOLDS for p in procedures])
    # Topic: this catalogue's questions vs rule, other-sector and chat questions. The decision models
    # must see scores of questions the projection did not learn from, with their own field learned
    # (as at search time) but a left-out field unseen: one projection per fold, without that fold's
    # records, without the held-in questions asked in it, and without that fold's share of the
    # no-answer texts.
    generated_fold = np.array([record_fold[position[q.code]] for q in generated])
    extra_fold = np.array([_stable(text) % FOLDS for text in extra_texts])
    asked_held_in = np.array([nth_of_record[n] == 1 % per_record for n in range(len(generated))])
    topics = {}
    for fold in range(FOLDS):
        learned = (generated_fold != fold) & ~((generated_fold == (fold + 1) % FOLDS) & asked_held_in)
        topics[fold] = _fit_projection(question_vectors[learned], extra_vectors[extra_fold != fold], strength=1.0)
    topic = _fit_projection(question_vectors, extra_vectors, strength=1.0)
    say(f"topic projections fitted ({time.monotonic() - started:.0f} s)")

    decision_x, answerable_y, top_y = [], [], []
    for fold in range(FOLDS):
        kept = np.flatnonzero(record_fold != fold)
        if len(kept) == len(procedures) or not len(kept):
            continue
        sub = _sub_index(kb, kept)
        new_position = {int(old): new for new, old in enumerate(kept)}
        for n, q in enumerate(generated):
            source_fold = record_fold[position[q.code]]
            left_out = source_fold == fold
            if not left_out and source_fold != (fold + 1) % FOLDS:
                continue  # each held-in question is asked in one fold's index
            if q.style == ANSWERABLE_STYLE:
                if left_out:
                    continue  # a labelled question teaches what its own record's questions look like
            elif nth_of_record[n] != (0 if left_out else 1 % per_record):
                continue  # one question of each record on each side keeps this step fast
            if left_out and any(record_fold[i] != fold for i in by_text[q.text]):
                continue  # a sibling record in another field still answers it
            view = views[n]
            pool = sub.pool_from(
                view, sub.lexical.scores(view.terms), question_vectors[n], np.ones(len(kept), dtype=bool)
            )
            right = {new_position[i] for i in by_text[q.text] if i in new_position}
            relevant = np.array([float(i in right) for i in pool.indices], dtype=np.float32)
            row = _Row(pool, relevant, [procedures[kept[i]].field for i in pool.indices], halves[n])
            features, top_is_right = _question_row(
                row,
                half_rankers[1 - halves[n]],
                scope.score(question_vectors[n]),
                topics[fold].score(question_vectors[n]),
            )
            decision_x.append(features)
            answerable_y.append(0.0 if left_out else 1.0)
            top_y.append(top_is_right if not left_out else np.nan)
    say(f"leave-field-out runs done ({time.monotonic() - started:.0f} s)")
    for text, view, vector, fold in zip(extra_texts, extra_views, extra_vectors, extra_fold, strict=True):
        pool = kb.pool_from(view, kb.lexical.scores(view.terms), vector, everything)
        row = _Row(pool, np.zeros(len(pool.indices), dtype=np.float32), [procedures[i].field for i in pool.indices], -1)
        features, _ = _question_row(
            row, half_rankers[_stable(text) % 2], scope.score(vector), topics[fold].score(vector)
        )
        decision_x.append(features)
        answerable_y.append(0.0)
        top_y.append(np.nan)
    decision_x = np.vstack(decision_x)
    answerable_y = np.array(answerable_y)
    top_y = np.array(top_y)

    # 3. Decision models; the threshold from out-of-fold probabilities (two halves by row).
    split = np.arange(len(answerable_y)) % 2
    oof = np.zeros(len(answerable_y))
    for part in (0, 1):
        model = _train_binary(decision_x[split != part], answerable_y[split != part])
        oof[split == part] = model.predict(decision_x[split == part])
    positives = oof[answerable_y == 1]
    threshold = float(np.quantile(positives, ABSTAIN_QUANTILE)) if len(positives) else 0.5
    answerable = _train_binary(decision_x, answerable_y)
    has_answer = ~np.isnan(top_y)
    top_right = _train_binary(decision_x[has_answer], top_y[has_answer])
    negatives = oof[answerable_y == 0]
    info = {
        "questions": len(generated),
        "per_record": per_record,
        "rule_questions": len(rules),
        "no_answer_written": len(other_sector) + len(chat_texts),
        "labelled": {
            "answerable": len(labels.answerable),
            "not_in_catalogue": len(labels.other_sector),
            "not_procedure": len(labels.chat),
            "unknown_code": len(labels.unknown_code),
        },
        "decision_rows": int(len(answerable_y)),
        "left_out": "fields" if by_field else "records",
        "left_out_negatives": int((answerable_y == 0).sum() - len(extra_texts)),
        "answerable_threshold": round(threshold, 4),
        "oof_abstain_recall": round(float((negatives < threshold).mean()), 4) if len(negatives) else None,
        "oof_false_abstain": round(float((positives < threshold).mean()), 4) if len(positives) else None,
        "top_right_share": round(float(np.nanmean(top_y)), 4) if has_answer.any() else None,
        "oof_positive_quantiles": {
            str(q): round(float(np.quantile(positives, q)), 5) for q in (0.005, 0.01, 0.02, 0.04, 0.08)
        }
        if len(positives)
        else None,
        "seed": seed,
        "seconds": round(time.monotonic() - started, 1),
    }
    say(f"done in {info['seconds']} s: {info}")
    return RankingModels(ranker, answerable, top_right, threshold, scope, scope_threshold, topic, info)


def _sub_index(kb, kept: np.ndarray):
    """An in-memory index of some of kb's records (same vectors, own BM25 and vocabulary)."""
    from knowledge_base.store import KnowledgeBase

    records = kb.procedures()
    procedures = [records[i] for i in kept]
    dense = DenseIndex(kb.dense.vectors[kept], [kb.dense.hashes[i] for i in kept])
    return KnowledgeBase(None, procedures, LexicalIndex.build(procedures), dense, kb.encoder, {}, kb.restorer)
