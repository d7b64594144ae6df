"""Typed procedure records: the contract between importers, the index, the API and the bot."""

from __future__ import annotations

import hashlib
import json
from enum import Enum

from pydantic import BaseModel, Field


class Level(str, Enum):
    """Government level that handles a procedure (2025 reform: no district level)."""

    ministry = "cap_bo"
    province = "cap_tinh"
    commune = "cap_xa"
    other = "co_quan_khac"


LEVEL_LABELS = {
    Level.ministry: "Cấp bộ",
    Level.province: "Cấp tỉnh",
    Level.commune: "Cấp xã",
    Level.other: "Cơ quan khác",
}


class ChannelKind(str, Enum):
    in_person = "truc_tiep"
    online = "truc_tuyen"
    postal = "buu_chinh"


CHANNEL_LABELS = {
    ChannelKind.in_person: "Trực tiếp",
    ChannelKind.online: "Trực tuyến",
    ChannelKind.postal: "Dịch vụ bưu chính",
}


class OnlineAvailability(str, Enum):
    """How far a procedure can be done online, derived from the record (unknown when it does not say)."""

    full = "toan_trinh"  # the record states the whole procedure is done online ("toàn trình")
    # An online submission channel is listed. The national records list channels, not whether the whole
    # procedure is online, so this says no more than that ("Có thể nộp hồ sơ trực tuyến"). The value keeps
    # its first name ("một phần") so built indexes and catalogues read unchanged.
    partial = "mot_phan"
    none = "khong"
    unknown = "khong_ro"


ONLINE_LABELS = {
    OnlineAvailability.full: "Nộp trực tuyến toàn trình",
    OnlineAvailability.partial: "Có thể nộp hồ sơ trực tuyến",
    OnlineAvailability.none: "Không hỗ trợ nộp trực tuyến",
    OnlineAvailability.unknown: "Chưa rõ có nộp trực tuyến được không",
}


class Fee(BaseModel):
    """A fee as published plus a normalized amount when the text states one."""

    text: str = ""
    amount_vnd: int | None = None  # None: not a single stated amount
    free: bool | None = None  # True: "miễn phí"/"không"; None: unknown


class ProcessingTime(BaseModel):
    text: str = ""
    working_days: float | None = None  # normalized when the text states a duration


class SubmissionChannel(BaseModel):
    kind: ChannelKind
    time: ProcessingTime = Field(default_factory=ProcessingTime)
    fee: Fee = Field(default_factory=Fee)
    description: str = ""


class DossierDocument(BaseModel):
    name: str
    copies: str = ""  # as published, e.g. "1 bản chính", "01 bản sao"
    form: str = ""  # template / form name or file, if any
    group: str = ""  # e.g. "Giấy tờ phải nộp", "Giấy tờ phải xuất trình", a case heading


class LegalDocument(BaseModel):
    number: str = ""  # e.g. "123/2015/NĐ-CP"
    title: str = ""


class LocalFacts(BaseModel):
    """What the province's own facts file replaced in this record at import (issue 15, item 5;
    knowledge_base.importers.local_facts): the answers show those fields as set by the province."""

    province: str = ""
    fields: list[str] = Field(default_factory=list)  # "fee", "time", "where_to_submit"
    fee_channels: list[str] = Field(
        default_factory=list
    )  # the channels whose fee the province set (ChannelKind values)
    source: str = ""  # the provincial decision or resolution, e.g. "Nghị quyết số …/NQ-HĐND"
    version: str = ""  # the facts file's version
    sample: bool = False  # from a file marked as a sample: shown as sample data, never as the province's rule
    note: str = ""


class Procedure(BaseModel):
    """One administrative procedure (thủ tục hành chính)."""

    code: str  # mã thủ tục
    title: str
    levels: list[Level] = Field(default_factory=list)
    field: str = ""  # lĩnh vực
    agencies: list[str] = Field(default_factory=list)  # cơ quan thực hiện / có thẩm quyền
    audience: str = ""  # đối tượng thực hiện
    where_to_submit: str = ""  # địa chỉ tiếp nhận hồ sơ, when published
    steps: str = ""
    channels: list[SubmissionChannel] = Field(default_factory=list)
    documents: list[DossierDocument] = Field(default_factory=list)
    conditions: str = ""
    result: str = ""
    legal_basis: list[LegalDocument] = Field(default_factory=list)
    online: OnlineAvailability = OnlineAvailability.unknown
    source_url: str = ""
    decision_number: str = ""
    summary: str = ""  # short plain description, optional (seed catalogue)
    keywords: list[str] = Field(default_factory=list)  # everyday names citizens use
    local: LocalFacts | None = None  # set when the province's facts file replaced fields at import

    def content_hash(self) -> str:
        """Stable hash of the record, so the index rebuilds only what changed (a record without local facts
        hashes as it did before the field existed)."""
        data = self.model_dump(mode="json", exclude={"local"} if self.local is None else None)
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class SearchFilters(BaseModel):
    levels: list[Level] = Field(default_factory=list)  # any of
    field: str = ""
    agency: str = ""  # substring of one of the agencies
    online: list[OnlineAvailability] = Field(default_factory=list)  # any of


class SearchHit(BaseModel):
    code: str
    title: str
    score: float


class Decision(str, Enum):
    """What the caller should do with a result list."""

    answer = "answer"  # one confident match: answer from hits[0]
    clarify = "clarify"  # several close matches: ask back with hits
    abstain = "abstain"  # nothing fits: say so, offer a human


class Scope(str, Enum):
    """Whose question is it: the catalogue's, another administrative matter's, or nobody's."""

    catalogue = "catalogue"  # a procedure in this catalogue fits (decision answer or clarify)
    administrative = "administrative"  # an administrative matter this catalogue does not hold
    off_topic = "off_topic"  # small talk or unrelated to administration


class SearchResponse(BaseModel):
    query: str
    decision: Decision
    results: list[SearchHit] = Field(default_factory=list)
    # catalogue whenever decision is answer/clarify; for an abstention, whether the question is still
    # administrative (say "not in our catalogue, ask here") or off-topic.
    scope: Scope = Scope.catalogue

    @property
    def abstained(self) -> bool:
        return self.decision == Decision.abstain
