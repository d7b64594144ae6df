"""Province facts over national records (issue 15, item 5).

The national records publish what the ministries set; a province sets some facts itself: fees decided by the
provincial People's Council (HĐND), the one-stop centre's and each commune's address and opening hours, the
hotline. A province keeps them in one versioned YAML file (`province.local_facts` in settings.yml; format in
docs/knowledge-base.md, "Province facts"; a sample for the default province in knowledge_base/local/):

    version: "2026-12-01"
    province: "Tây Ninh"
    sample: false              # true: a sample, every fact it merges is shown as sample data
    hotline: "0276 ..."
    one_stop_centre: {name: ..., address: ..., hours: ...}
    communes:
      - {name: "Phường ...", address: ..., hours: ...}
    procedures:
      "1.001193":
        source: "Nghị quyết số .../NQ-HĐND ngày ..."
        fee: {text: "...", amount_vnd: 0, free: true}     # every channel, or
        fee_channels: [truc_tuyen]                        # only these channels
        time: {text: "...", working_days: 3}
        where_to_submit: "..."
        note: "..."

`apply_local_facts` merges the `procedures:` entries over the imported records at import: the province's value
wins, the record gets `local` (which fields, the source, the file's version) so the answers say it is the
province's, and the import report lists every override and every code the catalogue does not hold. The
directory (hotline, centre, communes) is read by the app from the same file (`read_local_facts`).
Unusable input raises KnowledgeBaseError naming the fix.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers.report import ImportReport
from knowledge_base.schema import ChannelKind, Fee, LocalFacts, Procedure, ProcessingTime, SubmissionChannel


class Office(BaseModel):
    name: str = ""
    address: str = ""
    hours: str = ""


class ProcedureFacts(BaseModel):
    source: str = ""
    fee: Fee | None = None
    fee_channels: list[ChannelKind] = Field(default_factory=list)  # empty: every channel
    time: ProcessingTime | None = None
    where_to_submit: str = ""
    note: str = ""


class LocalFactsFile(BaseModel):
    version: str
    province: str = ""
    sample: bool = False
    hotline: str = ""
    one_stop_centre: Office = Field(default_factory=Office)
    communes: list[Office] = Field(default_factory=list)
    procedures: dict[str, ProcedureFacts] = Field(default_factory=dict)


def read_local_facts(path: Path) -> LocalFactsFile:
    """The province's facts file, validated; a one-line error naming the fix when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise KnowledgeBaseError(
            f"province facts file {path} does not exist; fix province.local_facts in settings.yml or leave it empty"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise KnowledgeBaseError(f"{path} is not valid YAML ({first}); fix the file") from None
    if not isinstance(data, dict):
        raise KnowledgeBaseError(
            f"{path} must be a YAML mapping with version: and procedures:; see docs/knowledge-base.md"
        )
    data["procedures"] = {str(code): facts or {} for code, facts in (data.get("procedures") or {}).items()}
    try:
        return LocalFactsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise KnowledgeBaseError(f"{path}: invalid '{where}': {first['msg']}; fix that entry") from None


def _merged(procedure: Procedure, facts: ProcedureFacts, file: LocalFactsFile) -> tuple[Procedure, list[str]]:
    """The record with the province's facts over it, and one report line per field replaced."""
    record = procedure.model_copy(deep=True)
    changes: list[str] = []
    fields: list[str] = []
    fee_channels: list[str] = []
    if facts.fee is not None:
        if not record.channels:  # the record states no channel: the province's fee is the in-person one
            record.channels = [SubmissionChannel(kind=ChannelKind.in_person)]
        kinds = set(facts.fee_channels) or {channel.kind for channel in record.channels}
        for channel in record.channels:
            if channel.kind in kinds:
                changes.append(f"fee ({channel.kind.value}): {channel.fee.text or '-'!r} -> {facts.fee.text!r}")
                channel.fee = facts.fee.model_copy()
                fee_channels.append(channel.kind.value)
        fields.append("fee")
    if facts.time is not None:
        if not record.channels:
            record.channels = [SubmissionChannel(kind=ChannelKind.in_person)]
        for channel in record.channels:
            changes.append(f"time ({channel.kind.value}): {channel.time.text or '-'!r} -> {facts.time.text!r}")
            channel.time = facts.time.model_copy()
        fields.append("time")
    if facts.where_to_submit.strip():
        changes.append(f"where_to_submit: {record.where_to_submit or '-'!r} -> {facts.where_to_submit!r}")
        record.where_to_submit = facts.where_to_submit.strip()
        fields.append("where_to_submit")
    if facts.note.strip():
        changes.append(f"note: {facts.note!r}")
    record.local = LocalFacts(
        province=file.province,
        fields=fields,
        fee_channels=fee_channels,
        source=facts.source,
        version=file.version,
        sample=file.sample,
        note=facts.note.strip(),
    )
    return record, changes


def apply_local_facts(report: ImportReport, path: Path) -> ImportReport:
    """Merge the province's facts over the imported records (the province wins) and report every change."""
    file = read_local_facts(path)
    by_code = {procedure.code: i for i, procedure in enumerate(report.procedures)}
    report.local_facts = f"{path} (version {file.version}{', SAMPLE data' if file.sample else ''})"
    for code, facts in file.procedures.items():
        if code not in by_code:
            report.local_unknown.append(code)
            continue
        record, changes = _merged(report.procedures[by_code[code]], facts, file)
        report.procedures[by_code[code]] = record
        report.local_overrides.extend(f"{code}: {change}" for change in changes)
    return report
