"""Liveness and readiness for the start script and monitoring."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assistant.app.server.deps import get_kb
from knowledge_base.errors import KnowledgeBaseError

router = APIRouter(tags=["health"])


@router.get("/health", summary="Is the app server up and is the catalogue loaded?")
def health() -> JSONResponse:
    try:
        procedures = len(get_kb().procedures())
    except KnowledgeBaseError as exc:
        return JSONResponse({"status": "degraded", "catalog": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "procedures": procedures})
