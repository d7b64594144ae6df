"""Process-wide shared objects for the app server (FastAPI dependencies)."""
from __future__ import annotations

import threading

from assistant.settings import get_settings
from knowledge_base.store import KnowledgeBase

_lock = threading.Lock()
_kb: KnowledgeBase | None = None


def get_kb() -> KnowledgeBase:
    """The active knowledge base, opened once per process (the index is read-only while serving)."""
    global _kb
    if _kb is None:
        with _lock:
            if _kb is None:
                settings = get_settings()
                _kb = KnowledgeBase.open(
                    settings.data_dir, settings.embedding_model_path, threads=settings.embedding.threads
                )
    return _kb


def reset_kb() -> None:
    """Forget the opened knowledge base (after a re-import, or in tests)."""
    global _kb
    with _lock:
        _kb = None
