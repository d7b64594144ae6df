"""Helpers for the static pages the app server serves."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, Response

from assistant.settings import Settings, get_settings


def app_settings(request: Request) -> Settings:
    """The settings the app was created with (create_app(settings)), else the process-wide ones."""
    return getattr(request.app.state, "settings", None) or get_settings()


def script_config(variable: str, values: dict[str, Any]) -> Response:
    """A tiny JS file that hands server settings to a static page (JSON, with `</` made inert)."""
    payload = json.dumps(values, ensure_ascii=False).replace("</", "<\\/")
    return Response(
        f"window.{variable} = {payload};\n",
        media_type="text/javascript",
        headers={"Cache-Control": "no-store"},
    )


def listed_file(directory: Path, name: str, media_types: dict[str, str], headers: dict[str, str] | None = None) -> FileResponse:
    """Serve `name` from `directory` only if it is one of the listed files (404 otherwise).

    The list is fixed in code, so no path taken from the URL ever reaches the file system.
    """
    if name not in media_types:
        raise HTTPException(status_code=404, detail="Không có tệp này.")
    return FileResponse(directory / name, media_type=media_types[name], headers=headers)
