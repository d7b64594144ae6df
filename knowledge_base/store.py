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
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge_base.decision import Candidate, Signals, administrative_scope, decide
from knowledge_base.dense import DenseIndex, bounded_query, encode_query, load_encoder
from knowledge_base.diacritics import DiacriticRestorer
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.lexical import LexicalIndex
from knowledge_base.schema import (
    LEVEL_LABELS,
    Decision,
    Scope,
    ONLINE_LABELS,
    Procedure,
    SearchFilters,
    SearchHit,
    SearchResponse,
)
from knowledge_base.text import content_syllables, normalize, prepare_query, query_terms, typed_with_diacritics
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
INDEX_FORMAT = 2
KEEP_BUILDS = 2  # previous build stays so a process that opened it can still read lazily


def index_dir(data_dir: Path) -> Path:
    return Path(data_dir) / KB_LINK


@dataclass(frozen=True)
class _QuestionView:
    """What the re-ranking reads of one question, derived once per search."""

    content: list[str]  # folded content syllables (text.content_syllables)
    said: str  # the question as variant cues are looked up in (variants.question_text)
    literal: bool  # typed with diacritics: plain words mean what they say

    @classmethod
    def of(cls, prepared: str, literal: bool) -> "_QuestionView":
        return cls(content_syllables(prepared, literal), question_text(prepared, literal), literal)

    @property
    def words(self) -> set[str]:
        return set(self.content)


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
    def rebuild(cls, data_dir: Path, model_path: Path | None, progress: bool = True) -> "KnowledgeBase":
        """Index the active index's own records again (after an upgrade changed INDEX_FORMAT).

        Unchanged records keep their dense vectors (content hash), so this is BM25 and the restorer only."""
        catalog = index_dir(data_dir) / "catalog.jsonl"
        try:
            procedures = _read_catalog(catalog)
        except (OSError, ValueError) as exc:
            raise KnowledgeBaseError(f"cannot rebuild the index from {catalog} ({exc}): run `tthc kb import PATH`") from exc
        return cls.build(procedures, data_dir, model_path, progress=progress)

    @classmethod
    def open(cls, data_dir: Path, model_path: Path | None = None, threads: int = 2) -> "KnowledgeBase":
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
        except (OSError, ValueError) as exc:
            raise KnowledgeBaseError(f"knowledge-base index in {link} is unreadable ({exc}): rebuild it with `tthc kb import PATH`") from exc
        encoder = None
        if model_path is not None and dense is not None:
            if not Path(model_path).exists():
                log.warning("embedding model %s missing: searching with BM25 only", model_path)
            else:
                encoder = load_encoder(Path(model_path), threads)
        return cls(directory, procedures, lexical, dense, encoder, manifest, restorer)

    @classmethod
    def build(
        cls,
        procedures: list[Procedure],
        data_dir: Path,
        model_path: Path | None,
        progress: bool = True,
        threads: int = 2,
    ) -> "KnowledgeBase":
        """Index `procedures` into a fresh build directory and make it the active one atomically.

        Dense vectors of records whose content hash is unchanged are reused from the active build.
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
                procedures, encoder, model_id=Path(model_path).name, previous=previous,
                progress=bar.update if bar else None,
            )
            if bar:
                bar.close()
            dense.save(target)
        _write_catalog(target / "catalog.jsonl", procedures)
        manifest = {
            "format": INDEX_FORMAT,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "procedures": len(procedures),
            "model": Path(model_path).name if model_path is not None else None,
            "embedded": embedded,
            "build_seconds": round(time.monotonic() - started, 1),
        }
        (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _activate(data_dir, target)
        return cls(target, procedures, lexical, dense, encoder, manifest, restorer)

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
        candidates, signals = self.rank(query, filters, system)
        decision = decide(candidates, signals)
        scope = Scope.catalogue if decision != Decision.abstain else administrative_scope(candidates, signals)
        hits = [
            SearchHit(code=self._procedures[c.index].code, title=self._procedures[c.index].title, score=round(c.score, 4))
            for c in candidates[:top_k]
        ]
        return SearchResponse(query=query, decision=decision, results=hits, scope=scope)

    def rank(self, query: str, filters: SearchFilters | None = None, system: str = "hybrid") -> tuple[list[Candidate], Signals]:
        """Ranked candidates (best first, at most RESULTS_KEPT) and the signals the decision uses."""
        if system not in SYSTEMS:
            raise KnowledgeBaseError(f"unknown search system {system!r}: use one of {', '.join(SYSTEMS)}")
        if system == "dense" and not self.has_dense:
            raise KnowledgeBaseError("dense search needs the embedding model and a dense index: run `tthc kb import PATH` with the model in place")
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
        pool = [int(i) for i in np.argsort(-fused, kind="stable")[:CANDIDATES] if np.isfinite(fused[i]) and fused[i] > 0]
        words = question.words
        precision = {i: self.lexical.title_precision(i, words) for i in pool}
        if system != "dense":  # lexical evidence for "which of the matching titles": prefer the generic one
            rescored = {i: float(fused[i]) + TITLE_PRECISION_WEIGHT * precision[i]
                        - VARIANT_PENALTY * unmentioned(self._markers[i], question.said, question.literal)
                        for i in pool}
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
