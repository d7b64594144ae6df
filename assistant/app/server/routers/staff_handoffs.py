"""Hand-offs for staff (issue 14 item 6): open and handled hand-offs, marking them handled, replying to a
Zalo citizen through the Zalo connector's outbox (`assistant.app.handoff_desk`). Staff only (admin token).

The two POSTs change state, and a browser sends a staff member's HTTP Basic credentials with any request to
this origin, so they also refuse requests another site's page makes (`Origin` / `Sec-Fetch-Site`).
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from assistant.app import handoff_desk
from assistant.app.server.api_models import ApiError, HandoffMessage
from assistant.app.server.routers.staff import STAFF_ONLY
from assistant.core import storage

router = APIRouter(tags=["staff"])
logger = logging.getLogger(__name__)

WHO = (
    "Staff only: the admin token (TTHC_ADMIN_TOKEN) as HTTP Basic password, `Authorization: Bearer` or "
    "`X-Admin-Token`; without it 401, wrong 403, none configured 503."
)

HandoffId = Annotated[int, Path(ge=1, le=2**53, description="The hand-off's id (from the list)")]


def require_same_site(request: Request) -> None:
    """Refuse a state-changing request made by another site's page (the browser adds the staff credentials)."""
    if request.headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Yêu cầu gửi từ trang web khác bị từ chối; vui lòng thao tác trên trang cán bộ (/staff).",
        )
    origin = request.headers.get("origin")
    # Host names only: the reverse proxy passes `Host: $host`, without the public port the Origin carries.
    if origin and urlsplit(origin).hostname != urlsplit("//" + (request.headers.get("host") or "")).hostname:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Yêu cầu gửi từ trang web khác bị từ chối; vui lòng thao tác trên trang cán bộ (/staff).",
        )


STAFF_ACTION = {
    "dependencies": [*STAFF_ONLY["dependencies"], Depends(require_same_site)],
    "responses": {**STAFF_ONLY["responses"], 404: {"model": ApiError}},
}


class HandoffStatus(str, Enum):
    open = "open"
    handled = "handled"
    all = "all"


class StaffReplyOut(BaseModel):
    """A staff member's reply to the citizen (masked) and its delivery through the Zalo outbox."""

    id: int
    created_at: str
    text: str
    delivery: str = Field(
        description="sent (Zalo accepted it), waiting (in the outbox), failed (given up after "
        "too many attempts: see `tthc zalo outbox`), unknown (no outbox file)"
    )
    delivery_error: str = Field("", description="the last delivery error while waiting or failed")


class HandoffCaseOut(BaseModel):
    """A hand-off as staff handle it: the conversation (masked), its state and the replies sent."""

    id: int
    created_at: str
    channel: str
    conversation: str = Field(description="short hash of the conversation (never the Zalo user id)")
    status: str = Field(description="open | handled")
    handled_at: str | None
    can_reply: bool = Field(description="staff can write back (Zalo); a web chat is anonymous")
    messages: list[HandoffMessage]
    replies: list[StaffReplyOut]


class HandledIn(BaseModel):
    handled: bool = Field(True, description="true: mark handled; false: open again")


class ReplyIn(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=handoff_desk.MAX_REPLY_CHARS,
        description="What the staff member writes to the citizen (sent on Zalo)",
    )


def _case(record: handoff_desk.HandoffCase) -> HandoffCaseOut:
    return HandoffCaseOut.model_validate(record.as_dict())


@router.get(
    "/api/staff/handoff-cases",
    response_model=list[HandoffCaseOut],
    summary="Hand-offs with their state and staff replies (newest first)",
    description=WHO,
    **STAFF_ONLY,
)
def handoff_cases(
    status: Annotated[HandoffStatus, Query(description="open (default), handled or all")] = HandoffStatus.open,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HandoffCaseOut]:
    return [_case(record) for record in handoff_desk.list_cases(status=status.value, limit=limit)]


@router.post(
    "/api/staff/handoff-cases/{handoff_id}/handled",
    response_model=HandoffCaseOut,
    summary="Mark a hand-off handled, or open it again",
    description=WHO + " Refused (403) when another site's page makes the request (Origin, Sec-Fetch-Site).",
    **STAFF_ACTION,
)
def mark_handled(handoff_id: HandoffId, body: HandledIn | None = None) -> HandoffCaseOut:
    try:
        return _case(handoff_desk.set_handled(handoff_id, handled=body.handled if body else True))
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None


@router.post(
    "/api/staff/handoff-cases/{handoff_id}/replies",
    response_model=StaffReplyOut,
    status_code=201,
    summary="Reply to the Zalo citizen of a hand-off (queued in the Zalo outbox)",
    description=WHO + " Refused (403) when another site's page makes the request (Origin, Sec-Fetch-Site).",
    dependencies=STAFF_ACTION["dependencies"],
    responses={**STAFF_ACTION["responses"], 400: {"model": ApiError}, 409: {"model": ApiError}},
)
def reply(handoff_id: HandoffId, body: ReplyIn) -> StaffReplyOut:
    try:
        case = handoff_desk.get_case(handoff_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    try:
        sent = handoff_desk.reply(case.id, body.text)
    except handoff_desk.ReplyRefused as exc:
        code = status.HTTP_400_BAD_REQUEST if case.can_reply else status.HTTP_409_CONFLICT
        raise HTTPException(code, detail=str(exc)) from None
    except (*storage.ERRORS, OSError) as exc:
        logger.error("Staff reply to hand-off %d not queued: %s", case.id, exc.__class__.__name__)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Không ghi được vào hàng gửi Zalo "
            f"({storage.describe(handoff_desk.default_outbox())}): vui lòng báo quản trị "
            "kiểm tra ổ đĩa hoặc cơ sở dữ liệu, rồi gửi lại.",
        ) from None
    return StaffReplyOut.model_validate(sent.as_dict())
