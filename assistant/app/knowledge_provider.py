"""The app server's one knowledge base: opened at start-up, reopened by /admin/reload, shared by actions and routers.

The FastAPI lifespan (`assistant/app/server/app.py`) configures the provider with the app's settings and opens the
index; routers reach it through the dependencies in `assistant/app/server/deps.py` and the custom actions
through `assistant/app/actions/common.py`. It lives outside the web layer so the actions never import
`assistant.app.server`. Blocking calls on the knowledge base (search, scope check) made from async code go through
`run_blocking`, off the event loop.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread

from assistant.core.settings import Settings, get_settings
from knowledge_base.store import KnowledgeBase

logger = logging.getLogger(__name__)

T = TypeVar("T")


class KnowledgeBaseProvider:
    """Holds the opened KnowledgeBase (the index is read-only while serving); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kb: KnowledgeBase | None = None
        self._settings: Settings | None = None

    def configure(self, settings: Settings | None) -> None:
        """Use these settings for the next open (the app's own; without it, the process-wide settings)."""
        with self._lock:
            self._settings = settings

    def settings(self) -> Settings:
        """The app's settings, handed over by the lifespan with the knowledge base (the process-wide settings
        when no app configured the provider: tests and scripts that drive the actions directly)."""
        return self._settings or get_settings()

    def get(self) -> KnowledgeBase:
        """The knowledge base, opened on first use; raises KnowledgeBaseError (one line) when it cannot open."""
        kb = self._kb
        if kb is not None:
            return kb
        with self._lock:
            if self._kb is None:
                settings = self.settings()
                self._kb = KnowledgeBase.open(
                    settings.data_dir, settings.embedding_model_path, threads=settings.embedding.threads
                )
            return self._kb

    def current(self) -> KnowledgeBase | None:
        """The opened knowledge base, or None; never opens one (metrics, status)."""
        return self._kb

    def reopen(self) -> KnowledgeBase:
        """Forget the opened index and open the active one again (after a re-import)."""
        self.reset()
        return self.get()

    def reset(self) -> None:
        """Forget the opened knowledge base (the next `get` opens it again)."""
        with self._lock:
            self._kb = None

    def close(self) -> None:
        """Forget the knowledge base and the settings (app shut-down)."""
        with self._lock:
            self._kb = None
            self._settings = None

    def use(self, kb: KnowledgeBase | None) -> None:
        """Serve this knowledge base (tests, scripts that built one in memory)."""
        with self._lock:
            self._kb = kb


provider = KnowledgeBaseProvider()


async def run_blocking(function: Callable[..., T], *args, **kwargs) -> T:
    """Run a blocking call (search, scope check, catalogue read) in a worker thread, off the event loop."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
