"""FastAPI dependencies: the app's settings and its knowledge base.

`create_app()` stores the Settings it was built with on `app.state.settings`; the lifespan opens the knowledge
base through the process's provider (`assistant/app/knowledge_provider.py`, shared with the custom actions).
Routers take them with `Depends(app_settings)` and `get_kb()` (each router answers a missing index in its own
words, e.g. a 503 naming the fix).
"""

from __future__ import annotations

from fastapi import Request

from assistant.app.knowledge_provider import provider
from assistant.core.settings import Settings
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.store import KnowledgeBase


def app_settings(request: Request) -> Settings:
    """The settings the app was created with (create_app(settings))."""
    return request.app.state.settings


def get_kb() -> KnowledgeBase:
    """The active knowledge base (opened in the lifespan, else on first use); raises KnowledgeBaseError."""
    return provider.get()


def kb_or_none() -> KnowledgeBase | None:
    """The active knowledge base, or None when it cannot be opened (the staff pages then group questions
    lexically and name no procedures; `assistant.app.unanswered.vectors_for`)."""
    try:
        return get_kb()
    except KnowledgeBaseError:
        return None


def reset_kb() -> None:
    """Forget the opened knowledge base (after a re-import, or in tests)."""
    provider.reset()
