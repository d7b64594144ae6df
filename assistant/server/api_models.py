"""Response models of the JSON API under /api: the contract for the staff page and other clients."""
from __future__ import annotations

from pydantic import BaseModel, Field

from knowledge_base.schema import (
    LEVEL_LABELS,
    ONLINE_LABELS,
    Decision,
    Level,
    OnlineAvailability,
    Procedure,
)


class Labeled(BaseModel):
    """A machine value with its Vietnamese label."""

    value: str
    label: str


def level_option(level: Level) -> Labeled:
    return Labeled(value=level.value, label=LEVEL_LABELS.get(level, level.value))


def online_option(online: OnlineAvailability) -> Labeled:
    return Labeled(value=online.value, label=ONLINE_LABELS.get(online, online.value))


class SearchResult(BaseModel):
    code: str
    title: str
    score: float
    levels: list[Labeled]
    field: str
    online: Labeled
    names_district_level: bool = Field(
        description="The record still names the district level, abolished on 1 July 2025: to be corrected"
    )


class SearchResults(BaseModel):
    query: str
    decision: Decision = Field(description="answer: one confident match; clarify: several; abstain: none fits")
    results: list[SearchResult]


class ProcedureLinks(BaseModel):
    portal: str = Field(description="The procedure's page on the public-service portal")
    province_portal: str = Field(description="The province's portal; empty when not configured")
    qr_svg: str = Field(description="Path of the QR code (SVG) of the portal link")


class ProcedureDetail(BaseModel):
    procedure: Procedure
    level_labels: list[str]
    online_label: str
    links: ProcedureLinks
    channel_cases: list[str] = Field(
        description="For each of procedure.channels, the case its time and fee apply to ('' when none is named)"
    )
    district_mentions: list[str] = Field(
        description="Where the record still names the district level (abolished on 1 July 2025), as "
        "'field: phrase'; empty when it does not. Flags the record for the catalogue team"
    )
    reform_note: str = Field(description="The note the assistant adds to its answers about this record ('' if none)")


class Facets(BaseModel):
    levels: list[Labeled]
    fields: list[str]
    agencies: list[str]
    online: list[Labeled]


class HandoffMessage(BaseModel):
    sender: str  # "user" | "bot"
    text: str


class Handoff(BaseModel):
    """A conversation the bot flagged for staff (texts already masked for personal data)."""

    id: int
    sender_id: str
    channel: str
    created_at: str
    messages: list[HandoffMessage]


class Feedback(BaseModel):
    """A citizen's rating of an answer, with the question and the answer (masked)."""

    id: int
    sender_id: str
    channel: str
    created_at: str
    rating: str  # "good" | "bad"
    question: str
    answer: str


class ApiError(BaseModel):
    detail: str
