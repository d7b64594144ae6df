"""Every question the assistant handled, with what it did: the raw material for the catalogue team's
"unanswered questions" list, labelling and dashboard (issue 14).

Recorded at the custom-action endpoint (`assistant/app/server/routers/actions.py`), which sees every call
Rasa makes to a custom action: the tracker (latest user message, intent, channel, sender) going in and
the events and messages coming out. The actions themselves know nothing about this log.

One row per custom-action call, in the app database (`conversation_log.default_db_path()`, table
`interactions`):
- `question`: the latest user message, masked by `privacy.mask_pii` before it is written and cut to
  MAX_QUESTION_CHARS (a button's payload, "/choose_option{...}", is stored as it is: it holds no words);
- `sender_id` as the hand-off and feedback tables store it (the channel's conversation id: a random id
  from the web chat, the Zalo user id), so rows of one conversation can be read together;
- `outcome` (OUTCOMES): the one the action's reply states (`assistant.core.reply.ReplyOutcome`, carried on the
  message under `reply.OUTCOME_KEY`; never guessed from the reply's wording), read by `classify`;
- `codes`: the procedure(s) offered (the one answered, the options of an ask-back or a suggestion list);
- `chosen_option` / `chosen_code`: on a choose_option row, the option number and the procedure it gave;
  the same code is also written on the sender's latest asked-back row (what the citizen clicked);
- `feedback`: "good"/"bad" on a feedback row, and on the row of the answer it rates;
- `action_ms`: the action call (search and reply composition); `turn_ms`: from the user message's
  timestamp (Rasa's clock) to the end of the action, so NLU and policies included (None when unknown).

Turns Rasa answers with a response template alone (greet, goodbye, thanks, yes/no, "are you a bot") never
reach the action endpoint and are not recorded (docs/staff.md, "What is recorded"); small talk
(action_small_talk) and off-topic messages (action_check_scope, action_default_fallback) are. Rows are deleted
with the other app records by `tthc privacy purge` (`purge_older_than`).

Functions (all take an optional `db_path`; default: the app database):
- `classify(action, events, messages, tracker) -> Classification`
- `describe(action_call, result, action_ms) -> InteractionRecord | None` (masked, not stored) and
  `save(interaction, db_path=None) -> int`; `record(...)` does both
- `list_interactions(since=None, until=None, outcome=None, channel=None, limit=100, db_path=None)`
- `purge_older_than(cutoff, db_path=None) -> int`
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from assistant.app import conversation_log
from assistant.core.privacy import mask_pii
from assistant.core.reply import OUTCOME_KEY, ReplyOutcome

OUTCOMES = tuple(outcome.value for outcome in ReplyOutcome)  # defined in assistant/core/reply.py
MAX_QUESTION_CHARS = 500
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")  # dates in list_interactions are days in Vietnam (no DST)
TURN_MS_LIMIT = 3_600_000  # a "turn" longer than an hour means the clocks disagree: not a latency

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,       -- ISO 8601 UTC, seconds
    sender_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    intent TEXT NOT NULL,
    question TEXT NOT NULL,         -- masked
    outcome TEXT NOT NULL,
    codes TEXT NOT NULL,            -- JSON list of procedure codes offered
    chosen_option INTEGER,
    chosen_code TEXT,
    feedback TEXT,                  -- 'good' | 'bad'
    action_ms INTEGER NOT NULL,
    turn_ms INTEGER
);
CREATE INDEX IF NOT EXISTS interactions_created ON interactions (created_at);
CREATE INDEX IF NOT EXISTS interactions_sender ON interactions (sender_id, id);
"""

# The fallback's suggestion buttons and the ask-back options (assistant.app.answers payloads).
_PROCEDURE_PAYLOAD = re.compile(r'^/ask_procedure\{"procedure_code":"(?P<code>[^"]+)"\}$')
_OPTION_PAYLOAD = re.compile(r'^/choose_option\{"option_index":"(?P<index>\d+)"\}$')


@dataclass(frozen=True)
class Classification:
    outcome: str
    codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InteractionRecord:
    id: int
    created_at: str  # ISO 8601, UTC
    sender_id: str
    channel: str
    action: str
    intent: str
    question: str  # masked
    outcome: str
    codes: list[str]
    chosen_option: int | None
    chosen_code: str | None
    feedback: str | None
    action_ms: int
    turn_ms: int | None

    def as_dict(self) -> dict:
        return asdict(self)


# ---- deriving the outcome ------------------------------------------------------------------------


def _slot_events(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The last value each slot is set to by the action's events."""
    return {e.get("name"): e.get("value") for e in events if isinstance(e, dict) and e.get("event") == "slot"}


def _codes(value: Any) -> list[str]:
    return [str(code) for code in value if code] if isinstance(value, list) else []


def stated_outcome(messages: list[dict[str, Any]]) -> str:
    """The outcome the action's replies state (the last message that states a known one); "other" when none
    does (an action that sent nothing, or a reply composed without an outcome)."""
    for message in reversed(messages):
        value = message.get(OUTCOME_KEY)
        if value in OUTCOMES:
            return str(value)
    return ReplyOutcome.other.value


def without_outcomes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages as Rasa gets them: the outcome is for the log, not for the channel."""
    return [{key: value for key, value in message.items() if key != OUTCOME_KEY} for message in messages]


def classify(
    action: str, events: list[dict[str, Any]], messages: list[dict[str, Any]], tracker: dict[str, Any] | None = None
) -> Classification:
    """What an action call did: the outcome its replies state (`stated_outcome`), and the procedures offered.

    The codes come from the actions' contract with the dialogue: an answer sets `procedure_code`; an ask-back
    sets `candidate_codes`, or offers the list shown earlier again (option buttons, "cái thứ 5" of a list of
    2: the tracker's `candidate_codes`); the fallback's suggestions are buttons with the procedure's code.
    """
    outcome = stated_outcome(messages)
    slots = _slot_events(events)
    if outcome == ReplyOutcome.answered.value:
        code = slots.get("procedure_code")
        return Classification(outcome, [str(code)] if code else [])
    payloads = [str(b.get("payload") or "") for m in messages for b in (m.get("buttons") or []) if isinstance(b, dict)]
    if outcome == ReplyOutcome.asked_back.value:
        candidates = _codes(slots.get("candidate_codes"))
        if not candidates and (any(map(_OPTION_PAYLOAD.match, payloads)) or action == "action_choose_option"):
            candidates = _codes(((tracker or {}).get("slots") or {}).get("candidate_codes"))
        return Classification(outcome, candidates)
    if outcome == ReplyOutcome.abstained.value:
        return Classification(
            outcome, [match.group("code") for match in map(_PROCEDURE_PAYLOAD.match, payloads) if match]
        )
    return Classification(outcome)


# ---- writing -------------------------------------------------------------------------------------


def _turn_ms(tracker: dict[str, Any], now: float) -> int | None:
    """Milliseconds since the latest user message reached Rasa (its event's timestamp)."""
    for event in reversed(tracker.get("events") or []):
        if isinstance(event, dict) and event.get("event") == "user":
            stamp = event.get("timestamp")
            if not isinstance(stamp, (int, float)):
                return None
            elapsed = round((now - stamp) * 1000)
            return elapsed if 0 <= elapsed <= TURN_MS_LIMIT else None
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _chosen_option(tracker: dict[str, Any]) -> int | None:
    """The option number of a choose_option turn: the entity, else the payload or the typed digits."""
    latest = tracker.get("latest_message") or {}
    for entity in latest.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == "option_index":
            number = _int_or_none(entity.get("value"))
            if number is not None:
                return number
    digits = re.search(r"\d+", str(latest.get("text") or ""))
    return int(digits.group()) if digits else None


def describe(action_call: dict[str, Any], result: dict[str, Any], action_ms: float) -> InteractionRecord | None:
    """The row for one action call, not yet stored (id 0); None for a call without a tracker.

    `action_call`: the body Rasa posted; `result`: {"events": [...], "responses": [...]} the executor
    returned; `action_ms`: how long the action took. The question is masked here.
    """
    tracker = action_call.get("tracker")
    if not isinstance(tracker, dict):
        return None
    action = str(action_call.get("next_action") or "")
    events = [e for e in (result.get("events") or []) if isinstance(e, dict)]
    messages = [m for m in (result.get("responses") or []) if isinstance(m, dict)]
    verdict = classify(action, events, messages, tracker)
    latest = tracker.get("latest_message") or {}
    intent = str(((latest.get("intent") or {}).get("name")) or "")
    chosen_option = chosen_code = feedback = None
    if action == "action_choose_option" and verdict.outcome == "answered":
        chosen_option, chosen_code = _chosen_option(tracker), verdict.codes[0]
    if verdict.outcome == "feedback":
        feedback = "bad" if intent == "feedback_bad" else "good"
    return InteractionRecord(
        id=0,
        created_at=conversation_log.utc_now(),
        sender_id=str(tracker.get("sender_id") or action_call.get("sender_id") or ""),
        channel=str(tracker.get("latest_input_channel") or ""),
        action=action,
        intent=intent,
        question=mask_pii(str(latest.get("text") or "")[:MAX_QUESTION_CHARS]),
        outcome=verdict.outcome,
        codes=verdict.codes,
        chosen_option=chosen_option,
        chosen_code=chosen_code,
        feedback=feedback,
        action_ms=max(0, round(action_ms)),
        turn_ms=_turn_ms(tracker, time.time()),
    )


def save(interaction: InteractionRecord, db_path: Path | None = None) -> int:
    """Store a described interaction; returns its id. A choice is also written on the sender's latest
    asked-back row, a rating on the sender's latest row that is not feedback (the answer it rates)."""
    row = interaction.as_dict()
    del row["id"]
    row["codes"] = json.dumps(row["codes"], ensure_ascii=False)
    row["question"] = mask_pii(row["question"])  # already masked by describe(); a stored row never is not
    with closing(conversation_log.connect(db_path, _SCHEMA)) as connection, connection:
        if interaction.chosen_code:
            connection.execute(
                "UPDATE interactions SET chosen_code = ?, chosen_option = ? WHERE id = (SELECT MAX(id) FROM "
                "interactions WHERE sender_id = ? AND outcome = 'asked_back' AND action != 'action_choose_option')",
                (interaction.chosen_code, interaction.chosen_option, interaction.sender_id),
            )
        if interaction.feedback:
            connection.execute(
                "UPDATE interactions SET feedback = ? WHERE id = (SELECT MAX(id) FROM interactions "
                "WHERE sender_id = ? AND outcome != 'feedback')",
                (interaction.feedback, interaction.sender_id),
            )
        columns = ", ".join(row)
        return connection.insert(
            f"INSERT INTO interactions ({columns}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
        )


def record(
    action_call: dict[str, Any], result: dict[str, Any], action_ms: float, db_path: Path | None = None
) -> int | None:
    """describe() and save() in one: the stored row's id, None for a call without a tracker."""
    interaction = describe(action_call, result, action_ms)
    return save(interaction, db_path) if interaction is not None else None


# ---- reading and retention -----------------------------------------------------------------------


def _bound(value: date | datetime, end_of_day: bool) -> str:
    """An ISO UTC bound: a date is a whole day in Vietnam time; a datetime must be timezone-aware."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        moment = value
    else:
        moment = datetime(value.year, value.month, value.day, tzinfo=VIETNAM_TIME)
    try:
        if end_of_day and not isinstance(value, datetime):
            moment += timedelta(days=1)
        return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
    except OverflowError:  # beyond year 1 or 9999: before or after every row ("0..." < "9")
        return "9" if moment.year > 1 else "0"


def list_interactions(
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    outcome: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    db_path: Path | None = None,
) -> list[InteractionRecord]:
    """Recorded interactions, newest first (at most `limit`).

    `since` / `until`: dates are inclusive days in Vietnam time; datetimes (aware) are instants, `until`
    exclusive. `outcome`: one of OUTCOMES. `channel`: the Rasa input channel ("rest", "zalo", ...).
    """
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    conditions: list[str] = []
    parameters: list[Any] = []
    if since is not None:
        conditions.append("created_at >= ?")
        parameters.append(_bound(since, end_of_day=False))
    if until is not None:
        conditions.append("created_at < ?")
        parameters.append(_bound(until, end_of_day=True))
    if outcome:
        conditions.append("outcome = ?")
        parameters.append(outcome)
    if channel:
        conditions.append("channel = ?")
        parameters.append(channel)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    with closing(conversation_log.connect(db_path, _SCHEMA)) as connection:
        rows = connection.execute(
            f"SELECT * FROM interactions{where} ORDER BY id DESC LIMIT ?", (*parameters, max(0, limit))
        ).fetchall()
    return [
        InteractionRecord(**{key: row[key] for key in row.keys() if key != "codes"}, codes=json.loads(row["codes"]))
        for row in rows
    ]


def purge_older_than(cutoff: datetime, db_path: Path | None = None) -> int:
    """Delete interactions recorded before `cutoff` (retention); returns how many."""
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware (UTC)")
    limit = cutoff.astimezone(timezone.utc).isoformat(timespec="seconds")
    with closing(conversation_log.connect(db_path, _SCHEMA)) as connection, connection:
        return int(connection.execute("DELETE FROM interactions WHERE created_at < ?", (limit,)).rowcount)
