"""Rasa input/output channel for a Zalo Official Account.

Enable it in credentials.yml under `connectors.zalo.channel.ZaloInput` (see docs/zalo.md).
Zalo posts events to `/webhooks/zalo/webhook`; each one is authenticated (MAC + replay window),
acknowledged at once, and handled in a background task, because Zalo expects a 200 within
2 seconds and re-delivers otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.core import storage
from assistant.core.input_cleaning import clean_message
from assistant.core.ratelimit import sender_limiter
from connectors.guarded_rest import EMPTY_MESSAGE_REPLY, rate_limited_reply, too_long_reply
from connectors.zalo.api import FlushResult, ZaloApiClient
from connectors.zalo.config import ConfigError, ZaloConfig
from connectors.zalo.events import (
    KIND_IGNORED,
    KIND_NON_TEXT,
    PayloadError,
    ZaloEvent,
    is_echo,
    parse_body,
    parse_event,
    timestamp_of,
)
from connectors.zalo.logs import connector_logger, user_ref
from connectors.zalo.messages import build_messages, query_payloads, with_site_links
from connectors.zalo.signature import SIGNATURE_HEADER, SignatureError, verify_fresh, verify_signature
from connectors.zalo.store import ZaloStore

logger = connector_logger(__name__)

NON_TEXT_REPLY = (
    "Dạ, hiện tôi chỉ đọc được tin nhắn văn bản. Anh/Chị vui lòng gõ câu hỏi về thủ tục hành chính để tôi hỗ trợ ạ."
)
FAILURE_REPLY = (
    "Dạ, xin lỗi Anh/Chị, hệ thống đang gặp sự cố nên tôi chưa trả lời được. Anh/Chị vui lòng thử lại sau ít phút ạ."
)


class ZaloOutput(OutputChannel):
    """Sends Rasa's replies to one Zalo user through the OA "cs" message API."""

    def __init__(self, client: ZaloApiClient) -> None:
        self.client = client

    @classmethod
    def name(cls) -> str:
        return "zalo"

    async def _send(self, recipient_id: str, text: str, buttons: list[dict[str, Any]] | None = None) -> None:
        buttons = with_site_links(buttons, self.client.config.public_url) if buttons else buttons
        payloads = query_payloads(buttons)
        if payloads:  # before sending: a quick tap may reach another worker
            self.client.store.remember_buttons(recipient_id, payloads)
        for message in build_messages(text, buttons):
            await self.client.send(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text, buttons)

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """Custom payloads meant for other channels: their text and buttons are still delivered."""
        text = json_message.get("text") if isinstance(json_message, dict) else None
        buttons = json_message.get("buttons") if isinstance(json_message, dict) else None
        if text or buttons:
            await self._send(recipient_id, str(text or ""), buttons if isinstance(buttons, list) else None)
        else:
            logger.warning(
                "Zalo channel cannot show a custom payload without text (keys: %s); not sent",
                sorted(json_message) if isinstance(json_message, dict) else type(json_message).__name__,
            )


class ZaloInput(InputChannel):
    """Receives Zalo OA webhook events and answers them through Rasa."""

    def __init__(self, config: ZaloConfig) -> None:
        self.config = config
        self.disabled_reason = ""
        if config.missing_for_webhook:
            self.disabled_reason = (
                "Zalo channel disabled: set " + " and ".join(config.missing_for_webhook) + " (see docs/zalo.md)"
            )
            logger.warning(self.disabled_reason)
            self.store: ZaloStore | None = None
            self.client: ZaloApiClient | None = None
        else:
            self.store = ZaloStore(config.outbox_path)
            self.client = ZaloApiClient(config, self.store)
            if not (config.access_token or config.can_refresh):
                logger.warning(
                    "Zalo channel can receive but not reply: set ZALO_ACCESS_TOKEN, or "
                    "ZALO_REFRESH_TOKEN and ZALO_APP_SECRET; replies wait in the outbox"
                )
        # Shared by all Rasa workers (assistant.core.ratelimit), so two workers do not double the rate.
        self.sender_limiter = sender_limiter(
            config.sender_rate_limit_per_minute, config.sender_rate_limit_burst, "zalo-sender", config.rate_limit_db
        )
        # At most one "slow down" notice per user per minute, so a flood does not flood back.
        self.notice_limiter = sender_limiter(1, 1, "zalo-notice", config.rate_limit_db)
        self._tasks: set[asyncio.Task] = set()
        self._flusher: asyncio.Task | None = None

    @classmethod
    def name(cls) -> str:
        return "zalo"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ZaloInput:
        try:
            return cls(ZaloConfig.from_credentials(credentials))
        except ConfigError as exc:
            raise RasaException(str(exc)) from None
        except (OSError, *storage.ERRORS) as exc:
            raise RasaException(
                f"cannot open the Zalo outbox database ({str(exc).strip()}); set 'outbox_path' in credentials.yml "
                "to a writable file path, or on the scale-out profile check PostgreSQL (docs/deploy.md)"
            ) from None

    def get_output_channel(self) -> OutputChannel | None:
        return ZaloOutput(self.client) if self.client else None

    # -- background work -----------------------------------------------------------------------
    async def flush_outbox(self) -> FlushResult:
        """Re-deliver waiting replies now (the periodic flusher calls this too)."""
        if self.client is None:
            return FlushResult(0, 0, 0)
        return await self.client.flush_outbox()

    async def drain(self) -> None:
        """Wait until every accepted event has been answered (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self.client is not None:
            await self.client.wait_background()

    async def _flush_periodically(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(self.config.flush_interval_seconds)
            if self.store is None:
                continue
            try:
                self.recover_stale_claims(on_new_message)
                if self.store.pending_count():
                    await self.flush_outbox()
            except Exception:  # the flusher must survive anything and try again later
                logger.exception("Zalo outbox flush failed; retrying in %s s", self.config.flush_interval_seconds)

    def recover_stale_claims(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> int:
        """Answer the messages another node accepted (Zalo got its 200 and will not send them again) and
        died before answering: their claims went stale. Returns how many this node took over."""
        events = self.store.take_over_stale_claims()
        for fields in events:
            event = ZaloEvent(**fields)
            logger.warning(
                "Zalo msg %s from user %s was accepted by a node that did not answer it: answering it now",
                event.msg_id,
                user_ref(event.user_id),
            )
            self._spawn(self._answer(event, on_new_message))
        return len(events)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, event: ZaloEvent, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        output = ZaloOutput(self.client)
        try:
            if event.kind == KIND_NON_TEXT:
                await output.send_text_message(event.user_id, NON_TEXT_REPLY)
            elif len(event.text) > self.config.max_input_chars:
                await output.send_text_message(event.user_id, too_long_reply(self.config.max_input_chars))
            elif not clean_message(event.text):
                await output.send_text_message(event.user_id, EMPTY_MESSAGE_REPLY)
            else:
                # A tapped button comes back as its title: Rasa gets the payload behind it.
                payload = self.store.button_payload(event.user_id, event.text)
                metadata = {"zalo_msg_id": event.msg_id, "zalo_event": event.name}
                if payload:
                    metadata["zalo_button"] = True
                await on_new_message(
                    UserMessage(
                        payload or event.text,
                        output,
                        event.user_id,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
        except Exception:
            logger.exception(
                "Zalo event %s (msg %s) from user %s failed", event.name, event.msg_id, user_ref(event.user_id)
            )
            await output.send_text_message(event.user_id, FAILURE_REPLY)
        # Sent or queued in the outbox: a redelivery is refused from now on, even after the claim lease.
        self.store.message_done(event.msg_id)

    # -- webhook -------------------------------------------------------------------------------
    def _status(self) -> dict[str, Any]:
        if self.store is None:
            return {"status": "disabled", "reason": self.disabled_reason}
        return {"status": "ok", "outbox_pending": self.store.pending_count(), "outbox_dead": self.store.dead_count()}

    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if self.store is None:
            return response.json({"error": self.disabled_reason}, status=503)
        raw_body = request.body or b""
        if len(raw_body) > self.config.max_body_bytes:
            return response.json({"error": f"body larger than {self.config.max_body_bytes} bytes"}, status=413)
        try:
            body = parse_body(raw_body)
            timestamp_text, timestamp_ms = timestamp_of(body)
        except PayloadError as exc:
            logger.info("Zalo webhook refused (400): %s", exc)
            return response.json({"error": str(exc)}, status=400)
        try:
            if str(body.get("app_id", self.config.app_id)) != self.config.app_id:
                raise SignatureError("event is addressed to another Zalo app_id")
            verify_signature(
                request.headers.get(SIGNATURE_HEADER),
                self.config.app_id,
                raw_body,
                timestamp_text,
                self.config.oa_secret_key,
            )
            verify_fresh(timestamp_ms, self.config.max_age_seconds)
        except SignatureError as exc:
            logger.warning("Zalo webhook refused (401): %s", exc)
            return response.json({"error": str(exc)}, status=401)
        try:
            event = parse_event(body, timestamp_ms)
        except PayloadError as exc:
            logger.info("Zalo webhook refused (400): %s", exc)
            return response.json({"error": str(exc)}, status=400)

        if event.kind == KIND_IGNORED:
            if not is_echo(event.name):
                logger.debug("Zalo event %s acknowledged, nothing to answer", event.name)
            return response.json({"status": "ignored", "event": event.name})
        if not self.store.claim_message(event.msg_id, dataclasses.asdict(event)):
            logger.info("Zalo duplicate delivery of msg %s ignored", event.msg_id)
            return response.json({"status": "duplicate"})
        wait = self.sender_limiter.acquire(event.user_id)
        if wait > 0:
            # Still 200: Zalo would re-deliver anything else. The citizen hears why, once a minute.
            logger.warning(
                "Zalo user %s over the rate limit; msg %s not answered", user_ref(event.user_id), event.msg_id
            )
            if self.notice_limiter.acquire(event.user_id) == 0:
                self._spawn(
                    ZaloOutput(self.client).send_text_message(
                        event.user_id, rate_limited_reply(max(1, math.ceil(wait)))
                    )
                )
            self.store.message_done(event.msg_id)  # deliberately not answered; a redelivery is not either
            return response.json({"status": "rate_limited"})
        self._spawn(self._answer(event, on_new_message))
        return response.json({"status": "accepted"})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        zalo_webhook = Blueprint("zalo_webhook", __name__)

        @zalo_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json(self._status())

        @zalo_webhook.route("/webhook", methods=["GET"])
        async def webhook_check(request: Request) -> HTTPResponse:
            return response.json(self._status())

        @zalo_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        @zalo_webhook.listener("after_server_start")
        async def start_flusher(app: Any, loop: Any) -> None:
            if self.store is not None and self._flusher is None:
                self._flusher = asyncio.ensure_future(self._flush_periodically(on_new_message))

        @zalo_webhook.listener("before_server_stop")
        async def stop_flusher(app: Any, loop: Any) -> None:
            if self._flusher is not None:
                self._flusher.cancel()
                self._flusher = None
            await self.drain()

        return zalo_webhook
