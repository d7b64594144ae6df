"""JSON API over the procedure catalogue: search, detail, facets and the portal-link QR code."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from assistant.app import metrics
from assistant.app.answers import local_changes, local_note, procedure_links
from assistant.app.district_reform import district_mentions, district_note, names_district_level
from assistant.app.server.api_models import (
    ApiError,
    Facets,
    Labeled,
    ProcedureDetail,
    ProcedureLinks,
    SearchResult,
    SearchResults,
    level_option,
    online_option,
)
from assistant.app.server.deps import app_settings, get_kb
from assistant.core.settings import Settings
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers.channels import row_case
from knowledge_base.schema import LEVEL_LABELS, ONLINE_LABELS, Level, OnlineAvailability, Procedure, SearchFilters
from knowledge_base.store import KnowledgeBase

MAX_QUERY_CHARS = 500
MAX_TOP = 50
CODE_PATTERN = r"^[0-9A-Za-z.\-_]{1,40}$"

router = APIRouter(prefix="/api", tags=["procedures"])

NOT_FOUND = {404: {"model": ApiError, "description": "No procedure with this code"}}
UNAVAILABLE = {503: {"model": ApiError, "description": "The catalogue index is not built yet"}}
BAD_INPUT = {400: {"model": ApiError, "description": "Bad parameter; the message names the fix"}}


def _kb() -> KnowledgeBase:
    """The knowledge base, or 503 with the one-line reason (e.g. the index is not built)."""
    try:
        return get_kb()
    except KnowledgeBaseError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc


def _procedure_or_404(kb: KnowledgeBase, code: str) -> Procedure:
    procedure = kb.get(code)
    if procedure is None:
        raise HTTPException(status_code=404, detail=f"Không có thủ tục mã '{code}' trong danh mục.")
    return procedure


@router.get(
    "/search",
    response_model=SearchResults,
    summary="Search procedures (hybrid search, with filters)",
    responses={**BAD_INPUT, **UNAVAILABLE},
)
def search(
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="The question or procedure name")],
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="How many results")] = 10,
    level: Annotated[list[Level], Query(description="Any of these levels")] = [],  # noqa: B006 (FastAPI copies defaults per request)
    field: Annotated[str, Query(max_length=200, description="Exact field (lĩnh vực), from /api/facets")] = "",
    agency: Annotated[str, Query(max_length=200, description="Part of an agency name")] = "",
    online: Annotated[list[OnlineAvailability], Query(description="Any of these online availabilities")] = [],  # noqa: B006 (as above)
    kb: KnowledgeBase = Depends(_kb),
) -> SearchResults:
    query = q.strip()
    if not query:
        raise HTTPException(status_code=400, detail="Tham số q trống: hãy nhập tên thủ tục hoặc câu hỏi.")
    filters = SearchFilters(levels=level, field=field.strip(), agency=agency.strip(), online=online)
    with metrics.search_timer("api"):
        response = kb.search(query, top_k=top, filters=filters)
    results = []
    for hit in response.results:
        procedure = kb.get(hit.code)
        if procedure is None:  # index and records out of step: skip rather than fail the whole search
            continue
        results.append(
            SearchResult(
                code=hit.code,
                title=hit.title,
                score=round(hit.score, 4),
                levels=[level_option(item) for item in procedure.levels],
                field=procedure.field,
                online=online_option(procedure.online),
                names_district_level=names_district_level(procedure),
                local_changes=local_changes(procedure),
            )
        )
    return SearchResults(query=response.query, decision=response.decision, results=results)


@router.get(
    "/procedures/{code}",
    response_model=ProcedureDetail,
    summary="One procedure with every published detail and its links",
    responses={**NOT_FOUND, **UNAVAILABLE},
)
def procedure_detail(
    code: Annotated[str, Path(pattern=CODE_PATTERN, description="Mã thủ tục, e.g. 1.001193")],
    kb: KnowledgeBase = Depends(_kb),
    settings: Settings = Depends(app_settings),
) -> ProcedureDetail:
    procedure = _procedure_or_404(kb, code)
    return ProcedureDetail(
        procedure=procedure,
        level_labels=[LEVEL_LABELS.get(item, item.value) for item in procedure.levels],
        online_label=ONLINE_LABELS.get(procedure.online, procedure.online.value),
        links=ProcedureLinks(
            portal=portal_url(procedure, settings),
            province_portal=settings.province.portal_url.strip(),
            qr_svg=f"/api/procedures/{procedure.code}/qr.svg",
        ),
        channel_cases=[row_case(channel.description, channel.time.text) for channel in procedure.channels],
        district_mentions=district_mentions(procedure),
        reform_note=district_note(procedure, settings),
        local_changes=local_changes(procedure),
        local_note=local_note(procedure, settings),
    )


@router.get(
    "/procedures/{code}/qr.svg",
    summary="QR code (SVG) of the procedure's portal link",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **NOT_FOUND, **UNAVAILABLE},
)
def procedure_qr(
    code: Annotated[str, Path(pattern=CODE_PATTERN)],
    kb: KnowledgeBase = Depends(_kb),
    settings: Settings = Depends(app_settings),
) -> Response:
    procedure = _procedure_or_404(kb, code)
    svg = qr_svg(portal_url(procedure, settings))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


def portal_url(procedure: Procedure, settings: Settings) -> str:
    """The link a citizen acts on: the same first link the bot gives (the procedure's portal page).

    Only an http(s) link is printed or put in a QR code; anything else falls back to the national portal.
    """
    url = procedure_links(procedure, settings)[0].url
    return url if url.startswith(("https://", "http://")) else settings.national_portal_url


@lru_cache(maxsize=512)
def qr_svg(url: str) -> bytes:
    """SVG QR code of a URL (pure-Python SVG factory: no Pillow needed)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode").encode("utf-8")


def _labeled(values: list[str], kind: type[Level] | type[OnlineAvailability], labels: dict) -> list[Labeled]:
    options = []
    for value in values:
        try:
            member = kind(value)
        except ValueError:
            options.append(Labeled(value=value, label=value))
            continue
        options.append(Labeled(value=member.value, label=labels.get(member, member.value)))
    return options


@router.get("/facets", response_model=Facets, summary="Filter values present in the catalogue", responses=UNAVAILABLE)
def facets(kb: KnowledgeBase = Depends(_kb)) -> Facets:
    values = kb.facets()
    return Facets(
        levels=_labeled(values.get("levels", []), Level, LEVEL_LABELS),
        fields=sorted(values.get("fields", [])),
        agencies=sorted(values.get("agencies", [])),
        online=_labeled(values.get("online", []), OnlineAvailability, ONLINE_LABELS),
    )
