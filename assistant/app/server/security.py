"""Security for the app server: admin token, action-call secret, per-client rate limit, body cap.

- `require_admin_token`: FastAPI dependency for admin actions (catalogue reload, staff views).
  The token comes from env `TTHC_ADMIN_TOKEN` or `security.admin_token` in the untracked
  settings.local.yml; it is compared in constant time. Accepted as `Authorization: Bearer <token>`,
  `X-Admin-Token: <token>`, or HTTP Basic with the token as password (so a staff member's browser
  prompts for it). Unset token → admin endpoints answer 503 (disabled), never open.
- Action calls (`POST ACTION_CALL_PATH`, from Rasa only) must carry the shared secret in the
  `X-Action-Token` header (endpoints.yml sends it; `tthc up` generates it unless
  `TTHC_ACTION_TOKEN` / `security.action_token` sets it). Checked before the body is read:
  without it → 401, wrong → 403, none configured → 503; compared in constant time.
- `require_metrics_client`: FastAPI dependency for `/metrics`: only client addresses in
  `security.metrics_allowed_networks` (loopback by default), else 403; no token (a Prometheus on the
  same machine scrapes it), and the reverse proxy never passes the path.
- `RequestGuardMiddleware`: pure ASGI middleware that refuses bodies over `security.max_body_bytes`
  (413; authenticated action calls over `security.max_action_call_bytes`) and applies a per-client
  token bucket (429 with Retry-After) to every path except `security.rate_limit_exempt_paths`
  (liveness; the action path only for calls that carry the secret).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status

from assistant.app.server.deps import app_settings
from assistant.core.errors import SetupError
from assistant.core.ratelimit import Limiter, TokenBucketLimiter, sender_limiter
from assistant.core.settings import (
    ACTION_TOKEN_ENV,
    ACTION_TOKEN_HEADER,
    ADMIN_TOKEN_ENV,
    SecuritySettings,
    Settings,
    configured_secret,
)

ACTION_CALL_PATH = "/webhook"  # where Rasa calls the custom actions (routers/actions.py)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --- admin token -------------------------------------------------------------------------------


def configured_admin_token(settings: Settings) -> str:
    """The admin token from the environment, else from settings (settings.local.yml); '' if unset."""
    return configured_secret(ADMIN_TOKEN_ENV, settings.security.admin_token)


def configured_action_token(settings: Settings) -> str:
    """The action-call secret Rasa sends (environment first, then settings); '' if unset."""
    return configured_secret(ACTION_TOKEN_ENV, settings.security.action_token)


def action_call_refusal(presented: str | None, expected: str) -> tuple[int, str] | None:
    """(status, Vietnamese detail) refusing an action call, or None when it carries the secret."""
    if not expected:
        return 503, (
            f"Điểm gọi hành động đang tắt: máy chủ chưa đặt {ACTION_TOKEN_ENV} (tthc up tự tạo khi khởi động)."
        )
    if not presented:
        return 401, f"Chỉ máy chủ Rasa được gọi điểm này (thiếu header {ACTION_TOKEN_HEADER})."
    if not hmac.compare_digest(presented.strip().encode("utf-8"), expected.encode("utf-8")):
        return 403, f"Header {ACTION_TOKEN_HEADER} không đúng."
    return None


def require_action_token(request: Request) -> None:
    """FastAPI dependency for the action endpoint (the middleware checks the same before the body)."""
    settings = app_settings(request)
    refusal = action_call_refusal(request.headers.get(ACTION_TOKEN_HEADER), configured_action_token(settings))
    if refusal is not None:
        raise HTTPException(refusal[0], detail=refusal[1])


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("x-admin-token")
    if header:
        return header.strip()
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return value.strip()
    if scheme == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]  # any user name, the token as password
    return None


def require_admin_token(request: Request) -> None:
    """FastAPI dependency: let the request through only with the configured admin token."""
    settings = app_settings(request)
    expected = configured_admin_token(settings)
    if not expected:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"Chức năng quản trị đang tắt: máy chủ chưa đặt {ADMIN_TOKEN_ENV} "
            "(biến môi trường hoặc settings.local.yml).",
        )
    presented = _presented_token(request)
    if not presented:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Cần mã quản trị: gửi header 'Authorization: Bearer <mã>' hoặc đăng nhập bằng mã quản trị.",
            headers={"WWW-Authenticate": 'Basic realm="tthc-admin", charset="UTF-8"'},
        )
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Mã quản trị không đúng.")


# --- metrics ------------------------------------------------------------------------------------

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def metrics_networks(settings: Settings) -> list[IPNetwork]:
    """`security.metrics_allowed_networks` parsed; a malformed entry stops the server at start-up."""
    networks = []
    for entry in settings.security.metrics_allowed_networks:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError as exc:
            raise SetupError(
                f"security.metrics_allowed_networks: {entry!r} is not a network ({exc}); "
                "write e.g. 127.0.0.0/8 or 10.20.0.5/32"
            ) from exc
    return networks


def metrics_client_allowed(host: str | None, networks: list[IPNetwork]) -> bool:
    try:
        address = ipaddress.ip_address((host or "").strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def require_metrics_client(request: Request) -> None:
    """FastAPI dependency for /metrics: the client's address must be in security.metrics_allowed_networks."""
    networks = getattr(request.app.state, "metrics_networks", None)
    if networks is None:
        networks = metrics_networks(app_settings(request))
    host = request.client.host if request.client else None
    if not metrics_client_allowed(host, networks):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Chỉ máy chủ giám sát trong mạng được phép (security.metrics_allowed_networks) "
            "mới đọc được số liệu vận hành.",
        )


# --- rate limit and body cap -------------------------------------------------------------------


async def _send_json(send: Send, status_code: int, body: dict, headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    raw_headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status_code, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def too_large_message(limit: int) -> str:
    return f"Nội dung gửi lên quá lớn (tối đa {limit // 1024} KB). Anh/Chị vui lòng rút gọn nội dung rồi gửi lại."


def rate_limited_message(retry_after: int) -> str:
    return f"Anh/Chị đã gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng thử lại sau {retry_after} giây."


class _BodyTooLarge(Exception):
    pass


class RequestGuardMiddleware:
    """Body size cap (413) and per-client rate limit (429) in front of the whole app."""

    def __init__(
        self, app: ASGIApp, security: SecuritySettings, limiter: Limiter | None = None, settings: Settings | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.max_body_bytes = security.max_body_bytes
        self.max_action_call_bytes = security.max_action_call_bytes
        self.exempt_paths = tuple(security.rate_limit_exempt_paths)
        if limiter is None and security.rate_limit_per_minute > 0:
            per_minute, burst = security.rate_limit_per_minute, max(1, security.rate_limit_burst)
            if settings is not None and settings.deployment.scale_out:
                # Several app servers behind the proxy: one bucket per client across all of them (Redis).
                limiter = sender_limiter(per_minute, burst, "app-client", settings.deployment.redis_url)
            else:
                limiter = TokenBucketLimiter(per_minute, burst)
        self.limiter = limiter

    @staticmethod
    def client_key(scope: Scope) -> str:
        # Behind a reverse proxy run uvicorn with --proxy-headers so `client` is the real address.
        client = scope.get("client")
        return client[0] if client else "unknown"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        action_call = path.rstrip("/") == ACTION_CALL_PATH
        if action_call:
            # Before the body is read: an unauthenticated caller never gets the large action-call cap.
            presented = headers.get(ACTION_TOKEN_HEADER.lower().encode())
            refusal = action_call_refusal(
                presented.decode("latin-1") if presented else None, configured_action_token(self.settings)
            )
            if refusal is not None:
                await _send_json(send, refusal[0], {"detail": refusal[1]})
                return
        exempt = action_call or path.startswith(self.exempt_paths)
        if self.limiter is not None and not exempt:
            wait = self.limiter.acquire(self.client_key(scope))
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                await _send_json(
                    send, 429, {"detail": rate_limited_message(retry_after)}, {"Retry-After": str(retry_after)}
                )
                return
        body_limit = self.max_action_call_bytes if action_call else self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                declared_size = int(declared)
            except ValueError:
                await _send_json(send, 400, {"detail": "Header Content-Length không hợp lệ."})
                return
            if declared_size > body_limit:
                await _send_json(send, 413, {"detail": too_large_message(body_limit)})
                return
            await self.app(scope, receive, send)
            return
        await self._call_counting_body(scope, receive, send, body_limit)

    async def _call_counting_body(self, scope: Scope, receive: Receive, send: Send, body_limit: int) -> None:
        """No Content-Length (chunked upload): read the body up to the cap first, then replay it."""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away; let the app see the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > body_limit:
                await _send_json(send, 413, {"detail": too_large_message(body_limit)})
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def install_security(app: FastAPI, settings: Settings) -> None:
    """Wire the guard middleware; check the /metrics networks now, so a malformed one stops the start-up.

    The dependencies here read the app's settings from `app.state.settings`, which `create_app` sets."""
    app.state.metrics_networks = metrics_networks(settings)
    app.add_middleware(RequestGuardMiddleware, security=settings.security, settings=settings)
