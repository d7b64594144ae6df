"""GuardedRestInput (website chat channel) in a real Sanic server, mounted like `rasa run` does:
malformed payloads get 400, oversized bodies 413, floods 429, empty and overlong messages a polite
reply, and good messages reach Rasa exactly as with the built-in REST channel."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from rasa.core.channels.channel import UserMessage  # noqa: E402
from sanic import Blueprint, Sanic, response  # noqa: E402

from connectors.guarded_rest import EMPTY_MESSAGE_REPLY, GuardedRestInput  # noqa: E402
from tests.support.sanic_server import running  # noqa: E402

_app_names = itertools.count()


@asynccontextmanager
async def serving(
    channel: GuardedRestInput, received: list[str], other_channel: bool = False, rasa=None
) -> AsyncIterator[str]:
    """The channel in a real Sanic server; `rasa` replaces the default echoing stand-in for Rasa."""

    async def echo(message: UserMessage) -> None:
        received.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    on_new_message = rasa or echo

    Sanic.test_mode = True
    app = Sanic(f"guarded_rest_test_{next(_app_names)}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix=f"/webhooks/{channel.url_prefix()}")
    if other_channel:  # another input channel's webhook (e.g. Zalo) mounted beside it
        other = Blueprint(f"other_channel_{next(_app_names)}")

        @other.route("/webhook", methods=["POST"])
        async def other_webhook(request):
            return response.json({"other": True})

        app.blueprint(other, url_prefix="/webhooks/other")
    async with running(app, range(5500, 5600)) as port:
        yield f"http://127.0.0.1:{port}/webhooks/rest/webhook"


async def post(url: str, body, raw: bool = False):
    data = body if raw else json.dumps(body, ensure_ascii=False).encode()
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=data, headers={"Content-Type": "application/json"}) as reply:
            return reply.status, await reply.json(content_type=None), dict(reply.headers)


def run(coroutine):
    return asyncio.run(coroutine)


def test_good_message_reaches_rasa_like_the_builtin_channel():
    received: list[str] = []

    async def scenario():
        async with serving(GuardedRestInput(), received) as url:
            return await post(url, {"sender": "c1", "message": "làm căn cước cần gì"})

    status, body, _ = run(scenario())
    assert status == 200
    assert body == [{"recipient_id": "c1", "text": "echo: làm căn cước cần gì"}]
    assert received == ["làm căn cước cần gì"]


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": "", "message": "hi"}', "sender"),
        (b'{"sender": "c1", "message": 42}', "message"),
        (json.dumps({"sender": "x" * 500, "message": "hi"}).encode(), "sender"),
    ],
)
def test_malformed_payload_gets_400_with_the_reason(body, reason):
    received: list[str] = []

    async def scenario():
        async with serving(GuardedRestInput(), received) as url:
            return await post(url, body, raw=True)

    status, reply, _ = run(scenario())
    assert status == 400
    assert reason in reply["error"]
    assert received == []


def test_empty_invisible_and_overlong_messages_get_a_polite_reply_without_rasa():
    received: list[str] = []

    async def scenario():
        async with serving(GuardedRestInput(max_message_chars=100), received) as url:
            return [
                await post(url, {"sender": "c2", "message": text})
                for text in ("", "   ", "\u200b\u200c\ufeff", "x" * 101)
            ]

    replies = run(scenario())
    assert [status for status, _, _ in replies] == [200, 200, 200, 200]
    assert [body[0]["text"] for _, body, _ in replies[:3]] == [EMPTY_MESSAGE_REPLY] * 3
    assert "100 ký tự" in replies[3][1][0]["text"]
    assert received == []


def test_oversized_body_gets_413():
    async def scenario():
        async with serving(GuardedRestInput(max_body_bytes=1024), []) as url:
            return await post(url, {"sender": "c3", "message": "x" * 5000})

    status, body, _ = run(scenario())
    assert status == 413
    assert "quá lớn" in body[0]["text"]


def test_a_flooding_sender_is_slowed_down_and_others_are_not():
    received: list[str] = []

    async def scenario():
        async with serving(
            GuardedRestInput(sender_rate_limit_per_minute=6, sender_rate_limit_burst=3), received
        ) as url:
            flood = [await post(url, {"sender": "flooder", "message": f"hỏi {i}"}) for i in range(5)]
            other = await post(url, {"sender": "calm", "message": "xin chào"})
            return flood, other

    flood, other = run(scenario())
    assert [status for status, _, _ in flood] == [200, 200, 200, 429, 429]
    assert int(flood[3][2]["Retry-After"]) >= 1
    assert "chờ" in flood[3][1][0]["text"]
    assert other[0] == 200
    assert received == ["hỏi 0", "hỏi 1", "hỏi 2", "xin chào"]


def test_address_limit_spares_loopback_but_applies_to_remote_clients():
    channel = GuardedRestInput(address_rate_limit_per_minute=6, address_rate_limit_burst=1)
    assert channel.is_loopback("127.0.0.1") and channel.is_loopback("::1")
    assert not channel.is_loopback("203.0.113.7") and not channel.is_loopback("")
    assert channel.address_limiter.acquire("address:203.0.113.7") == 0
    assert channel.address_limiter.acquire("address:203.0.113.7") > 0


def test_from_credentials_reads_the_limits():
    channel = GuardedRestInput.from_credentials({"max_message_chars": 500, "sender_rate_limit_burst": 2})
    assert channel.max_message_chars == 500
    assert channel.sender_limiter.burst == 2
    assert GuardedRestInput.name() == "rest"


def test_other_channels_webhooks_are_not_guarded():
    """Sanic scopes blueprint middleware: the Zalo webhook's own payload must not be judged here."""

    async def scenario():
        async with serving(GuardedRestInput(), [], other_channel=True) as url:
            return await post(url.replace("/rest/", "/other/"), {"event_name": "user_send_text"})

    status, body, _ = run(scenario())
    assert (status, body) == (200, {"other": True})


def test_rasa_loads_it_from_a_credentials_file(tmp_path):
    """`rasa run --credentials` instantiates it by module path, with or without settings."""
    from rasa.core.run import create_http_input_channels

    credentials = tmp_path / "credentials.yml"
    credentials.write_text(
        "connectors.guarded_rest.GuardedRestInput:\n  max_message_chars: 1500\n  sender_rate_limit_burst: 5\n",
        encoding="utf-8",
    )
    [channel] = create_http_input_channels(None, str(credentials))
    assert isinstance(channel, GuardedRestInput)
    assert (channel.max_message_chars, channel.sender_limiter.burst) == (1500, 5)
    assert channel.url_prefix() == "rest"

    credentials.write_text("connectors.guarded_rest.GuardedRestInput:\n", encoding="utf-8")
    [defaults] = create_http_input_channels(None, str(credentials))
    assert defaults.max_message_chars == 2000


@pytest.mark.parametrize("failure", ["silence", "exception"])
def test_a_turn_without_any_bot_message_gets_the_apology(failure):
    """E.g. the action server is down: Rasa produces no message, or raises."""
    from connectors.guarded_rest import SILENCE_REPLY

    channel = GuardedRestInput()

    async def broken_rasa(message: UserMessage) -> None:
        if failure == "exception":
            raise RuntimeError("action server unreachable")

    async def scenario():
        async with serving(channel, [], rasa=broken_rasa) as url:
            return await post(url, {"sender": "c9", "message": "khai sinh"})

    status, body, _ = run(scenario())
    assert status == 200
    assert body == [{"recipient_id": "c9", "text": SILENCE_REPLY}]
    assert "dichvucong.gov.vn" in SILENCE_REPLY
