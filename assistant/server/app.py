"""FastAPI application factory: one app serves the actions, the API and the pages."""
from __future__ import annotations

import importlib

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from assistant.logging_setup import install_pii_log_masking
from assistant.server.security import install_security
from assistant.settings import Settings, get_settings

# Each module exposes `router`; add a line here when a resource gets its own router.
ROUTER_MODULES = (
    "assistant.server.routers.health",
    "assistant.server.routers.actions",
    "assistant.server.routers.procedures",
    "assistant.server.routers.staff",
    "assistant.server.routers.staff_dashboard",
    "assistant.server.routers.staff_handoffs",
    "assistant.server.routers.learning",
    "assistant.server.routers.webchat",
    "assistant.server.routers.admin",
    "assistant.server.routers.metrics",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Trợ lý TTHC",
        description="Custom actions for Rasa, procedure search API and web pages.",
        version="0.1.0",
    )
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
