"""Zalo connector configuration: the `credentials.yml` block and the environment variables behind it.

No Rasa import here, so the launcher (Python 3.11 app env) can use `zalo_env_defaults`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Secrets come from the environment through Rasa's ${VAR} substitution in credentials.yml.
# Rasa refuses to start when a ${VAR} it reads is unset, so the launcher sets the missing ones
# to "" (see zalo_env_defaults) and the channel then disables itself with one log line.
ENV_VARS = {
    "ZALO_APP_ID": "app_id",
    "ZALO_OA_SECRET_KEY": "oa_secret_key",
    "ZALO_ACCESS_TOKEN": "access_token",
    "ZALO_REFRESH_TOKEN": "refresh_token",
    "ZALO_APP_SECRET": "app_secret",
    # The site's public origin (e.g. https://tthc.tayninh.gov.vn): links to the app's own pages, such as the
    # printable checklist /checklist/<code>, become absolute with it; unset = those links are left out on Zalo.
    "ZALO_PUBLIC_URL": "public_url",
}

DEFAULT_API_BASE = "https://openapi.zalo.me"
DEFAULT_OAUTH_URL = "https://oauth.zaloapp.com/v4/oa/access_token"
DEFAULT_OUTBOX_PATH = "var/zalo_outbox.sqlite"
# Zalo's API addresses, also from the environment so a test (or a province's egress proxy) can
# point a real `tthc up` elsewhere; unset = Zalo's own.
URL_ENV_VARS = {
    "ZALO_API_BASE": DEFAULT_API_BASE,
    "ZALO_OAUTH_URL": DEFAULT_OAUTH_URL,
}


def zalo_env_defaults(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Values for the Zalo variables that are unset, so Rasa can read credentials.yml: secrets
    empty (the channel then stays off), API addresses Zalo's own."""
    environ = os.environ if environ is None else environ
    defaults = {name: "" for name in ENV_VARS if name not in environ}
    defaults.update({name: url for name, url in URL_ENV_VARS.items() if name not in environ})
    return defaults


class ConfigError(Exception):
    """A credentials.yml value is unusable; str() names the key and the fix."""


def _number(credentials: Mapping[str, Any], key: str, default: float) -> float:
    value = credentials.get(key)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"credentials.yml zalo '{key}' must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"credentials.yml zalo '{key}' must not be negative, got {value!r}")
    return number


def _positive(credentials: Mapping[str, Any], key: str, default: float) -> float:
    number = _number(credentials, key, default)
    if number <= 0:
        raise ConfigError(f"credentials.yml zalo '{key}' must be greater than 0, got {number!r}")
    return number


def _delays(value: Any) -> tuple[float, ...]:
    if value in (None, ""):
        return (1.0, 2.0, 4.0)
    if isinstance(value, (int, float)):
        value = [value]
    try:
        delays = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"credentials.yml zalo 'retry_delays' must be a list of seconds, got {value!r}") from None
    if any(d < 0 for d in delays):
        raise ConfigError("credentials.yml zalo 'retry_delays' must not be negative")
    return delays


def _store_target(value: str) -> Path | str:
    return value if value.startswith(("postgresql://", "postgres://")) else Path(value)


def _public_url(value: str) -> str:
    if value and not value.startswith(("https://", "http://")):
        raise ConfigError(f"credentials.yml zalo 'public_url' must be an http(s) origin, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class ZaloConfig:
    """Everything the connector reads from its credentials.yml block."""

    app_id: str = ""
    oa_secret_key: str = ""
    access_token: str = ""
    refresh_token: str = ""
    app_secret: str = ""
    api_base: str = DEFAULT_API_BASE
    oauth_url: str = DEFAULT_OAUTH_URL
    # A SQLite file, or a postgresql:// URL on the scale-out profile (assistant/core/storage.py).
    outbox_path: Path | str = Path(DEFAULT_OUTBOX_PATH)
    # Replay window: events whose body timestamp is older than this are refused.
    max_age_seconds: float = 300.0
    # Pauses between delivery attempts before a reply goes to the outbox (len + 1 attempts).
    retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    request_timeout_seconds: float = 10.0
    # How often the background flusher retries the outbox.
    flush_interval_seconds: float = 30.0
    # Outbox attempts after which a reply is parked as "dead" (kept, logged, no longer retried).
    max_outbox_attempts: int = 50
    # Longer citizen messages get a polite request to shorten them instead of an answer.
    max_input_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    # Per Zalo user: messages beyond this rate are acknowledged but not answered (one notice).
    sender_rate_limit_per_minute: float = 20.0
    sender_rate_limit_burst: int = 8
    # SQLite file (or redis:// URL, scale-out) holding the rate-limit buckets for all Rasa workers
    # ("" = env TTHC_RATE_LIMIT_DB, set by tthc up; neither = per process).
    rate_limit_db: str = ""
    # Public origin of the site (nginx), for links to the app's pages ("/checklist/<code>"); "" = no such links.
    public_url: str = ""

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> ZaloConfig:
        credentials = credentials or {}

        def text(key: str, default: str = "") -> str:
            value = credentials.get(key)
            return default if value is None or str(value).strip() == "" else str(value).strip()

        return cls(
            app_id=text("app_id"),
            oa_secret_key=text("oa_secret_key"),
            access_token=text("access_token"),
            refresh_token=text("refresh_token"),
            app_secret=text("app_secret"),
            api_base=text("api_base", DEFAULT_API_BASE).rstrip("/"),
            oauth_url=text("oauth_url", DEFAULT_OAUTH_URL),
            outbox_path=_store_target(text("outbox_path", DEFAULT_OUTBOX_PATH)),
            max_age_seconds=_number(credentials, "max_age_seconds", 300.0),
            retry_delays=_delays(credentials.get("retry_delays")),
            request_timeout_seconds=_number(credentials, "request_timeout_seconds", 10.0),
            flush_interval_seconds=_number(credentials, "flush_interval_seconds", 30.0),
            max_outbox_attempts=int(_number(credentials, "max_outbox_attempts", 50)),
            max_input_chars=int(_number(credentials, "max_input_chars", 2000)),
            max_body_bytes=int(_number(credentials, "max_body_bytes", 64 * 1024)),
            sender_rate_limit_per_minute=_positive(credentials, "sender_rate_limit_per_minute", 20.0),
            sender_rate_limit_burst=int(_positive(credentials, "sender_rate_limit_burst", 8)),
            rate_limit_db=text("rate_limit_db"),
            public_url=_public_url(text("public_url")),
        )

    @property
    def missing_for_webhook(self) -> list[str]:
        """Environment variables still needed to accept webhook events."""
        return [env for env, key in ENV_VARS.items() if key in ("app_id", "oa_secret_key") and not getattr(self, key)]

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.app_secret and self.app_id)
