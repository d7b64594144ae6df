"""Admin actions (token-protected): reload the catalogue after a re-import."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from assistant.server import deps
from assistant.server.security import require_admin_token
from knowledge_base.errors import KnowledgeBaseError

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin_token)])


@router.post(
    "/reload",
    summary="Reopen the knowledge base so a re-imported index is served",
    responses={401: {"description": "No admin token"}, 403: {"description": "Wrong admin token"},
               503: {"description": "Admin disabled, or the new index cannot be opened"}},
)
def reload_catalog() -> JSONResponse:
    deps.reset_kb()
    try:
        procedures = len(deps.get_kb().procedures())
    except KnowledgeBaseError as exc:
        return JSONResponse({"status": "error", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "reloaded", "procedures": procedures})
