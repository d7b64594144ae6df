"""Response models of the JSON API under /api: the contract for the staff page and other clients."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from assistant.app.interaction_log import OUTCOMES
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
    local_changes: list[str] = Field(
        default_factory=list,
        description="The facts the province's facts file replaced in this record (e.g. 'lệ phí (Trực tiếp)'); "
        "empty when none",
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
    local_changes: list[str] = Field(
        default_factory=list,
        description="The facts the province's facts file replaced (local overrides, e.g. 'lệ phí (Trực tiếp)'); "
        "procedure.local has the source and the file's version",
    )
    local_note: str = Field(
        default="", description="The note the assistant adds about the province's facts ('' if none)"
    )


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
    conversation: str = Field(
        description=(
            "A short stable reference of the conversation (hc-…; Zalo zu-…); "
            "the channel's own id (a Zalo user id) never leaves the server"
        )
    )
    channel: str
    created_at: str
    messages: list[HandoffMessage]


class Feedback(BaseModel):
    """A citizen's rating of an answer, with the question and the answer (masked)."""

    id: int
    conversation: str = Field(
        description=(
            "A short stable reference of the conversation (hc-…; Zalo zu-…); "
            "the channel's own id (a Zalo user id) never leaves the server"
        )
    )
    channel: str
    created_at: str
    rating: str  # "good" | "bad"
    question: str
    answer: str


InteractionOutcome = Enum("InteractionOutcome", {outcome: outcome for outcome in OUTCOMES}, type=str)
InteractionOutcome.__doc__ = "What the assistant did with a message (assistant/app/interaction_log.py)"


class Interaction(BaseModel):
    """One message the assistant handled through a custom action, with what it did (question masked)."""

    id: int
    created_at: str = Field(description="ISO 8601, UTC")
    conversation: str = Field(
        description=(
            "A short stable reference of the conversation (hc-…; Zalo zu-…); "
            "the channel's own id (a Zalo user id) never leaves the server"
        )
    )
    channel: str = Field(description="Rasa input channel: rest (web chat), zalo, ...")
    action: str = Field(description="The custom action that handled the message")
    intent: str
    question: str = Field(description="What the citizen typed, personal data masked (a button sends its payload)")
    outcome: InteractionOutcome
    codes: list[str] = Field(description="Procedure(s) offered: the one answered, or the options shown")
    chosen_option: int | None = Field(
        description="The option number picked (choose_option rows, and the asked-back row it was picked from)"
    )
    chosen_code: str | None = Field(description="The procedure the citizen picked from this row's options")
    feedback: str | None = Field(description="good / bad: the citizen's rating of this reply (and on the feedback row)")
    action_ms: int = Field(description="Time to run the action, ms")
    turn_ms: int | None = Field(description="From the message reaching Rasa to the end of the action, ms")


class ApiError(BaseModel):
    detail: str
