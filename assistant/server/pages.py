"""Helpers for the static pages the app server serves."""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

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
