"""Helpers for the static pages the app server serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from fastapi.responses import FileResponse, Response


def script_config(variable: str, values: dict[str, Any]) -> Response:
    """A tiny JS file that hands server settings to a static page (JSON, with `</` made inert)."""
    payload = json.dumps(values, ensure_ascii=False).replace("</", "<\\/")
    return Response(
        f"window.{variable} = {payload};\n",
        media_type="text/javascript",
        headers={"Cache-Control": "no-store"},
    )


# The one copy of the DOM helpers (h, safeHttpUrl) the chat widget and the staff page share.
SHARED_SCRIPT = Path(__file__).resolve().parent / "web" / "shared" / "safe_dom.js"


def listed_file(
    directory: Path,
    name: str,
    media_types: dict[str, str],
    headers: dict[str, str] | None = None,
    with_helpers: frozenset[str] = frozenset(),
) -> Response:
    """Serve `name` from `directory` only if it is one of the listed files (404 otherwise).

    The list is fixed in code, so no path taken from the URL ever reaches the file system. A script named in
    `with_helpers` is served with the shared DOM helpers (web/shared/safe_dom.js) in front of it, as one file.
    """
    if name not in media_types:
        raise HTTPException(status_code=404, detail="Không có tệp này.")
    if name in with_helpers:
        body = SHARED_SCRIPT.read_text(encoding="utf-8") + "\n" + (directory / name).read_text(encoding="utf-8")
        return Response(body, media_type=media_types[name], headers=headers)
    return FileResponse(directory / name, media_type=media_types[name], headers=headers)
