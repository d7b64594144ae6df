"""The province's dashboard on the staff page (issue 14 item 4): figures as JSON and each chart as a
server-drawn SVG (`assistant.app.dashboard`, `assistant.app.svg_charts`). Staff only (admin token)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from assistant.app import dashboard
from assistant.app.server import deps
from assistant.app.server.api_models import ApiError
from assistant.app.server.routers.staff import STAFF_ONLY

router = APIRouter(tags=["staff"])

WHO = (
    "Staff only: the admin token (TTHC_ADMIN_TOKEN) as HTTP Basic password, `Authorization: Bearer` or "
    "`X-Admin-Token`; without it 401, wrong 403, none configured 503."
)

Chart = Enum("Chart", {name.replace("-", "_"): name for name in dashboard.CHARTS}, type=str)  # type: ignore[misc]
SVG_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


class DayCount(BaseModel):
    day: str
    total: int
    by_channel: dict[str, int]


class ChannelCount(BaseModel):
    channel: str
    label: str
    count: int


class OutcomeShare(BaseModel):
    outcome: str
    label: str
    count: int
    share: float


class ProcedureCount(BaseModel):
    code: str
    title: str
    count: int


class UnansweredTopic(BaseModel):
    """A group of the staff page's unanswered questions (GET /api/staff/unanswered, same days and channel)."""

    question: str = Field(description="the group's most frequent question (masked)")
    count: int = Field(description="how many times the group's questions went unanswered")
    reason: str = Field(description="the most frequent reason: declined, abstained, abandoned or rated_bad")


class FieldCount(BaseModel):
    field: str
    count: int


class FeedbackRatio(BaseModel):
    good: int
    bad: int
    good_share: float | None


class Latency(BaseModel):
    turn_p50_ms: int | None
    turn_p95_ms: int | None
    turns: int
    action_p50_ms: int | None
    action_p95_ms: int | None


class DayLatency(BaseModel):
    day: str
    p50_ms: int | None
    p95_ms: int | None
    turns: int


class DashboardOut(BaseModel):
    """The dashboard's figures for a range of days (Vietnam time, inclusive); see docs/staff.md."""

    since: str
    until: str
    channel: str | None
    questions: int
    channels: list[ChannelCount]
    per_day: list[DayCount]
    outcomes: list[OutcomeShare]
    top_procedures: list[ProcedureCount]
    top_unanswered: list[UnansweredTopic]
    unanswered_fields: list[FieldCount]
    feedback: FeedbackRatio
    latency: Latency
    latency_per_day: list[DayLatency]
    charts: dict[str, str] = Field(description="chart name -> the SVG's URL for the same range")


Since = Annotated[
    date | None, Query(description="From this day (Vietnam time), inclusive; default: 29 days before `until`")
]
Until = Annotated[date | None, Query(description="Up to this day (Vietnam time), inclusive; default: today")]
Channel = Annotated[str | None, Query(max_length=40, description="Only this channel (rest, zalo, ...)")]


def _procedure_info(code: str) -> tuple[str, str] | None:
    record = deps.get_kb().get(code)
    return (record.title, record.field or "") if record else None


def _compute(since: date | None, until: date | None, channel: str | None) -> dashboard.Dashboard:
    try:
        # The same knowledge base as the unanswered page (deps.kb_or_none), so both group alike.
        return dashboard.compute_cached(
            since, until, channel or None, procedure_info=_procedure_info, kb=deps.kb_or_none()
        )
    except dashboard.RangeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from None


@router.get(
    "/api/staff/dashboard",
    response_model=DashboardOut,
    summary="The province's dashboard figures",
    description=WHO,
    responses={**STAFF_ONLY["responses"], 400: {"model": ApiError}},
    dependencies=STAFF_ONLY["dependencies"],
)
def dashboard_figures(since: Since = None, until: Until = None, channel: Channel = None) -> DashboardOut:
    figures = _compute(since, until, channel)
    query = urlencode({"since": figures.since, "until": figures.until, **({"channel": channel} if channel else {})})
    return DashboardOut.model_validate(
        {
            **figures.as_dict(),
            "charts": {name: f"/api/staff/dashboard/{name}.svg?{query}" for name in dashboard.CHARTS},
        }
    )


@router.get(
    "/api/staff/dashboard/{chart}.svg",
    response_class=Response,
    summary="One dashboard chart as SVG",
    description=WHO,
    responses={
        **STAFF_ONLY["responses"],
        400: {"model": ApiError},
        200: {"content": {"image/svg+xml": {}}, "description": "the chart"},
    },
    dependencies=STAFF_ONLY["dependencies"],
)
def dashboard_chart(chart: Chart, since: Since = None, until: Until = None, channel: Channel = None) -> Response:
    svg = dashboard.chart(chart.value, _compute(since, until, channel))
    return Response(svg, media_type="image/svg+xml; charset=utf-8", headers=SVG_HEADERS)
