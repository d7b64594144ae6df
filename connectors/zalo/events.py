"""Parse and validate Zalo OA webhook events into the few kinds the assistant acts on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Answered through Rasa.
TEXT_EVENTS = frozenset({"user_send_text"})
# Answered with a polite "I can only read text" reply.
NON_TEXT_EVENTS = frozenset(
    {
        "user_send_image",
        "user_send_sticker",
        "user_send_file",
        "user_send_location",
        "user_send_audio",
        "user_send_gif",
        "user_send_video",
        "user_send_link",
        "user_send_business_card",
    }
)
# Delivery receipts and echoes of the OA's own messages: acknowledged, never answered.
ECHO_EVENTS = frozenset({"user_received_message", "user_seen_message"})
OA_ECHO_PREFIX = "oa_send_"

KIND_TEXT = "text"
KIND_NON_TEXT = "non_text"
KIND_IGNORED = "ignored"


class PayloadError(Exception):
    """The webhook body is not a usable Zalo event; str() is the reason returned with 400."""


@dataclass(frozen=True)
class ZaloEvent:
    """One webhook delivery, reduced to what the connector needs."""

    name: str
    kind: str
    timestamp_ms: int
    user_id: str = ""
    msg_id: str = ""
    text: str = ""


def parse_body(raw_body: bytes) -> dict[str, Any]:
    """Decode the JSON object of a webhook body (PayloadError when it is not one)."""
    if not raw_body:
        raise PayloadError("empty body: expected a Zalo event as a JSON object")
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not valid UTF-8 JSON ({exc.__class__.__name__})") from None
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object (a Zalo event)")
    return body


def timestamp_of(body: dict[str, Any]) -> tuple[str, int]:
    """The `timestamp` field as Zalo sent it (for the MAC) and as integer milliseconds."""
    value = body.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PayloadError("missing 'timestamp' (milliseconds since the epoch)")
    text = str(value).strip()
    if not text.isdigit():
        raise PayloadError("'timestamp' must be milliseconds since the epoch (digits only)")
    return str(value), int(text)


def classify(event_name: str) -> str:
    """Which kind of handling an event name gets."""
    if event_name in TEXT_EVENTS:
        return KIND_TEXT
    if event_name in NON_TEXT_EVENTS:
        return KIND_NON_TEXT
    return KIND_IGNORED


def parse_event(body: dict[str, Any], timestamp_ms: int) -> ZaloEvent:
    """Validate an authenticated body and reduce it to a ZaloEvent (PayloadError when malformed)."""
    name = body.get("event_name")
    if not isinstance(name, str) or not name:
        raise PayloadError("missing 'event_name'")
    kind = classify(name)
    if kind == KIND_IGNORED:
        return ZaloEvent(name=name, kind=kind, timestamp_ms=timestamp_ms)

    sender = body.get("sender")
    user_id = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(user_id, (str, int)) or isinstance(user_id, bool) or not str(user_id):
        raise PayloadError(f"'{name}' needs 'sender.id' (the Zalo user id)")
    message = body.get("message")
    if not isinstance(message, dict):
        raise PayloadError(f"'{name}' needs a 'message' object")
    msg_id = message.get("msg_id")
    if not isinstance(msg_id, str) or not msg_id:
        raise PayloadError(f"'{name}' needs 'message.msg_id'")
    text = message.get("text")
    if kind == KIND_TEXT and not isinstance(text, str):
        raise PayloadError("'user_send_text' needs 'message.text' as a string")
    return ZaloEvent(
        name=name,
        kind=kind,
        timestamp_ms=timestamp_ms,
        user_id=str(user_id),
        msg_id=msg_id,
        text=text if isinstance(text, str) else "",
    )


def is_echo(event_name: str) -> bool:
    """Receipts and the OA's own sent messages, which must never trigger a reply."""
    return event_name in ECHO_EVENTS or event_name.startswith(OA_ECHO_PREFIX)
