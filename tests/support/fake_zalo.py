"""A local fake of the Zalo OA API for tests: records requests and misbehaves on demand.

It serves, on 127.0.0.1, the two endpoints the connector calls:
- `POST /v3.0/oa/message/cs` (header `access_token`): error -216 unless the token is the current one;
- `POST /v4/oa/access_token` (OAuth refresh, header `secret_key`, form body): issues a new pair.
It runs an aiohttp server in its own thread and event loop, so it keeps answering while the
test's loop awaits the connector. Tell it to expire the token, answer HTTP 500 n times, return a
Zalo error code n times, or go down (stop listening) and come back on the same port.
Needs aiohttp (in the Rasa environment). A test in the app environment runs it as a process,
`.venv-rasa/bin/python -m tests.support.fake_zalo --port N`, and reads what it received from
`GET /_fake/sent` (the accepted message bodies) and `GET /_fake/requests` (every request's path).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.ports import free_port

SEND_PATH = "/v3.0/oa/message/cs"
OAUTH_PATH = "/v4/oa/access_token"
PORT_RANGE = range(5400, 5500)  # the range given to the Zalo connector tests


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    accepted: bool = False  # the fake answered error 0 (the message was "delivered")


class FakeZalo:
    """The fake API; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        app_id: str = "test-app",
        app_secret: str = "test-app-secret",
        access_token: str = "token-1",
        refresh_token: str = "refresh-1",
        port: int | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.valid_access_token = access_token
        self.valid_refresh_token = refresh_token
        self.requests: list[RecordedRequest] = []
        self.refresh_count = 0
        self._fail_5xx = 0
        self._fail_code: tuple[int, int] = (0, 0)  # (zalo error code, times)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-zalo", daemon=True)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = port or free_port(PORT_RANGE)

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def oauth_url(self) -> str:
        return self.url + OAUTH_PATH

    def start(self) -> FakeZalo:
        self._thread.start()
        self._call(self._start_runner())
        self.come_back()
        return self

    def stop(self) -> None:
        self._call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> FakeZalo:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def go_down(self) -> None:
        """Stop listening: connections are refused, as when the API is unreachable."""
        if self._site is not None:
            self._call(self._site.stop())
            self._site = None

    def come_back(self) -> None:
        """Listen again on the same port."""
        if self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            self._call(self._site.start())

    # -- misbehaviour --------------------------------------------------------------------------
    def expire_token(self) -> None:
        """The current access token stops working (the next send gets -216)."""
        self.valid_access_token = "token-after-expiry"

    def fail_with_500(self, times: int) -> None:
        self._fail_5xx = times

    def fail_with_code(self, code: int, times: int) -> None:
        self._fail_code = (code, times)

    # -- what the connector sent ---------------------------------------------------------------
    def sent_messages(self) -> list[dict[str, Any]]:
        """Bodies of the message sends that the fake accepted, in order."""
        return [r.json for r in self.requests if r.path == SEND_PATH and r.accepted]

    def send_attempts(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == SEND_PATH]

    # -- server --------------------------------------------------------------------------------
    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _start_runner(self) -> None:
        app = web.Application()
        app.router.add_post(SEND_PATH, self._send)
        app.router.add_post(OAUTH_PATH, self._oauth)
        app.router.add_get("/_fake/sent", lambda request: web.json_response(self.sent_messages()))
        app.router.add_get(
            "/_fake/requests",
            lambda request: web.json_response(
                [{"path": r.path, "accepted": r.accepted, "form": r.form} for r in self.requests]
            ),
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()

    async def _send(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        record = RecordedRequest(SEND_PATH, dict(request.headers), json=body)
        self.requests.append(record)
        if self._fail_5xx > 0:
            self._fail_5xx -= 1
            return web.Response(status=500, text="internal error")
        code, times = self._fail_code
        if times > 0:
            self._fail_code = (code, times - 1)
            return web.json_response({"error": code, "message": "forced failure"})
        if request.headers.get("access_token") != self.valid_access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        if not isinstance(body, dict) or "user_id" not in body.get("recipient", {}) or "message" not in body:
            return web.json_response({"error": -201, "message": "Parameters are invalid"})
        record.accepted = True
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {"message_id": f"m{len(self.requests)}", "user_id": body["recipient"]["user_id"]},
            }
        )

    async def _oauth(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(RecordedRequest(OAUTH_PATH, dict(request.headers), form=form))
        if (
            request.headers.get("secret_key") != self.app_secret
            or form.get("app_id") != self.app_id
            or form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") != self.valid_refresh_token
        ):
            return web.json_response(
                {
                    "error": -14014,
                    "error_name": "Invalid refresh token",
                    "error_description": "refresh token, app or secret does not match",
                }
            )
        self.refresh_count += 1
        self.valid_access_token = f"token-refreshed-{self.refresh_count}"
        self.valid_refresh_token = f"refresh-refreshed-{self.refresh_count}"
        return web.json_response(
            {"access_token": self.valid_access_token, "refresh_token": self.valid_refresh_token, "expires_in": "90000"}
        )


def main() -> None:
    """Serve the fake until killed (for tests that run in the app environment, without aiohttp)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app-id", default="test-app")
    parser.add_argument("--app-secret", default="test-app-secret")
    args = parser.parse_args()
    fake = FakeZalo(app_id=args.app_id, app_secret=args.app_secret, port=args.port).start()
    print(f"fake Zalo listening on {fake.url}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
