"""Admin actions (token-protected): reload the catalogue after a re-import."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from assistant.app.knowledge_provider import provider
from assistant.app.server.deps import app_settings
from assistant.app.server.security import require_admin_token
from assistant.core.settings import Settings
from knowledge_base.errors import KnowledgeBaseError

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin_token)])


@router.post(
    "/reload",
    summary="Reopen the knowledge base so a re-imported index is served",
    responses={
        401: {"description": "No admin token"},
        403: {"description": "Wrong admin token"},
        503: {"description": "Admin disabled, or the new index cannot be opened"},
    },
)
def reload_catalog(settings: Settings = Depends(app_settings)) -> JSONResponse:
    provider.configure(settings)  # the index this app was started with (catalog.data_dir)
    try:
        procedures = len(provider.reopen().procedures())
    except KnowledgeBaseError as exc:
        return JSONResponse({"status": "error", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "reloaded", "procedures": procedures})
