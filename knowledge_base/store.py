"""The knowledge-base facade every consumer uses: build, open, search, get, list, facets.

On disk (under <data_dir>/kb, a symlink to one immutable build directory):
    manifest.json     counts, model, build time
    catalog.jsonl     one Procedure per line
    bm25.npz, bm25_vocab.json     lexical index
    dense.faiss, dense_hashes.json  dense index (when an embedding model is configured)
A build writes a new directory and then atomically repoints the symlink, so a reader never sees a
half-built index; a process keeps serving the build it opened until it reopens.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge_base import english
from knowledge_base.decision import Candidate, Signals, administrative_scope, decide
from knowledge_base.dense import DenseIndex, bounded_query, encode_query, load_encoder, normalized_rows
from knowledge_base.diacritics import DiacriticRestorer
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.lexical import LexicalIndex
from knowledge_base.ranking import CANDIDATE_FEATURES, RankingModels, level_bits, question_features, softmax
from knowledge_base.schema import (
    LEVEL_LABELS,
    ONLINE_LABELS,
    Decision,
    Procedure,
    Scope,
    SearchFilters,
    SearchHit,
    SearchResponse,
)
from knowledge_base.text import (
    bigrams,
    content_syllables,
    normalize,
    prepare_query,
    query_terms,
    syllables,
    typed_with_diacritics,
)
from knowledge_base.variants import question_text, title_markers, unmentioned

log = logging.getLogger(__name__)

KB_LINK = "kb"
BUILDS_DIR = "kb-builds"
SYSTEMS = ("bm25", "dense", "hybrid")
CANDIDATES = 50  # per retriever, before fusion
DENSE_WEIGHT = 0.4  # share of the dense score in hybrid fusion (both scores scaled to [0, 1])
TITLE_PRECISION_WEIGHT = 0.3  # bonus for titles whose words the question mentions (tuned on the dev tune split)
# Bonus for procedures an individual can file (the audience names citizens, cá nhân or households):
# citizens ask the assistant, so among near-equal matches theirs is the likelier one. 0.02-0.04 gave
# the same gain on the dev tune split; more starts to override the text.
INDIVIDUAL_PRIOR = 0.03
# Penalty per variant marker ("lại", "xóa", "gia hạn", "nước ngoài" ...; knowledge_base/variants.py) in a
# candidate's title that the question does not mention: a citizen who wants the variant says so.
VARIANT_PENALTY = 0.2
# Hybrid skips the dense retriever when BM25's best record leads by this much and covers this share
# of the question (None: always embed). Chosen on the dev tune split.
DENSE_SKIP_GAP: float | None = 0.3
DENSE_SKIP_COVERAGE = 0.75
RESULTS_KEPT = 10
FIELD_AGREEMENT_SHARE = 0.5  # candidates scoring at least this share of the best count for field agreement
# What an index's files mean: bumped whenever indexing changes (text normalisation, abbreviation
# expansion, fields, restorer). An index of another format is rebuilt from its own stored records
# (`rebuild`, which `tthc up` runs), so an upgraded deployment never searches a stale index.
# 2: syllables typed with diacritics expand only as written ("vật" is no longer VAT).
# 3: builds carry trained ranking and decision models (models.json, knowledge_base.ranking).
# 4: the lexicon lost entries fitted to single dev questions; models gained the topic feature.
# 5: small catalogues train on up to 30 generated questions per record (was 8).
INDEX_FORMAT = 5
# Learned decision: answer directly when the first candidate is right with at least this probability
# (top_right model); otherwise offer the candidates holding OFFER_MASS of the ranker's probability (2 to
# OFFER_MAX). 0.65 rather than 0.5 cut wrong direct answers on the dev set's tune split from 0.11 to 0.07 for
# 3-4 points of direct answers (scripts/decision_tradeoff.py); chosen there, never on a check set.
TOP_RIGHT_THRESHOLD = 0.65
OFFER_MASS = 0.9
OFFER_MAX = 5
KEEP_BUILDS = 2  # previous build stays so a process that opened it can still read lazily


def index_dir(data_dir: Path) -> Path:
    return Path(data_dir) / KB_LINK


@dataclass(frozen=True)
class _QuestionView:
    """What the re-ranking reads of one question, derived once per search."""

    content: list[str]  # folded content syllables (text.content_syllables)
    said: str  # the question as variant cues are looked up in (variants.question_text)
    literal: bool  # typed with diacritics: plain words mean what they say
    terms: dict[str, float] | None = None  # BM25 query terms
    embedded: str = ""  # the text the embedding model reads (diacritics restored, bounded)

    @classmethod
    def of(cls, prepared: str, literal: bool, embedded: str = "") -> _QuestionView:
        return cls(
            content_syllables(prepared, literal),
            question_text(prepared, literal),
            literal,
            query_terms(prepared, literal),
            embedded,
        )

    @property
    def words(self) -> set[str]:
        return set(self.content)


@dataclass
class Pool:
    """A question's candidate records (catalogue indices, best fused first) and their features."""

    indices: list[int]
    features: np.ndarray  # len(indices) x len(CANDIDATE_FEATURES)
    vector: np.ndarray | None  # the question's e5 embedding
    bm25_best_per_word: float
    dense_best: float
    dense_gap: float
    agreement: float
    empty: bool  # no content word at all


@dataclass
class Judgement:
    order: list[int]  # positions in the pool, best first
    shares: np.ndarray  # softmax of the ranker scores in that order
    decision: Decision
    scope: Scope
    answerable: float
    top_right: float
    offered: int  # candidates to show (1 for an answer, 2-5 for an ask-back)


@dataclass
class _RecordFacts:
    """Per-record facts the candidate features read, derived once from the records."""

    record_words: list[frozenset[str]]
    title_bigrams: list[frozenset[str]]
    title_keys: list[str]  # folded title without its level suffix: same key = same procedure
    same_title: list[int]
    levels: list[tuple[float, float, float, float]]

    @classmethod
    def of(cls, procedures: list[Procedure]) -> _RecordFacts:
        titles = [" ".join(syllables(normalize(_LEVEL_SUFFIX.sub("", p.title)))) for p in procedures]
        counts: dict[str, int] = {}
        for title in titles:
            counts[title] = counts.get(title, 0) + 1
        record_words, title_bigrams = [], []
        for p in procedures:
            parts = [
                p.title,
                p.field,
                p.result[:400],
                p.conditions[:600],
                p.audience,
                p.steps[:400],
                *p.keywords,
                p.summary,
            ]
            parts += [d.name for d in p.documents[:20]]
            record_words.append(frozenset(syllables(normalize(" ".join(parts)))))
            title_bigrams.append(frozenset(bigrams(content_syllables(normalize(p.title), True))))
        return cls(
            record_words, title_bigrams, titles, [counts[t] for t in titles], [level_bits(p.levels) for p in procedures]
        )


class KnowledgeBase:
    def __init__(
        self,
        directory: Path,
        procedures: list[Procedure],
        lexical: LexicalIndex,
        dense: DenseIndex | None,
        encoder,
        manifest: dict,
        restorer: DiacriticRestorer | None = None,
        models: RankingModels | None = None,
    ):
        self.directory = directory
        self.restorer = restorer
        self._procedures = procedures
        self._by_code = {p.code: i for i, p in enumerate(procedures)}
        self.lexical = lexical
        self.dense = dense if encoder is not None else None
        self.encoder = encoder
        self.manifest = manifest
        self._query_cache: dict[str, np.ndarray] = {}
        self._prior = INDIVIDUAL_PRIOR * np.array([_for_individuals(p) for p in procedures], dtype=np.float32)
        self._markers = [title_markers(p.title) for p in procedures]
        self.models = models
        self._record_facts: _RecordFacts | None = None  # built on first learned search

    # ---- construction -------------------------------------------------------------------------

    @staticmethod
    def exists(data_dir: Path) -> bool:
        """Whether an active index exists under data_dir (open() would find one)."""
        return (index_dir(data_dir) / "manifest.json").exists()

    @staticmethod
    def is_current(data_dir: Path) -> bool:
        """Whether the active index was built with this version's INDEX_FORMAT."""
        try:
            manifest = json.loads((index_dir(data_dir) / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(manifest, dict) and manifest.get("format") == INDEX_FORMAT

    @classmethod
    def rebuild(cls, data_dir: Path, model_path: Path | None, progress: bool = True) -> KnowledgeBase:
        """Index the active index's own records again (after an upgrade changed INDEX_FORMAT).

        Unchanged records keep their dense vectors (content hash), so this is BM25 and the restorer only."""
        return cls.build(indexed_procedures(data_dir), data_dir, model_path, progress=progress)

    @classmethod
    def open(cls, data_dir: Path, model_path: Path | None = None, threads: int = 2) -> KnowledgeBase:
        """Load the active index. Dense search needs `model_path`; without it search is BM25 only."""
        link = index_dir(data_dir)
        if not (link / "manifest.json").exists():
            raise KnowledgeBaseError(f"no knowledge-base index in {link}: run `tthc kb import PATH` first")
        directory = link.resolve()
        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            procedures = _read_catalog(directory / "catalog.jsonl")
            lexical = LexicalIndex.load(directory, procedures)
            dense = DenseIndex.load(directory)
            restorer = DiacriticRestorer.load(directory)
            models = RankingModels.load(directory)
        except (OSError, ValueError, KeyError) as exc:
            raise KnowledgeBaseError(
                f"knowledge-base index in {link} is unreadable ({exc}): rebuild it with `tthc kb import PATH`"
            ) from exc
        encoder = None
        if model_path is not None and dense is not None:
            if not Path(model_path).exists():
                log.warning("embedding model %s missing: searching with BM25 only", model_path)
            else:
                encoder = load_encoder(Path(model_path), threads)
        if models is None and encoder is not None:
            log.warning(
                "index %s has no trained ranking models: using the hand-tuned ranking; run `tthc kb train`", link
            )
        return cls(directory, procedures, lexical, dense, encoder, manifest, restorer, models)

    @property
    def learned(self) -> bool:
        """Whether searches use the catalogue's trained models (they need the embedding model)."""
        return self.models is not None and self.encoder is not None and self.dense is not None

    @classmethod
    def build(
        cls,
        procedures: list[Procedure],
        data_dir: Path,
        model_path: Path | None,
        progress: bool = True,
        threads: int = 2,
        train: bool = True,
    ) -> KnowledgeBase:
        """Index `procedures` into a fresh build directory and make it the active one atomically.

        Dense vectors of records whose content hash is unchanged are reused from the active build.
        With the embedding model and `train`, the build also trains its ranking models
        (knowledge_base.training) on questions generated from these records.
        """
        if not procedures:
            raise KnowledgeBaseError("no procedures to index: check the catalogue path")
        procedures = _unique_by_code(procedures)
        data_dir = Path(data_dir)
        builds = data_dir / BUILDS_DIR
        builds.mkdir(parents=True, exist_ok=True)
        target = builds / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        target.mkdir()
        started = time.monotonic()
        lexical = LexicalIndex.build(procedures)
        lexical.save(target)
        restorer = DiacriticRestorer.build([text for p in procedures for text in (p.title, p.field, *p.keywords)])
        restorer.save(target)
        dense = encoder = None
        embedded = 0
        if model_path is not None:
            encoder = load_encoder(Path(model_path), threads)
            previous = _active_dense(data_dir)
            bar = _progress_bar(len(procedures), "embedding") if progress else None
            dense, embedded = DenseIndex.build(
                procedures,
                encoder,
                model_id=Path(model_path).name,
                previous=previous,
                progress=bar.update if bar else None,
            )
            if bar:
                bar.close()
            dense.save(target)
        _write_catalog(target / "catalog.jsonl", procedures)
        models = None
        if train and dense is not None:
            from knowledge_base.labelled import read_labelled
            from knowledge_base.training import train_models

            unranked = cls(target, procedures, lexical, dense, encoder, {}, restorer)
            try:
                models = train_models(unranked, progress=progress, labelled=read_labelled(data_dir))
            except KnowledgeBaseError as error:  # a tiny catalogue: the untrained ranking serves it
                log.warning("%s", error)
            else:
                models.save(target)
        manifest = {
            "format": INDEX_FORMAT,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "procedures": len(procedures),
            "model": Path(model_path).name if model_path is not None else None,
            "embedded": embedded,
            "models": models.info if models is not None else None,
            "build_seconds": round(time.monotonic() - started, 1),
        }
        (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _activate(data_dir, target)
        return cls(target, procedures, lexical, dense, encoder, manifest, restorer, models)

    # ---- queries ------------------------------------------------------------------------------

    def procedures(self) -> list[Procedure]:
        return list(self._procedures)

    def get(self, code: str) -> Procedure | None:
        i = self._by_code.get(code.strip()) if code else None
        return self._procedures[i] if i is not None else None

    def facets(self) -> dict[str, list[str]]:
        """Values to filter on, each sorted: levels and online as enum values, fields and agencies as text."""
        levels = {level.value for p in self._procedures for level in p.levels}
        return {
            "levels": [lv.value for lv in LEVEL_LABELS if lv.value in levels],
            "fields": sorted({p.field for p in self._procedures if p.field}),
            "agencies": sorted({a for p in self._procedures for a in p.agencies if a}),
            "online": [o.value for o in ONLINE_LABELS if any(p.online == o for p in self._procedures)],
        }

    @property
    def has_dense(self) -> bool:
        return self.dense is not None

    def search(
        self, query: str, top_k: int = 5, filters: SearchFilters | None = None, system: str = "hybrid"
    ) -> SearchResponse:
        top_k = max(1, int(top_k))
        # ---- English questions (issue 15, item 6): their own reading and decision, knowledge_base.english ----
        if system == "hybrid" and english.is_english(query):
            return english.search(self, query, top_k, filters)
        if system == "hybrid" and self.learned:
            return self._learned_search(query, top_k, filters)
        candidates, signals = self.rank(query, filters, system)
        decision = decide(candidates, signals)
        scope = Scope.catalogue if decision != Decision.abstain else administrative_scope(candidates, signals)
        hits = [
            SearchHit(
                code=self._procedures[c.index].code, title=self._procedures[c.index].title, score=round(c.score, 4)
            )
            for c in candidates[:top_k]
        ]
        return SearchResponse(query=query, decision=decision, results=hits, scope=scope)

    # ---- learned ranking and decision (knowledge_base.ranking) --------------------------------

    def _learned_search(self, query: str, top_k: int, filters: SearchFilters | None) -> SearchResponse:
        pool = self.pool(query, filters)
        judged = self.judge(pool)
        shown = judged.order[: judged.offered] if judged.decision == Decision.clarify else judged.order[:top_k]
        hits = [
            SearchHit(
                code=self._procedures[pool.indices[i]].code,
                title=self._procedures[pool.indices[i]].title,
                score=round(float(judged.shares[n]), 4),
            )
            for n, i in enumerate(shown)
        ]
        return SearchResponse(query=query, decision=judged.decision, results=hits, scope=judged.scope)

    def pool(self, query: str, filters: SearchFilters | None = None) -> Pool:
        """Retrieve the candidate pool of a question and compute every candidate's features."""
        question = self.read_question(query)
        vector = self._query_vector(question.embedded) if query.strip() else None
        return self.pool_from(question, self.lexical.scores(question.terms), vector, self._filter_mask(filters))

    def read_question(self, query: str) -> _QuestionView:
        """What retrieval reads of a question: content words, BM25 terms, the text to embed."""
        prepared = prepare_query(query)
        literal = typed_with_diacritics(normalize(query))  # decided on what was typed, not the expansions
        return _QuestionView.of(prepared, literal, bounded_query(self._accented(prepared, literal)))

    def embed_questions(self, questions: list[_QuestionView]) -> np.ndarray:
        """Embeddings of many questions at once (training): the same vectors a search computes."""
        return normalized_rows(self.encoder.encode_queries([q.embedded for q in questions]))

    def pool_from(
        self, question: _QuestionView, lexical: np.ndarray, vector: np.ndarray | None, mask: np.ndarray
    ) -> Pool:
        facts = self._facts()
        dense = self.dense.scores(vector) if vector is not None else np.zeros(len(self._procedures), dtype=np.float32)
        fused = _fuse(lexical, dense, "hybrid")
        fused = np.where(mask, fused, -np.inf)
        order = np.argsort(-fused, kind="stable")[:CANDIDATES]
        indices = [int(i) for i in order if np.isfinite(fused[i]) and fused[i] > 0]
        n_words = len(question.content)
        words = question.words
        known = self.lexical.known_share(question.content)
        lexical_masked = np.where(mask, lexical, 0.0)
        dense_masked = np.where(mask, dense, -1.0)
        lexical_top = float(lexical_masked.max()) if lexical_masked.size else 0.0
        dense_top = float(dense_masked.max()) if dense_masked.size else 0.0
        lexical_rank = _ranks(lexical_masked, indices)
        dense_rank = _ranks(dense_masked, indices)
        top_fields = [self._procedures[i].field for i in indices[:RESULTS_KEPT]]
        question_bigrams = set(bigrams(question.content))
        content = question.content
        rows = []
        for i in indices:
            field = self._procedures[i].field
            precision = self.lexical.title_precision(i, words)
            unasked = unmentioned(self._markers[i], question.said, question.literal)
            rows.append(
                (
                    float(lexical[i]) / lexical_top if lexical_top > 0 else 0.0,
                    math.log1p(float(lexical[i]) / max(n_words, 1)),
                    math.log1p(lexical_rank[i]),
                    float(dense[i]),
                    dense_top - float(dense[i]),
                    math.log1p(dense_rank[i]),
                    float(fused[i]),
                    float(fused[i])
                    + float(self._prior[i])
                    + TITLE_PRECISION_WEIGHT * precision
                    - VARIANT_PENALTY * unasked,
                    precision,
                    _coverage(content, self.lexical.title_terms[i]),
                    _coverage(content, facts.record_words[i]),
                    (len(facts.title_bigrams[i] & question_bigrams) / len(facts.title_bigrams[i]))
                    if facts.title_bigrams[i]
                    else 0.0,
                    float(unasked),
                    float(len(self._markers[i])),
                    float(_for_individuals(self._procedures[i])),
                    float(len(self.lexical.title_words[i])),
                    float(facts.same_title[i]),
                    sum(1 for f in top_fields if f == field) / max(len(top_fields), 1),
                    *facts.levels[i],
                    float(n_words),
                    known,
                )
            )
        features = np.array(rows, dtype=np.float32).reshape(len(rows), len(CANDIDATE_FEATURES))
        agreement = 0.0
        if lexical_top > 0 and vector is not None:
            top = min(5, dense_masked.size - 1)
            agreement = float(
                int(np.argmax(lexical_masked)) in set(int(i) for i in np.argpartition(-dense_masked, top)[:5])
            )
        return Pool(
            indices=indices,
            features=features,
            vector=vector,
            bm25_best_per_word=math.log1p(lexical_top / max(n_words, 1)),
            dense_best=dense_top,
            dense_gap=_dense_gap(dense_masked) or 0.0,
            agreement=agreement,
            empty=n_words == 0,
        )

    def judge(self, pool: Pool) -> Judgement:
        """Order the pool with the ranker, then answer / ask back / abstain with the decision models."""
        models = self.models
        elsewhere = Scope.administrative if models.administrative(pool.vector) else Scope.off_topic
        if not pool.indices or pool.empty:
            return Judgement([], np.zeros(0), Decision.abstain, elsewhere, 0.0, 0.0, 0)
        rank_scores = models.ranker.predict(pool.features)
        order = np.argsort(-rank_scores, kind="stable")
        fields = [self._procedures[i].field for i in pool.indices]
        row = question_features(
            pool.features,
            rank_scores,
            order,
            fields,
            pool.bm25_best_per_word,
            pool.dense_best,
            pool.dense_gap,
            pool.agreement,
            models.scope.score(pool.vector),
            models.topic.score(pool.vector),
        )[None, :]
        answerable = float(models.answerable.predict(row)[0])
        top_right = float(models.top_right.predict(row)[0])
        shares = softmax(rank_scores[order])
        if answerable < models.answerable_threshold:
            return Judgement(list(order), shares, Decision.abstain, elsewhere, answerable, top_right, 0)
        if top_right >= TOP_RIGHT_THRESHOLD:
            return Judgement(list(order), shares, Decision.answer, Scope.catalogue, answerable, top_right, 1)
        # Unsure which: offer the candidates that hold most of the ranker's probability.
        offered = int(np.searchsorted(np.cumsum(shares), OFFER_MASS) + 1)
        offered = max(2, min(OFFER_MAX, offered, len(order)))
        return Judgement(list(order), shares, Decision.clarify, Scope.catalogue, answerable, top_right, offered)

    def _facts(self) -> _RecordFacts:
        if self._record_facts is None:
            self._record_facts = _RecordFacts.of(self._procedures)
        return self._record_facts

    def rank(
        self, query: str, filters: SearchFilters | None = None, system: str = "hybrid"
    ) -> tuple[list[Candidate], Signals]:
        """Ranked candidates (best first, at most RESULTS_KEPT) and the signals the decision uses."""
        if system not in SYSTEMS:
            raise KnowledgeBaseError(f"unknown search system {system!r}: use one of {', '.join(SYSTEMS)}")
        if system == "dense" and not self.has_dense:
            raise KnowledgeBaseError(
                "dense search needs the embedding model and a dense index: "
                "run `tthc kb import PATH` with the model in place"
            )
        if system == "hybrid" and not self.has_dense:
            system = "bm25"
        prepared = prepare_query(query)
        literal = typed_with_diacritics(normalize(query))  # decided on what was typed, not the expansions
        question = _QuestionView.of(prepared, literal)
        content = question.content
        lexical = self.lexical.scores(query_terms(prepared, literal))
        mask = self._filter_mask(filters)
        dense = None
        candidates = None
        if system == "hybrid" and DENSE_SKIP_GAP is not None:
            # Embedding the question is most of a hybrid search's time; when BM25 alone has a clear
            # winner that covers the question, dense retrieval would rarely change it.
            lexical_only = self._candidates(lexical, None, mask, "bm25", question)
            if _lexically_sure(lexical_only):
                system, candidates = "bm25", lexical_only
        vector = None
        if candidates is None:
            if system in ("dense", "hybrid"):
                vector = self._query_vector(bounded_query(self._accented(prepared, literal)))
            dense = self.dense.scores(vector) if vector is not None else None
            candidates = self._candidates(lexical, dense, mask, system, question)
        signals = Signals(
            system=system,
            content_size=len(content),
            known_share=self.lexical.known_share(content),
            lexical_top=float(lexical.max()) / max(len(content), 1) if lexical.size else 0.0,
            dense_top=float(dense.max()) if dense is not None else None,
            agreement=_agreement(lexical, dense),
            dense_gap=_dense_gap(dense),
            field_agreement=self._field_agreement(candidates),
            query_vector=vector,
        )
        return candidates, signals

    def _candidates(self, lexical, dense, mask, system: str, question: _QuestionView) -> list[Candidate]:
        """Fuse the retrievers' scores, re-rank the pool by title precision and unasked variant markers,
        keep the best RESULTS_KEPT."""
        fused = _fuse(lexical, dense, system)
        if system != "dense":  # dense-only stays the plain embedding baseline
            fused = np.where(fused > 0, fused + self._prior, fused)
        fused = np.where(mask, fused, -np.inf)
        pool = [
            int(i) for i in np.argsort(-fused, kind="stable")[:CANDIDATES] if np.isfinite(fused[i]) and fused[i] > 0
        ]
        words = question.words
        precision = {i: self.lexical.title_precision(i, words) for i in pool}
        if system != "dense":  # lexical evidence for "which of the matching titles": prefer the generic one
            rescored = {
                i: float(fused[i])
                + TITLE_PRECISION_WEIGHT * precision[i]
                - VARIANT_PENALTY * unmentioned(self._markers[i], question.said, question.literal)
                for i in pool
            }
        else:
            rescored = {i: float(fused[i]) for i in pool}
        order = sorted(pool, key=lambda i: -rescored[i])[:RESULTS_KEPT]
        return [
            Candidate(
                index=i,
                score=rescored[i],
                coverage=_coverage(question.content, self.lexical.title_terms[i]),
                precision=precision[i],
            )
            for i in order
        ]

    def clear_cache(self) -> None:
        """Forget cached query embeddings (for honest latency measurement)."""
        self._query_cache.clear()

    # ---- internals ----------------------------------------------------------------------------

    def _accented(self, prepared: str, literal: bool) -> str:
        """The query as the embedding model should read it: diacritics restored when typed without.

        A question typed with diacritics is left alone: its plain words are meant ("công an", not "công án").
        """
        return self.restorer.restore(prepared) if self.restorer is not None and not literal else prepared

    def _query_vector(self, prepared: str) -> np.ndarray:
        vector = self._query_cache.get(prepared)
        if vector is None:
            vector = encode_query(self.encoder, prepared)
            if len(self._query_cache) > 2048:
                self._query_cache.clear()
            self._query_cache[prepared] = vector
        return vector

    def _field_agreement(self, candidates: list[Candidate]) -> float:
        """Share of the close candidates in the best one's field (lĩnh vực): low when only generic words match.

        Close = scoring at least FIELD_AGREEMENT_SHARE of the best, so a small catalogue's weak matches
        (records that share one word with the question) do not count as disagreement."""
        if not candidates:
            return 0.0
        field = self._procedures[candidates[0].index].field
        close = [c for c in candidates if c.score >= FIELD_AGREEMENT_SHARE * candidates[0].score]
        return sum(1 for c in close if self._procedures[c.index].field == field) / len(close)

    def _filter_mask(self, filters: SearchFilters | None) -> np.ndarray:
        mask = np.ones(len(self._procedures), dtype=bool)
        if not filters:
            return mask
        agency = filters.agency.strip().lower()
        field = filters.field.strip().lower()
        for i, p in enumerate(self._procedures):
            if filters.levels and not set(filters.levels) & set(p.levels):
                mask[i] = False
            elif field and p.field.lower() != field:
                mask[i] = False
            elif agency and not any(agency in a.lower() for a in p.agencies):
                mask[i] = False
            elif filters.online and p.online not in filters.online:
                mask[i] = False
        return mask


_LEVEL_SUFFIX = re.compile(r"\((?:thực hiện )?(?:tại |ở )?cấp [^)]*\)", re.IGNORECASE)


def _ranks(scores: np.ndarray, indices: list[int]) -> dict[int, float]:
    """Rank (0 = best) of each of `indices` in `scores`, counted among the top 200 (else 200)."""
    top = np.argsort(-scores, kind="stable")[:200]
    position = {int(i): r for r, i in enumerate(top)}
    return {i: float(position.get(i, 200)) for i in indices}


def _fuse(lexical: np.ndarray, dense: np.ndarray | None, system: str) -> np.ndarray:
    """One score per record in [0, 1]: BM25 scaled by its top score, dense cosine rescaled, mixed."""
    top = float(lexical.max()) if lexical.size else 0.0
    lexical_scaled = lexical / top if top > 0 else lexical
    if system == "bm25" or dense is None:
        return lexical_scaled
    # Cosines of e5 sit in a narrow band (~0.7-0.9); rescale between the candidate floor and the best.
    best = float(dense.max())
    floor = float(np.partition(dense, -CANDIDATES)[-CANDIDATES]) if dense.size > CANDIDATES else float(dense.min())
    dense_scaled = np.clip((dense - floor) / max(best - floor, 1e-6), 0.0, 1.0)
    if system == "dense":
        return np.where(dense >= floor, dense, 0.0)
    return (1 - DENSE_WEIGHT) * lexical_scaled + DENSE_WEIGHT * dense_scaled


def _lexically_sure(candidates: list[Candidate]) -> bool:
    """BM25's best candidate covers the question and leads the next one by DENSE_SKIP_GAP."""
    if not candidates or candidates[0].coverage < DENSE_SKIP_COVERAGE:
        return False
    return len(candidates) == 1 or candidates[0].score - candidates[1].score >= DENSE_SKIP_GAP


def _dense_gap(dense: np.ndarray | None) -> float | None:
    """Best cosine minus the CANDIDATES-th best: high when a few records stand out from the rest."""
    if dense is None or dense.size <= CANDIDATES:
        return None
    top = np.partition(dense, [-1, -CANDIDATES])
    return float(top[-1] - top[-CANDIDATES])


def _agreement(lexical: np.ndarray, dense: np.ndarray | None) -> float | None:
    """1 when the best BM25 record is among dense retrieval's top 5, else 0 (None without dense)."""
    if dense is None or not lexical.size or lexical.max() <= 0:
        return None if dense is None else 0.0
    top_dense = np.argpartition(-dense, 5)[:5]
    return float(int(np.argmax(lexical)) in set(int(i) for i in top_dense))


def _for_individuals(procedure: Procedure) -> bool:
    """Whether the published audience includes individuals (not only organisations and businesses)."""
    audience = procedure.audience.lower()
    return any(word in audience for word in ("công dân", "cá nhân", "hộ gia đình"))


def _coverage(content: list[str], names: frozenset[str]) -> float:
    """Share of the query's content syllables found in a procedure's names."""
    if not content:
        return 0.0
    return sum(1 for s in content if s in names) / len(content)


def _unique_by_code(procedures: list[Procedure]) -> list[Procedure]:
    seen: set[str] = set()
    unique = []
    for p in procedures:
        if p.code not in seen:
            seen.add(p.code)
            unique.append(p)
    return unique


def indexed_procedures(data_dir: Path) -> list[Procedure]:
    """The records of the active index in `data_dir`, without opening its search indexes (cheap)."""
    catalog = index_dir(data_dir) / "catalog.jsonl"
    try:
        return _read_catalog(catalog)
    except (OSError, ValueError) as exc:
        raise KnowledgeBaseError(
            f"no readable catalogue index at {catalog} ({exc}): "
            "run `tthc kb import PATH` with TTHC_CATALOG__DATA_DIR set to that directory"
        ) from exc


def _read_catalog(path: Path) -> list[Procedure]:
    with path.open(encoding="utf-8") as handle:
        return [Procedure.model_validate_json(line) for line in handle if line.strip()]


def _write_catalog(path: Path, procedures: list[Procedure]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for p in procedures:
            handle.write(p.model_dump_json() + "\n")


def _active_dense(data_dir: Path) -> DenseIndex | None:
    link = index_dir(data_dir)
    try:
        return DenseIndex.load(link.resolve()) if (link / "manifest.json").exists() else None
    except (OSError, ValueError, RuntimeError):
        return None  # unreadable previous build: embed everything again


def _activate(data_dir: Path, target: Path) -> None:
    """Repoint <data_dir>/kb to `target` atomically (rename of a fresh symlink), prune old builds."""
    link = index_dir(data_dir)
    if link.exists() and not link.is_symlink():  # a plain directory from elsewhere: move it aside
        link.rename(data_dir / BUILDS_DIR / f"legacy-{time.time_ns()}")
    temp = data_dir / f".kb-link-{os.getpid()}"
    if temp.is_symlink() or temp.exists():
        temp.unlink()
    temp.symlink_to(Path(BUILDS_DIR) / target.name)
    os.replace(temp, link)
    builds = sorted((p for p in (data_dir / BUILDS_DIR).iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in builds[:-KEEP_BUILDS]:
        if old.resolve() != target.resolve():
            shutil.rmtree(old, ignore_errors=True)


def _progress_bar(total: int, label: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="rec", file=sys.stderr, disable=not sys.stderr.isatty())
