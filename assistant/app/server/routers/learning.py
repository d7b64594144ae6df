"""Learning from real questions (issue 14, items 2-3): the unanswered questions, grouped, and the catalogue
team's labels. Staff only: every path needs the admin token (the questions are what citizens wrote, masked).

- `GET /api/staff/unanswered` and `/api/staff/unanswered.csv`: assistant/app/unanswered.py
- `GET|POST /api/staff/labels`, `PUT|DELETE /api/staff/labels/{label_id}`, `GET /api/staff/labels.jsonl`:
  assistant/app/question_labels.py (every change rewrites <data_dir>/labels/labelled.jsonl for the trainer and
  `tthc kb eval --labelled`)
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from datetime import date, datetime, timezone
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from assistant.app import question_labels, unanswered
from assistant.app.server.api_models import ApiError
from assistant.app.server.deps import get_kb, kb_or_none
from assistant.app.server.security import require_admin_token
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.labelled import KINDS

router = APIRouter(tags=["staff: learning from questions"])
STAFF_ONLY = {
    "dependencies": [Depends(require_admin_token)],
    "responses": {401: {"model": ApiError}, 403: {"model": ApiError}, 503: {"model": ApiError}},
}
CODE_PATTERN = r"^[0-9A-Za-z.\-_]{1,40}$"

UnansweredReason = Enum("UnansweredReason", {reason: reason for reason in unanswered.REASONS}, type=str)
UnansweredReason.__doc__ = "Why a question counts as unanswered (assistant/app/unanswered.py)"
LabelKind = Enum("LabelKind", {kind: kind for kind in KINDS}, type=str)
LabelKind.__doc__ = (
    "procedure: thuộc thủ tục (code); not_in_catalogue: không có trong danh mục; "
    "not_procedure: không phải câu hỏi thủ tục"
)


# ---- models ----------------------------------------------------------------------------------------


class Label(BaseModel):
    """The catalogue team's label on one question (masked text)."""

    id: int
    question: str
    kind: LabelKind
    code: str | None = Field(description="The procedure, for kind procedure")
    title: str | None = Field(None, description="The procedure's title in the active catalogue (None if not in it)")
    asked_at: str = Field(
        description="ISO 8601 UTC: when the question was first asked, among the recorded interactions "
        'still kept; "" once the retention purge removed them (the label stays)'
    )
    created_at: str
    updated_at: str


class AnsweredProcedure(BaseModel):
    code: str
    title: str


class CurrentAnswer(BaseModel):
    """What the catalogue search the assistant uses does with the question now."""

    decision: str = Field(description="answer / clarify (asks back) / abstain")
    scope: str = Field(description="catalogue / administrative / off_topic")
    results: list[AnsweredProcedure] = Field(description="The procedure answered, or the options offered")
    verdict: str = Field(
        description="correct: answers the labelled procedure, or declines a no-answer question; "
        "asks_back: asks back with the labelled procedure among the options; declines: "
        "abstains on a labelled procedure; wrong: another procedure, or answers a no-answer question"
    )


class LabelView(Label):
    now: CurrentAnswer | None = Field(description="None when the catalogue index is not available")


class Variant(BaseModel):
    question: str
    count: int
    reasons: dict[str, int]
    label: Label | None


class UnansweredGroup(BaseModel):
    id: str = Field(description="Stable for the same representative question")
    question: str = Field(description="The group's most frequent question (masked)")
    count: int = Field(description="Times a question of the group went unanswered")
    labelled: int = Field(description="How many of the group's questions are labelled")
    variants: list[Variant]
    reasons: dict[str, int]
    channels: dict[str, int]
    codes: list[str] = Field(description="Procedures offered to these questions, most often first")
    first_at: str
    last_at: str


class UnansweredReport(BaseModel):
    questions: int = Field(description="Unanswered questions in the period (occurrences)")
    distinct: int = Field(description="Distinct question texts")
    truncated: bool = Field(description="More groups than `limit`")
    grouping: str = Field(description="embedding (the catalogue's model) or lexical (index without the model)")
    groups: list[UnansweredGroup]


class LabelRequest(BaseModel):
    questions: list[Annotated[str, Field(min_length=1, max_length=question_labels.MAX_QUESTION_CHARS)]] = Field(
        min_length=1, max_length=question_labels.MAX_QUESTIONS_PER_CALL
    )
    kind: LabelKind
    code: Annotated[str, Field(pattern=CODE_PATTERN)] | None = None


class LabelChange(BaseModel):
    kind: LabelKind
    code: Annotated[str, Field(pattern=CODE_PATTERN)] | None = None


# ---- helpers -----------------------------------------------------------------------------------------


def _title(kb, code: str | None) -> str | None:
    if kb is None or not code:
        return None
    procedure = kb.get(code)
    return procedure.title if procedure else None


def _label(record: question_labels.LabelRecord, kb) -> Label:
    return Label(**record.as_dict(), title=_title(kb, record.code))


_searches: OrderedDict[tuple[str, str], object] = OrderedDict()  # (index build, question) -> SearchResponse
_searches_lock = threading.Lock()
MAX_CACHED_SEARCHES = 5000


def _search(kb, question: str):
    """kb.search of a labelled question, cached per index build (the labels view lists many at a time)."""
    key = (str(getattr(kb, "directory", id(kb))), question)
    with _searches_lock:
        if key in _searches:
            _searches.move_to_end(key)
            return _searches[key]
    response = kb.search(question, top_k=3)
    with _searches_lock:
        _searches[key] = response
        while len(_searches) > MAX_CACHED_SEARCHES:
            _searches.popitem(last=False)
    return response


def current_answer(kb, record: question_labels.LabelRecord) -> CurrentAnswer | None:
    """The search's decision on the labelled question now, and whether it agrees with the label."""
    if kb is None:
        return None
    try:
        response = _search(kb, record.question)
    except KnowledgeBaseError:
        return None
    decision = response.decision.value
    codes = [hit.code for hit in response.results]
    shown = response.results[:1] if decision == "answer" else ([] if decision == "abstain" else response.results)
    if record.kind == "procedure":
        if decision == "answer":
            verdict = "correct" if codes[:1] == [record.code] else "wrong"
        elif decision == "clarify":
            verdict = "asks_back" if record.code in codes else "wrong"
        else:
            verdict = "declines"
    else:
        verdict = "correct" if decision == "abstain" else "wrong"
    return CurrentAnswer(
        decision=decision,
        scope=response.scope.value,
        verdict=verdict,
        results=[AnsweredProcedure(code=hit.code, title=hit.title) for hit in shown],
    )


def _check_code(kind: LabelKind, code: str | None):
    """The catalogue must hold the labelled procedure (422 naming the fix); 503 without an index."""
    if kind.value != "procedure":
        return kb_or_none()
    if not code:
        raise HTTPException(422, detail="Nhãn «thuộc thủ tục» cần mã thủ tục: tìm và chọn thủ tục trước khi lưu.")
    try:
        kb = get_kb()
    except KnowledgeBaseError as exc:
        raise HTTPException(503, detail=str(exc)) from exc
    if kb.get(code) is None:
        raise HTTPException(422, detail=f"Không có thủ tục mã '{code}' trong danh mục: chọn thủ tục bằng ô tìm kiếm.")
    return kb


def _report(since, until, channel, reason, unlabelled, limit) -> tuple[unanswered.Report, str]:
    if since and until and since > until:
        raise HTTPException(400, detail="Ngày bắt đầu (since) phải trước hoặc bằng ngày kết thúc (until).")
    kb = kb_or_none()
    reasons = [r.value for r in reason] if reason else list(unanswered.REASONS)
    report = unanswered.unanswered_groups(
        since=since,
        until=until,
        channel=channel or None,
        reasons=reasons,
        kb=kb,
        limit=limit,
        unlabelled_only=unlabelled,
    )
    return report, "embedding" if getattr(kb, "encoder", None) is not None else "lexical"


Since = Annotated[date | None, Query(description="From this day (Vietnam time), inclusive")]
Until = Annotated[date | None, Query(description="Up to this day (Vietnam time), inclusive")]
Channel = Annotated[str | None, Query(max_length=40, description="Only this channel (rest = web chat, zalo, ...)")]
Reasons = Annotated[list[UnansweredReason] | None, Query(description="Only these reasons (repeat); default all")]
Unlabelled = Annotated[bool, Query(description="Leave out groups whose questions are all labelled")]


# ---- routes --------------------------------------------------------------------------------------------


@router.get(
    "/api/staff/unanswered",
    response_model=UnansweredReport,
    summary="Questions the assistant did not answer, grouped by similar question",
    **STAFF_ONLY,
)
def unanswered_list(
    since: Since = None,
    until: Until = None,
    channel: Channel = None,
    reason: Reasons = None,
    unlabelled: Unlabelled = False,
    limit: Annotated[int, Query(ge=1, le=500, description="Groups at most")] = 100,
) -> UnansweredReport:
    report, grouping = _report(since, until, channel, reason, unlabelled, limit)
    kb = kb_or_none()
    return UnansweredReport(
        questions=report.questions,
        distinct=report.distinct,
        truncated=report.truncated,
        grouping=grouping,
        groups=[
            UnansweredGroup(
                id=g.id,
                question=g.question,
                count=g.count,
                labelled=g.labelled,
                reasons=dict(g.reasons),
                channels=dict(g.channels),
                codes=g.codes,
                first_at=g.first_at,
                last_at=g.last_at,
                variants=[
                    Variant(
                        question=v.question,
                        count=v.count,
                        reasons=dict(v.reasons),
                        label=_label(v.label, kb) if v.label else None,
                    )
                    for v in g.variants
                ],
            )
            for g in report.groups
        ],
    )


@router.get(
    "/api/staff/unanswered.csv",
    summary="The unanswered questions as CSV (one row per question)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **STAFF_ONLY["responses"]},
    dependencies=STAFF_ONLY["dependencies"],
)
def unanswered_csv(
    since: Since = None,
    until: Until = None,
    channel: Channel = None,
    reason: Reasons = None,
    unlabelled: Unlabelled = False,
) -> Response:
    report, _ = _report(since, until, channel, reason, unlabelled, limit=100_000)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(unanswered.csv_rows(report.groups))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",  # BOM: Excel reads UTF-8
        headers={"Content-Disposition": f'attachment; filename="cau-hoi-chua-tra-loi-{stamp}.csv"'},
    )


@router.get(
    "/api/staff/labels",
    response_model=list[LabelView],
    summary="Labelled questions, with what the assistant would answer now (latest change first)",
    **STAFF_ONLY,
)
def labels(response: Response, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[LabelView]:
    response.headers["X-Total-Count"] = str(question_labels.count_labels())  # all labels, `limit` listed
    kb = kb_or_none()
    return [
        LabelView(**_label(record, kb).model_dump(), now=current_answer(kb, record))
        for record in question_labels.list_labels(limit=limit)
    ]


@router.post(
    "/api/staff/labels",
    response_model=list[LabelView],
    summary="Label questions (a question already labelled is corrected)",
    **{**STAFF_ONLY, "responses": {**STAFF_ONLY["responses"], 422: {"model": ApiError}}},
)
def add_labels(request: LabelRequest) -> list[LabelView]:
    kb = _check_code(request.kind, request.code)
    try:
        records = question_labels.set_labels(request.questions, request.kind.value, request.code)
    except question_labels.LabelError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    return [LabelView(**_label(record, kb).model_dump(), now=current_answer(kb, record)) for record in records]


LabelId = Annotated[int, PathParam(ge=1, le=2**62)]


@router.put(
    "/api/staff/labels/{label_id}",
    response_model=LabelView,
    summary="Correct a label",
    **{**STAFF_ONLY, "responses": {**STAFF_ONLY["responses"], 404: {"model": ApiError}, 422: {"model": ApiError}}},
)
def correct_label(label_id: LabelId, change: LabelChange) -> LabelView:
    kb = _check_code(change.kind, change.code)
    try:
        record = question_labels.update_label(label_id, change.kind.value, change.code)
    except question_labels.LabelError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    if record is None:
        raise HTTPException(404, detail=f"Không có nhãn số {label_id} (có thể đã bị xóa).")
    return LabelView(**_label(record, kb).model_dump(), now=current_answer(kb, record))


@router.delete(
    "/api/staff/labels/{label_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a label",
    responses={**STAFF_ONLY["responses"], 404: {"model": ApiError}},
    dependencies=STAFF_ONLY["dependencies"],
)
def remove_label(label_id: LabelId) -> Response:
    if not question_labels.delete_label(label_id):
        raise HTTPException(404, detail=f"Không có nhãn số {label_id} (có thể đã bị xóa).")
    return Response(status_code=204)


@router.get(
    "/api/staff/labels.jsonl",
    summary="The labelled questions as a question file (tthc kb eval / bot eval)",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}, **STAFF_ONLY["responses"]},
    dependencies=STAFF_ONLY["dependencies"],
)
def labels_file() -> FileResponse:
    path = question_labels.export()
    return FileResponse(path, media_type="application/x-ndjson", filename=path.name)
