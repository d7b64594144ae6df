"""Dense retrieval: e5 embeddings of short procedure texts in a faiss inner-product index.

A record is embedded as two short passages whose vectors are averaged: its names (title, everyday
names, field) and what it delivers (title, field, the start of the result). Whole records would take
minutes to embed and blur what the procedure is called; the result passage adds what citizens ask
for ("giấy chứng nhận ...", "được đổi tiền") at twice the embedding time. Dev set: dense-only
recall@5 0.875 -> 0.922, hybrid tune hit@1 0.790 -> 0.797. Vectors are cached per record by content
hash, so a rebuild embeds only new or changed records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.schema import Procedure

VECTORS_FILE = "dense.faiss"
HASHES_FILE = "dense_hashes.json"


PASSAGE_FORMAT = "names+result"  # part of each vector's cache key: a new format re-embeds everything
RESULT_CHARS = 120
_LEADING_THU_TUC = re.compile(r"^\s*thủ tục\s*:?\s*", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def passage_text(procedure: Procedure) -> str:
    """The names a procedure goes by."""
    parts = [procedure.title]
    if procedure.keywords:
        parts.append(", ".join(procedure.keywords))
    if procedure.field:
        parts.append(f"Lĩnh vực: {procedure.field}")
    return ". ".join(parts)


def result_passage_text(procedure: Procedure) -> str:
    """What the procedure is and delivers: title (without the "Thủ tục" prefix), field, start of the result."""
    parts = [_LEADING_THU_TUC.sub("", procedure.title), f"Lĩnh vực: {procedure.field}"]
    result = _SPACES.sub(" ", procedure.result).strip()[:RESULT_CHARS]
    if result:
        parts.append(f"Kết quả: {result}")
    return ". ".join(parts)


def passages(procedures: list[Procedure]) -> list[str]:
    """Both passages of each record, in pairs."""
    return [text for p in procedures for text in (passage_text(p), result_passage_text(p))]


def load_encoder(model_path: Path, threads: int):
    """The sentence-transformers e5 encoder (knowledge_base.embedding); one-line error when missing."""
    if not Path(model_path).exists():
        raise KnowledgeBaseError(f"embedding model not found at {model_path}: run `tthc up` to convert it")
    from knowledge_base.embedding import load_encoder as _load

    return _load(Path(model_path), threads)


def normalized_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class DenseIndex:
    def __init__(self, vectors: np.ndarray, hashes: list[str]):
        import faiss

        if not len(vectors):
            self.vectors = np.zeros((0, 384), dtype=np.float32)
        elif np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5):
            # Already unit length (a rebuild reuses stored vectors): normalizing again moves them by ~1e-8,
            # enough to change the trained decision models, so `tthc kb train` would not reproduce an import.
            self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        else:
            self.vectors = normalized_rows(vectors)
        self.hashes = hashes
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        if len(self.vectors):
            self.index.add(self.vectors)

    @classmethod
    def build(
        cls,
        procedures: list[Procedure],
        encoder,
        model_id: str,
        previous: DenseIndex | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[DenseIndex, int]:
        """Embed what changed since `previous`; returns the index and how many records were embedded."""
        hashes = [f"{model_id}:{PASSAGE_FORMAT}:{p.content_hash()}" for p in procedures]
        reusable: dict[str, np.ndarray] = {}
        if previous is not None:
            for h, vector in zip(previous.hashes, previous.vectors, strict=True):
                reusable[h] = vector
        todo = [i for i, h in enumerate(hashes) if h not in reusable]
        dim = previous.vectors.shape[1] if previous is not None and len(previous.vectors) else None
        new_vectors: dict[int, np.ndarray] = {}
        batch = 256  # large chunks: sentence-transformers sorts each chunk by length, so less padding
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            pairs = encoder.encode_passages(passages([procedures[i] for i in chunk]))
            encoded = normalized_rows(pairs[0::2] + pairs[1::2])  # mean direction of the two passages
            for i, vector in zip(chunk, encoded, strict=True):
                new_vectors[i] = vector
            dim = encoded.shape[1]
            if progress:
                progress(len(chunk))
        rows = [new_vectors[i] if i in new_vectors else reusable[h] for i, h in enumerate(hashes)]
        matrix = np.stack(rows) if rows else np.zeros((0, dim or 384), dtype=np.float32)
        return cls(matrix, hashes), len(todo)

    def scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of every record to one normalized query vector."""
        return self.vectors @ query_vector

    def save(self, directory: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(directory / VECTORS_FILE))
        (directory / HASHES_FILE).write_text(json.dumps(self.hashes), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> DenseIndex | None:
        import faiss

        if not (directory / VECTORS_FILE).exists():
            return None
        index = faiss.read_index(str(directory / VECTORS_FILE))
        vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), dtype=np.float32)
        hashes = json.loads((directory / HASHES_FILE).read_text(encoding="utf-8"))
        return cls(vectors, hashes)


# Embedding cost grows with the query's length (~35 ms for 50 words on 2 busy cores); portal questions
# can run to hundreds of words. Longer queries keep their opening (who and what) and their end (the
# question itself, which citizens put last); BM25 still reads every word. No dev or check-set
# question is this long, so the bound changes none of their results.
QUERY_WORDS = 80
QUERY_HEAD_WORDS = 25


def bounded_query(text: str) -> str:
    """At most QUERY_WORDS words of a query: the first QUERY_HEAD_WORDS and the last ones."""
    words = text.split(" ")
    if len(words) <= QUERY_WORDS:
        return text
    return " ".join(words[:QUERY_HEAD_WORDS] + words[-(QUERY_WORDS - QUERY_HEAD_WORDS) :])


def encode_query(encoder, prepared_query: str) -> np.ndarray:
    return normalized_rows(encoder.encode_queries([prepared_query]))[0]
