"""English replies for foreigners (issue 15, item 6): English labels around the Vietnamese record text.

The records are published in Vietnamese only; nothing here translates them. A reply names each fact in English
("Fee:", "Documents to bring (3):"), quotes the record's own text, and says that the details are in Vietnamese
as published. Quick replies are English messages carrying the procedure code ("Fee for 1.004194"): the NLU's
English router (assistant/rasa_process/components/english_router.py) sends them back here, so the conversation stays in
English. Which procedure a message is about: `resolve` (a code in the message, a follow-up that names nothing,
else an English catalogue search, knowledge_base.english).
"""

from __future__ import annotations

from assistant.app import answers, local_directory
from assistant.app.district_reform import district_note
from assistant.app.procedure_context import Outcome, Resolution, resolution_of
from assistant.core.reply import Button, Link, Reply, ReplyOutcome
from assistant.core.settings import Settings, get_settings
from knowledge_base import english
from knowledge_base.schema import LEVEL_LABELS, ChannelKind, OnlineAvailability, Procedure, SearchHit

VIETNAMESE_NOTE = (
    "Note: the procedure's details are quoted in Vietnamese, as the official catalogue publishes them. "
    "Staff at the one-stop counter (Bộ phận Một cửa) can explain them."
)
ONLINE_LABELS_EN = {
    OnlineAvailability.full: "can be done fully online",
    OnlineAvailability.partial: "the application can be submitted online",
    OnlineAvailability.none: "not available online",
    OnlineAvailability.unknown: "the catalogue does not say",
}
LEVELS_EN = {"Cấp bộ": "ministry", "Cấp tỉnh": "province", "Cấp xã": "commune/ward", "Cơ quan khác": "other agency"}
NEXT_STEPS_EN = {
    "documents": ("Documents", "Documents for {code}"),
    "fee": ("Fee", "Fee for {code}"),
    "time": ("Processing time", "Processing time for {code}"),
    "where": ("Where to apply", "Where to submit {code}"),
    "online": ("Apply online?", "Apply online for {code}"),
    "steps": ("Steps", "Steps for {code}"),
}
CHECKLIST_EN = "Printable checklist"
HANDOFF_EN = "Talk to staff"
_ORDER_AFTER_CARD = ("steps", "documents", "online", "where", "fee", "time")
_ORDER_AFTER_ASPECT = ("documents", "fee", "time", "where", "online", "steps")


def resolve(kb, text: str, current_code: str | None, top_k: int = 6) -> Resolution:
    """Which procedure an English message is about: a code it carries (quick replies), the one in context when
    it names nothing ("how much is the fee?"), else the catalogue's English search."""
    code = english.procedure_code(text)
    if code and kb.get(code) is not None:
        return Resolution(Outcome.answer, procedure=kb.get(code))
    current = kb.get(current_code) if current_code else None
    if english.names_nothing(text):
        if current is not None:
            return Resolution(Outcome.answer, procedure=current, follow_up=True)
        return Resolution(Outcome.ask_which)
    return resolution_of(kb, kb.search(text, top_k=top_k))


def _online(procedure: Procedure) -> str:
    online = procedure.online
    if online == OnlineAvailability.unknown and any(c.kind == ChannelKind.online for c in procedure.channels):
        online = OnlineAvailability.partial
    label = ONLINE_LABELS_EN[online]
    if online == OnlineAvailability.partial:
        label += " (the catalogue does not say whether all of it can be done online)"
    return label


def _facts(label: str, lines: list[str]) -> list[str]:
    if not lines:
        return [f"- {label}: not stated in the catalogue"]
    if len(lines) == 1 and "\n" not in lines[0]:
        return [f"- {label}: {lines[0].removeprefix('- ')}"]
    return [f"- {label}:", *[f"  {line}" for line in lines]]


def _where(procedure: Procedure, settings: Settings) -> list[str]:
    lines = []
    levels = ", ".join(LEVELS_EN.get(LEVEL_LABELS[level], "") for level in procedure.levels)
    agency = procedure.agencies[0] if procedure.agencies else ""
    if levels or agency:
        lines.append(f"- Handled by: {' — '.join(part for part in (levels, agency) if part)}")
    place = [
        line.removeprefix("- Nơi nộp: ")
        for line in answers.who_and_where(procedure, settings)
        if line.startswith("- Nơi nộp: ")
    ]
    if place:
        lines.append(f"- Where to apply: {place[0]}")
    return lines


def _documents(procedure: Procedure, limit: int) -> list[str]:
    documents = answers.merged_documents(procedure.documents)
    if not documents:
        return ["- Documents: not stated in the catalogue"]
    lines = [f"- Documents to bring ({len(documents)}):"]
    for document in documents[:limit]:
        mark = answers.document_mark(document)
        mark = {
            answers.PRINTED_MARK: " [printed by the office, you check and sign]",
            answers.SHOWN_MARK: " [show only]",
        }.get(mark, "")
        lines.append(f"  ☐ {answers.shorten_clause(document.name, answers.MAX_CARD_DOCUMENT_CHARS)}{mark}")
    if len(documents) > limit:
        lines.append(f"  … and {len(documents) - limit} more (tap «Documents»)")
    return lines


def _local_line(procedure: Procedure, settings: Settings) -> str:
    local = procedure.local
    if local is None or not local.fields:
        return ""
    province = local.province or settings.province.name
    if local.sample:
        return f"(Sample data of the province of {province}, not its official rules.)"
    source = f": {local.source}" if local.source else ""
    return f"(Set by the province of {province}{source}; shown instead of the national record.)"


def _body(procedure: Procedure, aspect: str, settings: Settings, limit: int) -> str:
    title = f"«{answers.short_title(procedure)}» (code {procedure.code})"
    if aspect == "overview":
        lines = [title]
        if procedure.summary.strip():
            lines.append(f"Purpose: {answers.purpose(procedure)}")
        elif procedure.result.strip() and procedure.result.strip().lower() not in (
            "không có thông tin",
            "đang cập nhật",
        ):
            lines.append(
                f"Result: {answers.shorten_clause(procedure.result.splitlines()[0], answers.MAX_CARD_PURPOSE_CHARS)}"
            )
        lines += _where(procedure, settings)
        lines += _documents(procedure, limit)
        lines += _facts("Fee", answers.fee_lines(procedure))
        lines += _facts("Processing time", answers.time_lines(procedure))
        lines.append(f"- Online: {_online(procedure)}")
    elif aspect == "documents":
        lines = [f"Documents for {title}:", *_documents(procedure, answers.MAX_DOCUMENTS)[1:]]
    elif aspect == "fee":
        lines = [f"Fee for {title}:", *(answers.fee_lines(procedure) or ["not stated in the catalogue"])]
    elif aspect == "time":
        lines = [f"Processing time for {title}:", *(answers.time_lines(procedure) or ["not stated in the catalogue"])]
    elif aspect == "where":
        lines = [f"Where to apply for {title}:", *_where(procedure, settings)]
        if procedure.where_to_submit.strip():
            lines.append(f"- Published address: {answers.shorten_clause(procedure.where_to_submit, 400)}")
    elif aspect == "online":
        lines = [f"Online for {title}: {_online(procedure)}."]
    else:
        labels = {
            "steps": ("Steps", procedure.steps),
            "conditions": ("Conditions", procedure.conditions),
            "result": ("Result", procedure.result),
        }
        label, text = labels.get(aspect, ("Steps", procedure.steps))
        stated = text.strip() and text.strip().lower() not in ("không có thông tin", "đang cập nhật")
        lines = [
            f"{label} for {title}:",
            answers.shorten_clause(text, answers.MAX_FIELD_CHARS)
            if stated
            else "not stated in the catalogue; please ask at the one-stop counter.",
        ]
    local = _local_line(procedure, settings)
    if local and answers.shows_local_facts(procedure, aspect):
        lines.append(local)
    return "\n".join(lines)


def next_steps(procedure: Procedure, aspect: str, max_buttons: int) -> list[Button]:
    """English quick replies: the other aspects (English messages with the code), the printable checklist
    (when the record lists documents) and a human; as many as the channel shows, the aspects cut first."""
    tail = [Button(HANDOFF_EN, answers.HANDOFF_PAYLOAD)]
    if procedure.documents:
        tail.insert(0, Button(CHECKLIST_EN, url=answers.checklist_path(procedure.code)))
    order = _ORDER_AFTER_CARD if aspect == "overview" else _ORDER_AFTER_ASPECT
    room = max(0, max_buttons - len(tail))
    shown = [item for item in order if item != aspect][:room]
    buttons = [Button(NEXT_STEPS_EN[item][0], NEXT_STEPS_EN[item][1].format(code=procedure.code)) for item in shown]
    return buttons + tail[:max_buttons]


def answer(procedure: Procedure, aspect: str, settings: Settings | None = None, max_buttons: int = 0) -> Reply:
    """The English reply about one aspect of a procedure: English labels, the record's Vietnamese text, the
    note that details are in Vietnamese, the 2025 reform note when the record names the district level, links."""
    settings = settings or get_settings()
    links = [
        Link("Procedure details on the National Public Service Portal (Vietnamese)", link.url)
        if link.url == procedure.source_url
        else link
        for link in answers.procedure_links(procedure, settings)
    ]
    reform = district_note(procedure, settings)
    limit = answers.MAX_CARD_DOCUMENTS

    def compose(limit: int) -> str:
        parts = [_body(procedure, aspect, settings, limit)]
        if reform:
            parts.append(f"2025 reform (in Vietnamese): {reform}")
        parts.append(VIETNAMESE_NOTE)
        return "\n\n".join(parts)

    text = compose(limit)
    while aspect == "overview" and limit > 1 and len(Reply(text, links=links).full_text()) > answers.MAX_CARD_CHARS:
        limit -= 1
        text = compose(limit)
    buttons = next_steps(procedure, aspect, max_buttons) if max_buttons > 0 else []
    return Reply(text=text, buttons=buttons, links=links, outcome=ReplyOutcome.answered)


def ask_back(hits: list[SearchHit]) -> Reply:
    """Several procedures fit: the (Vietnamese) titles as buttons sending an English message with the code; typing
    the number ("2", "the second one") picks one too (action_choose_option)."""
    options = hits[: answers.MAX_OPTIONS]
    buttons = [
        Button(answers.shorten_clause(hit.title, answers.MAX_TITLE_CHARS), f"Tell me about procedure {hit.code}")
        for hit in options
    ]
    return Reply(
        text="Which of these procedures do you mean? (Their names are in Vietnamese.)",
        buttons=buttons,
        outcome=ReplyOutcome.asked_back,
    )


def which_procedure() -> Reply:
    return Reply(
        text="Which procedure would you like to ask about? For example: «How do I register temporary residence?»",
        outcome=ReplyOutcome.asked_back,
    )


def not_found(administrative: bool, settings: Settings | None = None) -> Reply:
    """Nothing in the catalogue fits: say so in English, say where to ask, offer a human."""
    settings = settings or get_settings()
    lines = [
        "Sorry, I could not find this procedure in the province's catalogue."
        if administrative
        else "Sorry, I can only help with administrative procedures (documents, fees, processing time, where to "
        "apply). Please name the procedure, for example «How do I apply for a passport?»."
    ]
    lines.append(f"You can ask in person at {answers.counter_name(settings)}.")
    if local_directory.hotline(settings):
        lines.append(f"Hotline: {local_directory.hotline(settings)}")
    return Reply(
        text="\n".join(lines),
        buttons=[Button(HANDOFF_EN, answers.HANDOFF_PAYLOAD)],
        links=[Link("National Public Service Portal (Vietnamese)", settings.national_portal_url)],
        outcome=ReplyOutcome.not_in_catalogue if administrative else ReplyOutcome.abstained,
    )


def unknown_option(count: int) -> Reply:
    """A pick that is not on the list (`answers.unknown_option`, in English)."""
    if count:
        return Reply(
            text=f"Please choose a number from 1 to {count} from the list above (or tap one).",
            outcome=ReplyOutcome.asked_back,
        )
    return Reply(
        text="There is no list to choose from yet. Which procedure would you like to ask about?",
        outcome=ReplyOutcome.asked_back,
    )
