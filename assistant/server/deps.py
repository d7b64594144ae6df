"""Process-wide shared objects for the app server (FastAPI dependencies)."""
from __future__ import annotations

import threading

from assistant.settings import Settings, get_settings
from knowledge_base.store import KnowledgeBase

_lock = threading.Lock()
_kb: KnowledgeBase | None = None


def kb_data_dir(settings: Settings):
    return settings.resolve(settings.catalog.data_dir)


def get_kb() -> KnowledgeBase:
    """The active knowledge base, opened once per process (the index is read-only while serving)."""
    global _kb
    if _kb is None:
        with _lock:
            if _kb is None:
                settings = get_settings()
                _kb = KnowledgeBase.open(
                    kb_data_dir(settings), settings.resolve(settings.embedding.model_path)
                )
    return _kb


def reset_kb() -> None:
    """Forget the opened knowledge base (after a re-import, or in tests)."""
    global _kb
    with _lock:
        _kb = None
