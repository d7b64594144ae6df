"""Make sure an index of the catalogue exists: the shipped seed catalogue on a fresh machine."""
from __future__ import annotations

from pathlib import Path

from assistant.settings import Settings
from knowledge_base.embedding import ensure_model
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase


def ensure_embedding_model(settings: Settings) -> Path:
    return ensure_model(settings.resolve(settings.embedding.model_path))


def ensure_index(settings: Settings) -> KnowledgeBase:
    """Open the active index; build it from the seed catalogue when there is none yet."""
    data_dir = settings.resolve(settings.catalog.data_dir)
    model_path = settings.resolve(settings.embedding.model_path)
    if KnowledgeBase.exists(data_dir):
        return KnowledgeBase.open(data_dir, model_path)
    seed = settings.resolve(settings.catalog.seed_path)
    print(f"==> Building the catalogue index from the seed catalogue {seed}", flush=True)
    report = load_catalog(seed)
    return KnowledgeBase.build(report.procedures, data_dir, model_path, progress=True)
