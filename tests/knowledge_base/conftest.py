"""Shared fixtures: the seed catalogue, a BM25 index of it, and a counting fake encoder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
SEED_CATALOG = ROOT / "knowledge_base" / "catalog"
SEED_DEVSET = ROOT / "knowledge_base" / "devset" / "seed.jsonl"


@pytest.fixture(scope="session")
def seed_procedures():
    return load_catalog(SEED_CATALOG).procedures


@pytest.fixture(scope="session")
def seed_kb(seed_procedures, tmp_path_factory) -> KnowledgeBase:
    """BM25-only index of the seed catalogue (no model needed)."""
    return KnowledgeBase.build(seed_procedures, tmp_path_factory.mktemp("seed-kb"), None, progress=False)


class CountingEncoder:
    """Deterministic stand-in for the e5 encoder: vectors from text hashes; counts passages embedded."""

    dimension = 16

    def __init__(self):
        self.passages_embedded = 0

    def _vectors(self, texts):
        rows = []
        for text in texts:
            seed = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)
            rows.append(np.random.default_rng(seed).standard_normal(self.dimension))
        vectors = np.array(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode_passages(self, texts):
        self.passages_embedded += len(texts)
        return self._vectors(texts)

    def encode_queries(self, texts):
        return self._vectors(texts)


@pytest.fixture
def counting_encoder(monkeypatch, tmp_path):
    """Patch the store's encoder loader; returns (encoder, a model path that exists)."""
    encoder = CountingEncoder()
    monkeypatch.setattr("knowledge_base.store.load_encoder", lambda path, threads=2: encoder)
    model_dir = tmp_path / "fake-model"
    model_dir.mkdir()
    return encoder, model_dir
