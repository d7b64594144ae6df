"""Deliver replies through the Zalo OA API without ever losing one.

A reply is POSTed to `{api_base}/v3.0/oa/message/cs`. Error -216 (expired access token) triggers
one token refresh through the OAuth endpoint and one resend. Any other failure (network, HTTP
5xx, another Zalo error code) is retried after each pause in `retry_delays`; if it still fails,
the reply goes to the persistent outbox with a log line, and `flush_outbox` (run periodically,
and right after the API accepts a message again) re-delivers the outbox in order.

Any number of Rasa worker processes may run this client on one store: the token pair is read from
the store before every send (a refresh by another worker is seen at once); a refresh happens under
a lease in the store, so exactly one worker spends the single-use refresh token while the others
wait for the new pair; and outbox rows are claimed (a user's waiting replies at a time) before they
are sent, so no reply goes out twice.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass
from typing import Any

import aiohttp

from connectors.zalo.config import ZaloConfig
from connectors.zalo.logs import connector_logger, user_ref
from connectors.zalo.messages import request_body
from connectors.zalo.store import OutboxItem, ZaloStore

logger = connector_logger(__name__)

SEND_PATH = "/v3.0/oa/message/cs"
ERROR_TOKEN_EXPIRED = -216
REFRESH_LEASE = "zalo_token_refresh"
FLUSH_BATCH = 10  # waiting replies of one user claimed at a time


class DeliveryError(Exception):
    """One failed delivery attempt. `api_down` = the API itself is unreachable or failing (5xx)."""

    def __init__(self, reason: str, api_down: bool) -> None:
        super().__init__(reason)
        self.api_down = api_down


@dataclass(frozen=True)
class FlushResult:
    delivered: int
    remaining: int
    dead: int


class ZaloApiClient:
    """Sends OA messages; owns the access token, the retries and the outbox."""

    def __init__(self, config: ZaloConfig, store: ZaloStore) -> None:
        self.config = config
        self.store = store
        self._refresh_lock = asyncio.Lock()
        self._flush_lock = asyncio.Lock()
        self._background: set[asyncio.Task] = set()
        # One send at a time per user, so replies arrive (or queue) in the order Rasa produced them.
        self._user_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- tokens --------------------------------------------------------------------------------
    def _tokens(self) -> tuple[str, str]:
        """The current pair: the stored one (any worker may have refreshed it), else the configured one."""
        return self.store.load_tokens(self.config.refresh_token) or (
            self.config.access_token,
            self.config.refresh_token,
        )

    @property
    def access_token(self) -> str:
        return self._tokens()[0]

    @property
    def refresh_token(self) -> str:
        return self._tokens()[1]

    # -- public --------------------------------------------------------------------------------
    async def send(self, user_id: str, message: dict[str, Any]) -> bool:
        """Deliver one message now (with retries) or keep it in the outbox; True when delivered."""
        lock = self._user_locks.get(user_id)
        if lock is None:
            lock = self._user_locks[user_id] = asyncio.Lock()
        async with lock:
            return await self._send_in_order(user_id, message)

    async def _send_in_order(self, user_id: str, message: dict[str, Any]) -> bool:
        if self.store.pending_count(user_id):
            # Earlier replies to this citizen are still waiting: keep the conversation in order.
            self._park(user_id, message, "earlier replies to this user are still in the outbox")
            self._flush_soon()
            return False
        attempts = len(self.config.retry_delays) + 1
        for attempt in range(attempts):
            try:
                await self._deliver(user_id, message)
            except DeliveryError as exc:
                reason = str(exc)
                logger.warning(
                    "Zalo delivery to user %s failed (attempt %d/%d): %s",
                    user_ref(user_id),
                    attempt + 1,
                    attempts,
                    reason,
                )
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.config.retry_delays[attempt])
                continue
            if self.store.pending_count():
                self._flush_soon()  # the API answers again: deliver what waited
            return True
        self._park(user_id, message, reason)
        return False

    async def flush_outbox(self) -> FlushResult:
        """Re-deliver outbox messages oldest first, one attempt each.

        Each user's waiting replies are claimed before they are sent (another worker flushing at the
        same time takes other users). Stops at the first sign that the API is still down; a user
        whose message fails is skipped for the rest of this flush so their replies stay in order.
        Replies parked while the flush ran are picked up by another pass.
        """
        async with self._flush_lock:
            delivered = 0
            skipped: set[str] = set()
            claim_seconds = FLUSH_BATCH * (2 * self.config.request_timeout_seconds + 1) + 30
            try:
                while True:
                    batch = self.store.claim_user_batch(claim_seconds, skipped, limit=FLUSH_BATCH)
                    if not batch:
                        break
                    for item in batch:
                        try:
                            await self._deliver(item.user_id, item.message)
                        except DeliveryError as exc:
                            self._record_failure(item, exc)
                            skipped.add(item.user_id)
                            if exc.api_down:
                                return self._flush_result(delivered)
                            break
                        self.store.delivered(item.id)
                        delivered += 1
                    self.store.release_claims()  # what a failure left of this user's batch
            finally:
                self.store.release_claims()
            return self._flush_result(delivered)

    def _flush_result(self, delivered: int) -> FlushResult:
        result = FlushResult(delivered, self.store.pending_count(), self.store.dead_count())
        if delivered:
            logger.info("Zalo outbox: delivered %d, %d still waiting", delivered, result.remaining)
        return result

    def _record_failure(self, item: OutboxItem, exc: DeliveryError) -> None:
        dead = item.attempts + 1 >= self.config.max_outbox_attempts
        self.store.failed(item.id, str(exc), dead=dead)
        if dead:
            logger.error(
                "Zalo outbox message %d to user %s parked as dead after %d attempts: %s",
                item.id,
                user_ref(item.user_id),
                item.attempts + 1,
                exc,
            )

    async def wait_background(self) -> None:
        """Wait for flushes started in the background (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- internals -----------------------------------------------------------------------------
    def _park(self, user_id: str, message: dict[str, Any], reason: str) -> None:
        item_id = self.store.enqueue(user_id, message, reason)
        logger.error(
            "Zalo reply to user %s kept in outbox as #%d (%s); it is re-sent when the API returns",
            user_ref(user_id),
            item_id,
            reason,
        )

    def _flush_soon(self) -> None:
        if self._flush_lock.locked():
            return
        task = asyncio.ensure_future(self.flush_outbox())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _deliver(self, user_id: str, message: dict[str, Any]) -> None:
        """One delivery attempt, including the single refresh-and-resend for an expired token."""
        token_used = self.access_token
        if not token_used:
            await self._refresh_unless_done("")
            token_used = self.access_token
        error = await self._post_message(user_id, message, token_used)
        if error is None:
            return
        code, detail = error
        if code == ERROR_TOKEN_EXPIRED:
            logger.warning("Zalo access token expired (-216); refreshing it and sending again")
            await self._refresh_unless_done(token_used)
            error = await self._post_message(user_id, message, self.access_token)
            if error is None:
                return
            code, detail = error
        raise DeliveryError(f"Zalo error {code}: {detail}", api_down=False)

    async def _post_message(self, user_id: str, message: dict[str, Any], access_token: str) -> tuple[int, str] | None:
        """POST one message; None on success, (error code, message) for a Zalo API error."""
        url = self.config.api_base + SEND_PATH
        headers = {"access_token": access_token, "Content-Type": "application/json"}
        payload = await self._request("POST", url, headers=headers, data=json.dumps(request_body(user_id, message)))
        code = payload.get("error", 0)
        if code in (0, "0"):
            return None
        try:
            code = int(code)
        except (TypeError, ValueError):
            raise DeliveryError(f"unexpected 'error' value {code!r} from Zalo", api_down=False) from None
        return code, str(payload.get("message", ""))

    async def _refresh_unless_done(self, stale_token: str) -> None:
        """Refresh once for all senders of all workers: skip when another one already replaced the token.

        The in-process lock lines up this worker's senders; the store's lease lets one worker refresh
        while the others poll the store until the new pair is there (or the lease lapses)."""
        lease_seconds = 2 * self.config.request_timeout_seconds + 5
        async with self._refresh_lock:
            deadline = asyncio.get_running_loop().time() + lease_seconds + 1
            while True:
                access, refresh = self._tokens()
                if access and access != stale_token:
                    return  # another sender or worker refreshed it
                if self.store.try_lease(REFRESH_LEASE, lease_seconds):
                    try:
                        access, refresh = self._tokens()  # refreshed between the read and the lease?
                        if access and access != stale_token:
                            return
                        await self._refresh_access_token(refresh)
                    finally:
                        self.store.release_lease(REFRESH_LEASE)
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise DeliveryError(
                        "another Rasa worker is refreshing the Zalo token and has not finished", api_down=False
                    )
                await asyncio.sleep(0.1)

    async def _refresh_access_token(self, refresh_token: str) -> None:
        """Get a new access/refresh token pair from the OAuth endpoint and persist it."""
        if not (refresh_token and self.config.app_secret and self.config.app_id):
            raise DeliveryError(
                "no usable Zalo access token and no way to refresh it: set ZALO_ACCESS_TOKEN, "
                "or ZALO_REFRESH_TOKEN with ZALO_APP_ID and ZALO_APP_SECRET",
                api_down=False,
            )
        form = {"refresh_token": refresh_token, "app_id": self.config.app_id, "grant_type": "refresh_token"}
        payload = await self._request(
            "POST", self.config.oauth_url, headers={"secret_key": self.config.app_secret}, data=form
        )
        access, refresh = payload.get("access_token"), payload.get("refresh_token")
        if not access:
            detail = payload.get("error_description") or payload.get("message") or payload.get("error_name") or payload
            raise DeliveryError(f"token refresh refused by Zalo: {detail}", api_down=False)
        self.store.save_tokens(str(access), str(refresh or refresh_token), self.config.refresh_token)
        logger.info("Zalo access token refreshed")

    async def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """An HTTP call returning the JSON object; DeliveryError(api_down=True) on network/5xx."""
        timeout = aiohttp.ClientTimeout(total=self.config.request_timeout_seconds)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.request(method, url, **kwargs) as response:
                    text = await response.text()
                    if response.status >= 500:
                        raise DeliveryError(f"HTTP {response.status} from {url}", api_down=True)
                    if response.status >= 400:
                        raise DeliveryError(f"HTTP {response.status} from {url}: {text[:200]}", api_down=False)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"{url} unreachable ({exc.__class__.__name__})", api_down=True) from None
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            raise DeliveryError(f"non-JSON answer from {url}", api_down=True) from None
        if not isinstance(payload, dict):
            raise DeliveryError(f"unexpected JSON from {url}", api_down=True)
        return payload
