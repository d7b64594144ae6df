"""Staff lookup page (/staff) and, for the staff view, the bot's hand-offs, feedback and handled messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response

from assistant.app import conversation_log, interaction_log
from assistant.app.handoff_desk import conversation_ref
from assistant.app.server.api_models import ApiError, Feedback, Handoff, Interaction, InteractionOutcome
from assistant.app.server.deps import app_settings
from assistant.app.server.pages import listed_file, script_config
from assistant.app.server.security import require_admin_token
from assistant.core.settings import Settings

router = APIRouter(tags=["staff"])

STAFF_WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "staff"
STAFF_ASSETS = {
    "staff.css": "text/css",
    "staff.js": "text/javascript",
    "learning.js": "text/javascript",
    "learning.css": "text/css",  # unanswered questions, labels
    "dashboard.js": "text/javascript",
    "handoffs.js": "text/javascript",
    "desk.css": "text/css",
}


@router.get("/staff", include_in_schema=False)
def staff_page() -> FileResponse:
    return FileResponse(STAFF_WEB_DIR / "index.html", media_type="text/html")


@router.get("/staff/config.js", include_in_schema=False)
def staff_config(settings: Settings = Depends(app_settings)) -> Response:
    return script_config(
        "TTHC_STAFF_CONFIG",
        {
            "provinceName": settings.province.name,
            "provincePortalUrl": settings.province.portal_url,
            "hotline": settings.province.hotline,
            "oneStopAddress": settings.province.one_stop_address,
        },
    )


@router.get("/staff/assets/{name}", include_in_schema=False)
def staff_asset(name: str) -> Response:
    return listed_file(STAFF_WEB_DIR, name, STAFF_ASSETS, with_helpers=frozenset({"staff.js"}))


# Hand-offs and feedback hold what citizens wrote: staff only (admin token, see assistant/app/server/security.py).
STAFF_ONLY = {
    "dependencies": [Depends(require_admin_token)],
    "responses": {401: {"model": ApiError}, 403: {"model": ApiError}, 503: {"model": ApiError}},
}


@router.get(
    "/api/staff/handoffs",
    response_model=list[Handoff],
    summary="Conversations the bot flagged for a human",
    **STAFF_ONLY,
)
def handoffs(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Handoff]:
    return [
        Handoff.model_validate(_referenced(record.as_dict())) for record in conversation_log.list_handoffs(limit=limit)
    ]


@router.get(
    "/api/staff/feedback",
    response_model=list[Feedback],
    summary="Citizens' feedback on the bot's answers",
    **STAFF_ONLY,
)
def feedback(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Feedback]:
    return [
        Feedback.model_validate(_referenced(record.as_dict())) for record in conversation_log.list_feedback(limit=limit)
    ]


@router.get(
    "/api/staff/interactions",
    response_model=list[Interaction],
    summary="Messages the assistant handled, with what it did (newest first)",
    **STAFF_ONLY,
)
def interactions(
    since: Annotated[date | None, Query(description="From this day (Vietnam time), inclusive")] = None,
    until: Annotated[date | None, Query(description="Up to this day (Vietnam time), inclusive")] = None,
    outcome: Annotated[InteractionOutcome | None, Query(description="Only this outcome")] = None,
    channel: Annotated[str | None, Query(max_length=40, description="Only this channel (rest, zalo, ...)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Interaction]:
    records = interaction_log.list_interactions(
        since=since, until=until, outcome=outcome.value if outcome else None, channel=channel or None, limit=limit
    )
    return [Interaction.model_validate(_referenced(record.as_dict())) for record in records]


def _referenced(row: dict) -> dict:
    """The row with its channel's conversation id replaced by a short stable reference (handoff_desk)."""
    sender_id = row.pop("sender_id")
    return row | {"conversation": conversation_ref(row.get("channel") or "", sender_id)}
