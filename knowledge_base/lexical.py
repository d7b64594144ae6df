"""Field-weighted BM25 over diacritics-folded syllables and syllable bigrams.

Each field (title, aliases, context) is scored with its own length normalization and the per-field
BM25 term weights are summed with field weights (a BM25F-style mix). Because the mix is linear, the
whole index is one sparse doc x term matrix and a query is a column sum: ~1 ms for 2,600 records.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from knowledge_base.schema import Procedure
from knowledge_base.text import content_syllables, index_terms, normalize, syllables, written_abbreviations

K1 = 1.2
# Length normalization per field: a high value for titles prefers the generic procedure
# ("Đăng ký khai sinh") over its long special cases when the question names no special case.
B = {"title": 0.85, "aliases": 0.6, "context": 0.6, "details": 0.6}
# Title carries the procedure's name; aliases are everyday names/summary; context is lĩnh vực + result;
# details, weighted low, is the start of the conditions and steps: the situations citizens describe
# ("người đến lưu trú", "bản chính bị rách") that a title does not name. Dev tune split: weight 0.1
# beat 0.2-0.3 and 600-character excerpts. (Agencies and the first dossier documents as a weak
# fourth field did not help on the tune split.)
FIELD_WEIGHTS = {"title": 3.0, "aliases": 1.0, "context": 0.4, "details": 0.1}
DETAILS_CHARS = 300  # of the conditions and of the steps each: longer excerpts dilute the field


def procedure_fields(procedure: Procedure) -> dict[str, str]:
    """The text of each indexed field. Short fields only: whole records drown the title's signal."""
    return {
        # Abbreviations expanded as in questions, so "trách nhiệm hữu hạn" finds "công ty TNHH"
        # (dev: tune recall@5 +0.007, holdout hit@1 +0.007).
        "title": written_abbreviations().expand(normalize(procedure.title)),
        "aliases": " . ".join([*procedure.keywords, procedure.summary]),
        "context": " . ".join([procedure.field, procedure.result[:200]]),
        "details": " . ".join([procedure.conditions[:DETAILS_CHARS], procedure.steps[:DETAILS_CHARS]]),
    }


# Weight of the i-th title word is DECAY**i: 0.6 beat 0.7-0.9 on the dev tune split (hit@1 +0.03),
# because variants differ from the generic title in their first words ("Đăng ký lại khai tử").
TITLE_POSITION_DECAY = 0.6


def title_content(procedure: Procedure) -> tuple[str, ...]:
    """Content syllables of the title in order (question/function words removed), for title precision."""
    return tuple(dict.fromkeys(content_syllables(normalize(procedure.title))))


def naming_syllables(procedure: Procedure) -> frozenset[str]:
    """Folded syllables of the names a procedure goes by (title + everyday names)."""
    return frozenset(syllables(normalize(" ".join([procedure.title, *procedure.keywords]))))


@dataclass
class LexicalIndex:
    matrix: sparse.csc_matrix  # docs x terms, BM25 weights already field-weighted
    vocab: dict[str, int]
    title_terms: list[frozenset[str]]  # per doc: title + aliases syllables, for coverage signals
    title_words: list[tuple[str, ...]]  # per doc: title content syllables in order, for title precision

    def title_precision(self, doc: int, query_content: set[str]) -> float:
        """Share of the title's content syllables that the question mentions.

        Among titles that all match the question, the one with the fewest unmentioned words is the
        generic procedure ("Đăng ký thường trú" rather than "Xóa đăng ký thường trú"). Vietnamese
        titles put the action first and qualifiers after ("Cấp lại thẻ căn cước" vs "Cấp thẻ căn
        cước cho người dưới 14 tuổi"), so a word counts less the later it comes.
        """
        words = self.title_words[doc]
        if not words:
            return 0.0
        weights = [TITLE_POSITION_DECAY**i for i in range(len(words))]
        return sum(w for w, word in zip(weights, words, strict=True) if word in query_content) / sum(weights)

    @classmethod
    def build(cls, procedures: list[Procedure]) -> LexicalIndex:
        vocab: dict[str, int] = {}
        field_counts: dict[str, list[Counter]] = {name: [] for name in FIELD_WEIGHTS}
        title_terms: list[frozenset[str]] = []
        for procedure in procedures:
            fields = procedure_fields(procedure)
            for name in FIELD_WEIGHTS:
                terms = index_terms(fields[name])
                field_counts[name].append(Counter(terms))
                for term in terms:
                    vocab.setdefault(term, len(vocab))
            title_terms.append(naming_syllables(procedure))
        n_docs = len(procedures)
        # Document frequency over the union of fields, so IDF is shared across fields.
        df = np.zeros(len(vocab), dtype=np.float64)
        for i in range(n_docs):
            seen = set()
            for name in FIELD_WEIGHTS:
                seen.update(field_counts[name][i])
            for term in seen:
                df[vocab[term]] += 1
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        total = sparse.csr_matrix((n_docs, len(vocab)), dtype=np.float32)
        for name, weight in FIELD_WEIGHTS.items():
            counts = field_counts[name]
            lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
            avg = lengths.mean() if n_docs and lengths.mean() > 0 else 1.0
            rows, cols, vals = [], [], []
            for i, counter in enumerate(counts):
                norm = K1 * (1 - B[name] + B[name] * lengths[i] / avg)
                for term, tf in counter.items():
                    j = vocab[term]
                    rows.append(i)
                    cols.append(j)
                    vals.append(weight * idf[j] * tf * (K1 + 1) / (tf + norm))
            total = total + sparse.csr_matrix((vals, (rows, cols)), shape=(n_docs, len(vocab)), dtype=np.float32)
        return cls(
            matrix=total.tocsc(),
            vocab=vocab,
            title_terms=title_terms,
            title_words=[title_content(p) for p in procedures],
        )

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every document for weighted query terms."""
        known = [t for t in terms if t in self.vocab]
        if not known:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        cols = [self.vocab[t] for t in known]
        weights = np.array([terms[t] for t in known], dtype=np.float32)
        return np.asarray(self.matrix[:, cols] @ weights).ravel()

    def known_share(self, syllables: list[str]) -> float:
        """Share of query syllables that exist anywhere in the catalogue (out-of-domain signal)."""
        if not syllables:
            return 0.0
        return sum(1 for s in syllables if s in self.vocab) / len(syllables)

    def save(self, directory: Path) -> None:
        sparse.save_npz(directory / "bm25.npz", self.matrix.tocsr(), compressed=False)
        (directory / "bm25_vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, procedures: list[Procedure]) -> LexicalIndex:
        matrix = sparse.load_npz(directory / "bm25.npz").tocsc()
        vocab = json.loads((directory / "bm25_vocab.json").read_text(encoding="utf-8"))
        return cls(
            matrix=matrix,
            vocab=vocab,
            title_terms=[naming_syllables(p) for p in procedures],
            title_words=[title_content(p) for p in procedures],
        )
