"""FastAPI application factory: one app serves the actions, the API and the pages."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from assistant.app.knowledge_provider import provider, run_blocking
from assistant.app.server.security import install_security
from assistant.core.logging_setup import install_pii_log_masking
from assistant.core.settings import Settings, load_settings
from knowledge_base.errors import KnowledgeBaseError

logger = logging.getLogger(__name__)

# Each module exposes `router`; add a line here when a resource gets its own router.
ROUTER_MODULES = (
    "assistant.app.server.routers.health",
    "assistant.app.server.routers.actions",
    "assistant.app.server.routers.procedures",
    "assistant.app.server.routers.staff",
    "assistant.app.server.routers.staff_dashboard",
    "assistant.app.server.routers.staff_handoffs",
    "assistant.app.server.routers.learning",
    "assistant.app.server.routers.webchat",
    "assistant.app.server.routers.admin",
    "assistant.app.server.routers.metrics",
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up: open the knowledge base with the app's settings (off the event loop), so the first question
    does not wait for the index and the embedding model. A missing index is logged, not fatal: /health says
    "degraded" with the fix, and /admin/reload opens it once it is built."""
    provider.configure(app.state.settings)
    try:
        kb = await run_blocking(provider.get)
        logger.info("knowledge base opened: %d procedures", len(kb.procedures()))
    except KnowledgeBaseError as error:
        logger.warning("knowledge base not opened: %s", error)
    yield
    provider.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app server; `settings` default to the files and environment (load_settings()), read once here."""
    settings = settings or load_settings()
    app = FastAPI(
        title="Trợ lý TTHC",
        description="Custom actions for Rasa, procedure search API and web pages.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings  # routers read it through deps.app_settings
    if settings.privacy.mask_logs:
        install_pii_log_masking()
    # Before CORS, so CORS stays outermost and 413/429 answers still carry CORS headers.
    install_security(app, settings)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.server.allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
    )
    for module_name in ROUTER_MODULES:
        app.include_router(importlib.import_module(module_name).router)
    return app
