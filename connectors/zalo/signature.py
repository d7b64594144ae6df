"""Zalo OA webhook authenticity: the `X-ZEvent-Signature` MAC and the replay window.

Zalo signs each event as `mac=<hex sha256(app_id + raw_body + timestamp + oa_secret_key)>`
(a plain SHA-256 over the concatenation, not an HMAC), where `timestamp` is the event's own
`timestamp` field (milliseconds, as the string Zalo sent) and the key is the OA secret key,
not the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-ZEvent-Signature"
MAC_PREFIX = "mac="


class SignatureError(Exception):
    """The request is not authentic or is a replay; str() is the reason returned with 401."""


def compute_mac(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Hex SHA-256 of app_id + raw body + timestamp + OA secret key, as Zalo computes it."""
    digest = hashlib.sha256()
    digest.update(app_id.encode("utf-8"))
    digest.update(raw_body)
    digest.update(timestamp.encode("utf-8"))
    digest.update(oa_secret_key.encode("utf-8"))
    return digest.hexdigest()


def signature_header(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The header value Zalo sends for this body (used by the fake Zalo in tests, too)."""
    return MAC_PREFIX + compute_mac(app_id, raw_body, timestamp, oa_secret_key)


def verify_signature(
    header_value: str | None, app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str
) -> None:
    """Raise SignatureError unless the header carries the MAC of this exact body."""
    if not header_value:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    supplied = header_value.strip()
    if supplied.lower().startswith(MAC_PREFIX):
        supplied = supplied[len(MAC_PREFIX) :]
    expected = compute_mac(app_id, raw_body, timestamp, oa_secret_key)
    if not hmac.compare_digest(supplied.strip().lower(), expected):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")


def verify_fresh(timestamp_ms: int, max_age_seconds: float, now: float | None = None) -> None:
    """Raise SignatureError when the event is older than the window (or too far in the future).

    A captured, validly signed request replayed later is refused; the same window is allowed
    ahead of our clock for clock skew.
    """
    now = time.time() if now is None else now
    age = now - timestamp_ms / 1000.0
    if age > max_age_seconds:
        raise SignatureError(f"stale event: timestamp is {int(age)} s old (limit {int(max_age_seconds)} s)")
    if age < -max_age_seconds:
        raise SignatureError("event timestamp is in the future beyond the allowed clock skew")
