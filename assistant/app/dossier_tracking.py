"""Adapter to the province's one-stop (một cửa) system: look a dossier up by its receipt code.

Protocol (configurable base URL `settings.one_stop_system.tracking_url`):
    GET {tracking_url}/{code}
    200 -> JSON object with at least "status" (text); optional "procedure", "received_at",
           "due_at", "note" (all text) are shown when present.
    404 -> the code is unknown to the system.
    anything else, a timeout or a refused connection -> the system is unreachable.

Accepted receipt-code format (checked before any request, so typos get a precise message):
6–30 characters, letters and digits in groups joined by "." or "-", with at least one digit,
e.g. "000.00.12.H59-250101-0001". Case and surrounding spaces are ignored (codes are upper-cased).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import quote

import httpx

from assistant.core.settings import Settings, get_settings

CODE_PATTERN = re.compile(r"^[A-Z0-9]+(?:[.\-][A-Z0-9]+)*$")
MIN_CODE_LENGTH, MAX_CODE_LENGTH = 6, 30
# Finds a code-like token inside a sentence when Rasa did not extract the entity.
_CODE_IN_TEXT = re.compile(r"(?<![\w.\-])[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*(?![\w.\-])")
DETAIL_FIELDS = ("procedure", "received_at", "due_at", "note")


class TrackingStatus(str, Enum):
    found = "found"
    malformed = "malformed"  # the code does not have the accepted format
    unknown = "unknown"  # the system does not know the code (404)
    unreachable = "unreachable"  # timeout, refused connection, server error, unreadable reply
    not_configured = "not_configured"  # no tracking_url in settings


@dataclass(frozen=True)
class TrackingResult:
    status: TrackingStatus
    code: str
    details: dict[str, str] = field(default_factory=dict)  # "status" plus DETAIL_FIELDS when found


def normalize_code(code: str) -> str:
    return "".join(code.split()).upper()


def is_valid_code(code: str) -> bool:
    """True when a (normalized) code has the accepted receipt-code format."""
    return (
        MIN_CODE_LENGTH <= len(code) <= MAX_CODE_LENGTH
        and CODE_PATTERN.match(code) is not None
        and any(ch.isdigit() for ch in code)
    )


def find_code_in_text(text: str) -> str | None:
    """The first token of the text that has the receipt-code format, if any."""
    for match in _CODE_IN_TEXT.finditer(text or ""):
        candidate = normalize_code(match.group())
        if is_valid_code(candidate):
            return candidate
    return None


async def look_up(code: str, settings: Settings | None = None, timeout: float | None = None) -> TrackingResult:
    """Validate the code, then ask the one-stop system for the dossier's status."""
    settings = settings or get_settings()
    code = normalize_code(code or "")
    if not is_valid_code(code):
        return TrackingResult(TrackingStatus.malformed, code)
    base_url = settings.one_stop_system.tracking_url.strip()
    if not base_url:
        return TrackingResult(TrackingStatus.not_configured, code)
    url = f"{base_url.rstrip('/')}/{quote(code, safe='')}"
    try:
        async with httpx.AsyncClient(timeout=timeout or settings.one_stop_system.timeout_seconds) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError:
        return TrackingResult(TrackingStatus.unreachable, code)
    if response.status_code == 404:
        return TrackingResult(TrackingStatus.unknown, code)
    if response.status_code != 200:
        return TrackingResult(TrackingStatus.unreachable, code)
    try:
        payload = response.json()
    except ValueError:
        return TrackingResult(TrackingStatus.unreachable, code)
    if not isinstance(payload, dict) or not str(payload.get("status") or "").strip():
        return TrackingResult(TrackingStatus.unreachable, code)
    details = {"status": str(payload["status"]).strip()}
    details.update({key: str(payload[key]).strip() for key in DETAIL_FIELDS if payload.get(key)})
    return TrackingResult(TrackingStatus.found, code, details)
