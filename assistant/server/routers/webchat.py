"""Citizens' website chat: the full page (/chat), its settings, and the embeddable widget files."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from assistant.server.pages import app_settings, listed_file, script_config
from assistant.settings import Settings

router = APIRouter(tags=["webchat"])

WEBCHAT_DIR = Path(__file__).resolve().parents[3] / "connectors" / "webchat" / "static"
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
def widget_file(name: str) -> FileResponse:
    # Any site may embed the widget, so it is served with a permissive CORS header of its own.
    return listed_file(WEBCHAT_DIR, name, WIDGET_FILES,
                       headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"})
