"""Make sure an index of the catalogue exists: the shipped seed catalogue on a fresh machine."""

from __future__ import annotations

from pathlib import Path

from assistant.core.settings import Settings
from knowledge_base.embedding import ensure_model
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase


def ensure_embedding_model(settings: Settings) -> Path:
    return ensure_model(settings.embedding_model_path)


def ensure_index(settings: Settings) -> None:
    """Build the index from the seed catalogue when no index is active yet, and rebuild an index an
    older version built (its own records, so an imported national catalogue stays).

    A current index is left unopened: the app server loads it, the launcher need not hold the
    embedding model in memory for the whole session."""
    data_dir = settings.data_dir
    if KnowledgeBase.exists(data_dir):
        if not KnowledgeBase.is_current(data_dir):
            print(
                "==> The catalogue index was built by an older version: rebuilding it from its own records", flush=True
            )
            KnowledgeBase.rebuild(data_dir, settings.embedding_model_path, progress=True)
        return
    seed = settings.resolve(settings.catalog.seed_path)
    print(f"==> Building the catalogue index from the seed catalogue {seed}", flush=True)
    report = load_catalog(seed, settings.local_facts_path)
    if report.local_facts:
        print(f"==> Province facts {report.local_facts}: {len(report.local_overrides)} field(s) replaced", flush=True)
    KnowledgeBase.build(report.procedures, data_dir, settings.embedding_model_path, progress=True)
