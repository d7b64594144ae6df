"""Citizens' website chat: the full page (/chat), its settings, the embeddable widget files, and the
printable checklist a chat answer links to (/checklist/<code>)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response

from assistant.app import local_directory
from assistant.app.answers import CHECKLIST_COMMUNE_PARAM
from assistant.app.server.checklist import checklist_page, not_found_page
from assistant.app.server.deps import app_settings, get_kb
from assistant.app.server.pages import listed_file, script_config
from assistant.app.server.routers.procedures import CODE_PATTERN, portal_url
from assistant.core.settings import Settings
from knowledge_base.errors import KnowledgeBaseError

router = APIRouter(tags=["webchat"])

WEBCHAT_DIR = Path(__file__).resolve().parents[4] / "connectors" / "webchat" / "static"
WIDGET_FILES = {"widget.js": "text/javascript", "widget.css": "text/css"}


@router.get("/chat", include_in_schema=False)
def chat_page() -> FileResponse:
    return FileResponse(WEBCHAT_DIR / "chat.html", media_type="text/html")


@router.get("/chat/config.js", include_in_schema=False)
def chat_config(settings: Settings = Depends(app_settings)) -> Response:
    return script_config(
        "TTHC_CHAT_CONFIG",
        {
            "rasaUrl": settings.webchat.rasa_url or settings.server.rasa_url,
            "title": settings.webchat.title,
            "maxMessageChars": settings.webchat.max_message_chars,
            "provinceName": settings.province.name,
        },
    )


@router.get("/webchat/{name}", include_in_schema=False)
def widget_file(name: str) -> Response:
    # Any site may embed the widget, so it is served with a permissive CORS header of its own.
    return listed_file(
        WEBCHAT_DIR,
        name,
        WIDGET_FILES,
        with_helpers=frozenset({"widget.js"}),
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"},
    )


@router.get("/checklist/{code}", include_in_schema=False)
def checklist(
    code: Annotated[str, PathParam(pattern=CODE_PATTERN)],
    commune: Annotated[str, Query(alias=CHECKLIST_COMMUNE_PARAM, max_length=100)] = "",
    settings: Settings = Depends(app_settings),
) -> HTMLResponse:
    """Public, read-only: one catalogue record as a checklist to print or keep on the phone (no personal data).
    `?xa=`: a commune of the province's facts file, whose counter the page names (any other value is ignored)."""
    try:
        procedure = get_kb().get(code)
    except KnowledgeBaseError:
        return HTMLResponse(not_found_page(code), status_code=503, headers={"Retry-After": "60"})
    if procedure is None:
        return HTMLResponse(not_found_page(code), status_code=404)
    office = local_directory.commune_named_in(commune, settings) if commune.strip() else None
    return HTMLResponse(
        checklist_page(procedure, settings, portal_url(procedure, settings), commune=office),
        headers={"Cache-Control": "public, max-age=300"},
    )
