"""Rasa REST channel for the website chat, with the protections a public endpoint needs.

Same URL and payload as Rasa's built-in `rest` channel (POST /webhooks/rest/webhook with
{"sender", "message"}), so the chat widget needs no change. Before Rasa sees a message it:
- refuses bodies over `max_body_bytes` (413) and malformed payloads (400, naming the problem)
  instead of Rasa's 500 on a body that is not a JSON object;
- rate-limits per sender id and, for non-loopback clients, per client address (429 with
  Retry-After). Loopback is exempt from the address limit: behind a reverse proxy on the same
  host every request comes from 127.0.0.1, so limit addresses at the proxy (see docs/security.md);
- answers an empty/invisible message and one over `max_message_chars` with a polite reply itself.
The client cannot set the tracker's input channel or message metadata (Rasa's REST channel takes
both from the body): every message is recorded as channel "rest" without metadata. Nor can it use
an all-digit sender id, the form of Zalo user ids, which would open a Zalo citizen's conversation.
`GET /webhooks/rest/` is the readiness check (`tthc up` waits for it, because Rasa runs without its
HTTP API): 200 once this worker has loaded the model, 503 before.
After Rasa, a turn that produced no bot message at all (the action server down, an exception in
Rasa) gets `silence_reply`, an apology with the portal link, instead of silence.
Refusals carry a list with one bot message, the shape the widget renders.

credentials.yml (instead of `rest:`):
    connectors.guarded_rest.GuardedRestInput:
      sender_rate_limit_per_minute: 60
      sender_rate_limit_burst: 15
      address_rate_limit_per_minute: 300
      address_rate_limit_burst: 100
      max_message_chars: 2000
      max_body_bytes: 65536
      silence_reply: "…"   # optional; default below
      rate_limit_db: "…"   # optional; default env TTHC_RATE_LIMIT_DB (set by tthc up)
The limits hold across Rasa's worker processes: their buckets live in that SQLite file
(`assistant.core.ratelimit.SharedTokenBucketLimiter`); without a path they are per process.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.core.input_cleaning import clean_message
from assistant.core.ratelimit import sender_limiter
from connectors.fallback_replies import SILENCE_REPLY

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
EMPTY_MESSAGE_REPLY = (
    "Anh/Chị chưa nhập nội dung. Vui lòng gõ câu hỏi về thủ tục hành chính, ví dụ: “làm căn cước cần giấy tờ gì?”."
)


def too_long_reply(limit: int) -> str:
    return f"Tin nhắn dài quá {limit} ký tự. Anh/Chị vui lòng rút gọn câu hỏi rồi gửi lại."


def too_large_reply(limit: int) -> str:
    return f"Nội dung gửi lên quá lớn (tối đa {limit // 1024} KB). Anh/Chị vui lòng rút gọn rồi gửi lại."


def rate_limited_reply(retry_after: int) -> str:
    return f"Anh/Chị gửi tin nhắn nhanh quá. Vui lòng chờ {retry_after} giây rồi gửi tiếp."


class GuardedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"  # same URL as Rasa's REST channel: /webhooks/rest/webhook

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedRestInput:
        return cls(**(credentials or {}))

    def __init__(
        self,
        sender_rate_limit_per_minute: float = 60,
        sender_rate_limit_burst: int = 15,
        address_rate_limit_per_minute: float = 300,
        address_rate_limit_burst: int = 100,
        max_message_chars: int = 2000,
        max_body_bytes: int = 65536,
        silence_reply: str = SILENCE_REPLY,
        rate_limit_db: str = "",
    ) -> None:
        self.sender_limiter = sender_limiter(
            float(sender_rate_limit_per_minute), int(sender_rate_limit_burst), "rest-sender", rate_limit_db
        )
        self.address_limiter = sender_limiter(
            float(address_rate_limit_per_minute), int(address_rate_limit_burst), "rest-address", rate_limit_db
        )
        self.max_message_chars = int(max_message_chars)
        self.max_body_bytes = int(max_body_bytes)
        self.silence_reply = silence_reply or SILENCE_REPLY

    # -- what the client may not choose ----------------------------------------------------------
    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return None

    @staticmethod
    def readiness(request: Request) -> HTTPResponse | None:
        """503 until this worker's agent has a loaded model; None lets Rasa's `{"status": "ok"}` answer."""
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            return response.json({"status": "loading"}, status=503)
        return None

    # -- checks ------------------------------------------------------------------------------------
    @staticmethod
    def client_address(request: Request) -> str:
        return request.remote_addr or request.ip or ""

    @staticmethod
    def is_loopback(address: str) -> bool:
        try:
            return ipaddress.ip_address(address).is_loopback
        except ValueError:
            return False

    @staticmethod
    def _bot_reply(sender: str, text: str, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
        return response.json(
            [{"recipient_id": sender, "text": text}],
            status=status,
            headers=headers,
            dumps=lambda body: json.dumps(body, ensure_ascii=False),
        )

    def _rate_limited(self, request: Request, sender: str) -> HTTPResponse | None:
        waits = [self.sender_limiter.acquire(f"sender:{sender}")]
        address = self.client_address(request)
        if not self.is_loopback(address):
            waits.append(self.address_limiter.acquire(f"address:{address}"))
        wait = max(waits)
        if wait <= 0:
            return None
        retry_after = max(1, math.ceil(wait))
        return self._bot_reply(sender, rate_limited_reply(retry_after), 429, {"Retry-After": str(retry_after)})

    def guard(self, request: Request) -> HTTPResponse | None:
        """A response that refuses or answers the request without Rasa, or None to let it through."""
        if len(request.body or b"") > self.max_body_bytes:
            return self._bot_reply("", too_large_reply(self.max_body_bytes), 413)
        try:
            payload = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return response.json({"error": 'Body must be JSON: {"sender": "<id>", "message": "<text>"}'}, status=400)
        if not isinstance(payload, dict):
            return response.json({"error": "Body must be a JSON object with 'sender' and 'message'"}, status=400)
        sender, message = payload.get("sender"), payload.get("message")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
            return response.json(
                {"error": f"'sender' must be a non-empty string of at most {MAX_SENDER_CHARS} characters"}, status=400
            )
        if sender.strip().isdigit():
            # Zalo user ids are all digits and share Rasa's conversation ids: a web client must not
            # write into (and read the answers of) a Zalo citizen's conversation. The widget's ids are UUIDs.
            return response.json({"error": "'sender' must not be only digits (reserved for Zalo user ids)"}, status=400)
        if message is not None and not isinstance(message, str):
            return response.json({"error": "'message' must be a string"}, status=400)
        refused = self._rate_limited(request, sender)
        if refused is not None:
            return refused
        if len(message or "") > self.max_message_chars:
            return self._bot_reply(sender, too_long_reply(self.max_message_chars))
        if not clean_message(message or ""):
            return self._bot_reply(sender, EMPTY_MESSAGE_REPLY)
        return None

    def never_silent(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Callable[[UserMessage], Awaitable[None]]:
        """Wrap Rasa's handler: a turn that produced no bot message gets the apology instead."""

        async def handle(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            finally:
                collector = message.output_channel
                if isinstance(collector, CollectingOutputChannel) and not collector.messages:
                    logger.warning("No reply for a message from sender %s; sent the apology instead", message.sender_id)
                    await collector.send_text_message(message.sender_id, self.silence_reply)

        return handle

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(self.never_silent(on_new_message))

        @webhook.middleware("request")
        async def guard_webhook(request: Request) -> HTTPResponse | None:
            is_webhook = request.path.rstrip("/").endswith("/webhook")
            if request.method == "POST" and is_webhook:
                return self.guard(request)
            if request.method == "GET" and not is_webhook:
                return self.readiness(request)
            return None

        return webhook
