"""Zalo OA connector against a local fake Zalo API, served by a real Sanic app on 127.0.0.1.

The channel's blueprint runs exactly as inside `rasa run` (same URL prefix); `on_new_message`
is a stand-in for Rasa's agent that answers through the channel's output, so no trained model
is needed. Every assertion is on what crossed the wire: the webhook's HTTP answers and the
requests the fake Zalo API recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

pytest.importorskip("rasa", reason="runs in the Rasa environment: .venv-rasa/bin/python -m pytest tests/rasa_env")

from rasa.core.channels.channel import UserMessage  # noqa: E402
from rasa.shared.exceptions import RasaException  # noqa: E402
from sanic import Sanic  # noqa: E402

from assistant.core.reply import split_text  # noqa: E402
from connectors.guarded_rest import EMPTY_MESSAGE_REPLY  # noqa: E402
from connectors.zalo.channel import FAILURE_REPLY, NON_TEXT_REPLY, ZaloInput  # noqa: E402
from connectors.zalo.config import ENV_VARS, URL_ENV_VARS, zalo_env_defaults  # noqa: E402
from connectors.zalo.logs import user_ref  # noqa: E402
from connectors.zalo.messages import MAX_TEXT_CHARS  # noqa: E402
from connectors.zalo.signature import signature_header  # noqa: E402
from connectors.zalo.store import MESSAGE_CLAIM_SECONDS, ZaloStore  # noqa: E402
from tests.support.fake_zalo import OAUTH_PATH, PORT_RANGE, SEND_PATH, FakeZalo  # noqa: E402
from tests.support.sanic_server import running  # noqa: E402

APP_ID = "test-app"
OA_SECRET = "oa-secret-key"
USER = "8512345678901234567"  # Zalo user ids are long digit strings
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_app_names = itertools.count()
_msg_ids = itertools.count(1)

Handler = Callable[[UserMessage], Awaitable[Any]]


# -- helpers ---------------------------------------------------------------------------------------
@pytest.fixture
def fake() -> FakeZalo:
    with FakeZalo(app_id=APP_ID) as server:
        yield server


def make_channel(fake: FakeZalo, outbox: Path, **overrides: Any) -> ZaloInput:
    credentials = {
        "app_id": APP_ID,
        "oa_secret_key": OA_SECRET,
        "access_token": "token-1",
        "refresh_token": "refresh-1",
        "app_secret": fake.app_secret,
        "api_base": fake.url,
        "oauth_url": fake.oauth_url,
        "outbox_path": str(outbox),
        "retry_delays": [0.01, 0.02],
        "request_timeout_seconds": 2,
    }
    credentials.update(overrides)
    return ZaloInput.from_credentials(credentials)


def zalo_event(
    event_name: str = "user_send_text",
    text: str = "làm căn cước cần gì",
    msg_id: str | None = None,
    user_id: str = USER,
    timestamp_ms: int | None = None,
) -> dict:
    """An event shaped like Zalo's webhook deliveries."""
    message: dict[str, Any] = {"msg_id": msg_id or f"msg-{next(_msg_ids)}"}
    if event_name == "user_send_text":
        message["text"] = text
    elif event_name.startswith("user_send_"):
        message["attachments"] = [{"type": event_name.removeprefix("user_send_"), "payload": {"url": "https://x"}}]
    return {
        "app_id": APP_ID,
        "user_id_by_app": "552177279717587730",
        "event_name": event_name,
        "sender": {"id": user_id},
        "recipient": {"id": "388613280878808645"},
        "message": message,
        "timestamp": str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)),
    }


def signed(body: dict, secret: str = OA_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return raw, {
        "X-ZEvent-Signature": signature_header(APP_ID, raw, body["timestamp"], secret),
        "Content-Type": "application/json",
    }


class Recorder:
    """Stand-in for Rasa's agent: records messages and answers through the channel's output."""

    def __init__(self, reply: Callable[[UserMessage], dict] | None = None) -> None:
        self.messages: list[UserMessage] = []
        self.reply = reply or (lambda m: {"text": f"Anh/Chị hỏi: {m.text}"})

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_response(message.sender_id, self.reply(message))


@asynccontextmanager
async def serving(channel: ZaloInput, handler: Handler) -> AsyncIterator[str]:
    """The channel's blueprint in a real Sanic server on a local port, mounted like `rasa run` does."""
    Sanic.test_mode = True  # several apps in one process (sanic re-patches its handlers per app)
    app = Sanic(f"zalo_test_{next(_app_names)}")
    app.blueprint(channel.blueprint(handler), url_prefix=f"/webhooks/{channel.url_prefix()}")
    async with running(app, PORT_RANGE) as port:
        yield f"http://127.0.0.1:{port}/webhooks/zalo"


async def post(url: str, raw: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/webhook", data=raw, headers=headers) as response:
            return response.status, await response.json()


async def deliver(channel: ZaloInput, handler: Handler, *bodies: dict) -> list[tuple[int, dict]]:
    """Post signed events to the webhook, then wait until the background answers are done."""
    async with serving(channel, handler) as url:
        answers = [await post(url, *signed(body)) for body in bodies]
        await channel.drain()
    return answers


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)


def text_message(text: str) -> dict:
    return {"recipient": {"user_id": USER}, "message": {"text": text}}


# -- receiving ---------------------------------------------------------------------------------------
def test_text_is_acknowledged_before_it_is_answered_then_answered_with_exact_payload(fake, tmp_path):
    channel = make_channel(fake, tmp_path / "outbox.sqlite")
    gate: dict[str, asyncio.Event] = {}
    recorder = Recorder()

    async def slow_agent(message: UserMessage) -> None:
        await gate["open"].wait()  # Rasa still "thinking" when the webhook must already have answered
        await recorder(message)

    async def scenario() -> tuple[int, dict, list]:
        gate["open"] = asyncio.Event()
        async with serving(channel, slow_agent) as url:
            status, answer = await asyncio.wait_for(post(url, *signed(zalo_event(text="lam can cuoc can gi"))), 2)
            sent_before_reply = list(fake.sent_messages())
            gate["open"].set()
            await channel.drain()
        return status, answer, sent_before_reply

    status, answer, sent_before_reply = run(scenario())
    assert (status, answer) == (200, {"status": "accepted"})
    assert sent_before_reply == []
    assert fake.sent_messages() == [text_message("Anh/Chị hỏi: lam can cuoc can gi")]
    assert fake.send_attempts()[0].headers["access_token"] == "token-1"
    [message] = recorder.messages
    assert (message.sender_id, message.input_channel) == (USER, "zalo")
    assert message.metadata["zalo_event"] == "user_send_text"


def test_bad_or_missing_signature_is_refused_with_401(fake, tmp_path):
    channel = make_channel(fake, tmp_path / "outbox.sqlite")
    recorder = Recorder()
    body = zalo_event()

    async def scenario() -> list[tuple[int, dict]]:
        async with serving(channel, recorder) as url:
            raw, headers = signed(body, secret="not-the-oa-secret")
            wrong_key = await post(url, raw, headers)
            raw, headers = signed(body)
            missing = await post(url, raw, {"Content-Type": "application/json"})
            tampered_raw = raw.replace("căn cước".encode(), "hộ chiếu".encode())
            tampered = await post(url, tampered_raw, headers)
            other_app = dict(body, app_id="another-app")
            raw, headers = signed(other_app)
            wrong_app = await post(url, raw, headers)
            await channel.drain()
        return [wrong_key, missing, tampered, wrong_app]

    answers = run(scenario())
    assert [status for status, _ in answers] == [401, 401, 401, 401]
    assert "does not match" in answers[0][1]["error"]
    assert "missing X-ZEvent-Signature" in answers[1][1]["error"]
    assert "another Zalo app_id" in answers[3][1]["error"]
    assert recorder.messages == [] and fake.requests == []


def test_correct_signature_follows_zalo_formula(fake, tmp_path):
    """mac = sha256(app_id + raw body + timestamp + OA secret key), computed here independently."""
    body = zalo_event()
    raw = json.dumps(body).encode()
    expected = hashlib.sha256((APP_ID + raw.decode() + body["timestamp"] + OA_SECRET).encode()).hexdigest()
    channel = make_channel(fake, tmp_path / "outbox.sqlite")
    recorder = Recorder()

    async def scenario() -> tuple[int, dict]:
        async with serving(channel, recorder) as url:
            answer = await post(url, raw, {"X-ZEvent-Signature": f"mac={expected}"})
            await channel.drain()
        return answer

    assert run(scenario()) == (200, {"status": "accepted"})
    assert len(recorder.messages) == 1


@pytest.mark.parametrize("age_seconds", [301, 3600, -400], ids=["just-stale", "replayed-hour-later", "future"])
def test_replayed_or_future_event_is_refused_with_401(fake, tmp_path, age_seconds):
    channel = make_channel(fake, tmp_path / "outbox.sqlite", max_age_seconds=300)
    recorder = Recorder()
    old = zalo_event(timestamp_ms=int((time.time() - age_seconds) * 1000))
    [(status, answer)] = run(deliver(channel, recorder, old))
    assert status == 401
    assert "stale" in answer["error"] or "future" in answer["error"]
    assert recorder.messages == [] and fake.requests == []


def test_malformed_payloads_get_400_or_413_with_a_reason(fake, tmp_path):
    channel = make_channel(fake, tmp_path / "outbox.sqlite", max_body_bytes=2048)
    recorder = Recorder()
    no_sender = zalo_event()
    del no_sender["sender"]
    no_text = zalo_event()
    no_text["message"].pop("text")
    no_msg_id = zalo_event()
    no_msg_id["message"].pop("msg_id")
    no_event_name = zalo_event()
    del no_event_name["event_name"]

    async def scenario() -> list[tuple[int, dict]]:
        async with serving(channel, recorder) as url:
            answers = [
                await post(url, b"{not json", {}),
                await post(url, b"[1, 2]", {}),
                await post(url, b"", {}),
                await post(url, b'{"event_name": "user_send_text"}', {}),
                await post(url, b'{"timestamp": "12ab"}', {}),
                await post(url, b"\xff\xfe", {}),
                await post(url, b"{" + b" " * 3000 + b"}", {}),
            ]
            for body in (no_sender, no_text, no_msg_id, no_event_name):
                answers.append(await post(url, *signed(body)))
            await channel.drain()
        return answers

    answers = run(scenario())
    assert [status for status, _ in answers] == [400, 400, 400, 400, 400, 400, 413, 400, 400, 400, 400]
    reasons = [answer["error"] for _, answer in answers]
    assert "not valid UTF-8 JSON" in reasons[0]
    assert "JSON object" in reasons[1]
    assert "empty body" in reasons[2]
    assert "timestamp" in reasons[3] and "timestamp" in reasons[4]
    assert "sender.id" in reasons[7]
    assert "message.text" in reasons[8]
    assert "message.msg_id" in reasons[9]
    assert "event_name" in reasons[10]
    assert recorder.messages == [] and fake.requests == []


@pytest.mark.parametrize(
    "event_name", ["user_received_message", "user_seen_message", "oa_send_text", "oa_send_image", "follow"]
)
def test_echoes_and_receipts_are_acknowledged_and_ignored(fake, tmp_path, event_name):
    channel = make_channel(fake, tmp_path / "outbox.sqlite")
    recorder = Recorder()
    [(status, answer)] = run(deliver(channel, recorder, zalo_event(event_name)))
    assert (status, answer) == (200, {"status": "ignored", "event": event_name})
    assert recorder.messages == [] and fake.requests == []


@pytest.mark.parametrize(
    "event_name",
    [
        "user_send_image",
        "user_send_sticker",
        "user_send_file",
        "user_send_location",
        "user_send_audio",
        "user_send_gif",
        "user_send_video",
    ],
)
def test_non_text_messages_get_a_polite_text_only_reply(fake, tmp_path, event_name):
    channel = make_channel(fake, tmp_path / "outbox.sqlite")
    recorder = Recorder()
    [(status, _)] = run(deliver(channel, recorder, zalo_event(event_name)))
    assert status == 200
    assert recorder.messages == []
    assert fake.sent_messages() == [text_message(NON_TEXT_REPLY)]
    assert NON_TEXT_REPLY.startswith("Dạ, hiện tôi chỉ đọc được tin nhắn văn bản")  # one voice: "tôi", never "em"


def test_empty_and_overlong_texts_get_a_polite_reply_without_reaching_rasa(fake, tmp_path):
    channel = make_channel(fake, tmp_path / "outbox.sqlite", max_input_chars=50)
    recorder = Recorder()
    run(
        deliver(
            channel, recorder, zalo_event(text="   "), zalo_event(text="\u200b\u200d"), zalo_event(text="thủ tục " * 20)
        )
    )
    assert recorder.messages == []
    sent = [m["message"]["text"] for m in fake.sent_messages()]
    assert sent[:2] == [EMPTY_MESSAGE_REPLY, EMPTY_MESSAGE_REPLY]
    assert "dài quá 50 ký tự" in sent[2]


def test_duplicate_delivery_is_answered_once_even_after_a_restart(fake, tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    recorder = Recorder()
    first = zalo_event(msg_id="dup-1")
    # Zalo re-delivers the same msg_id; a later copy carries a fresh timestamp and signature.
    again = zalo_event(msg_id="dup-1", timestamp_ms=int(first["timestamp"]) + 5000)
    answers = run(deliver(make_channel(fake, outbox), recorder, first, first, again))
    assert [a for _, a in answers] == [{"status": "accepted"}, {"status": "duplicate"}, {"status": "duplicate"}]
    after_restart = run(deliver(make_channel(fake, outbox), recorder, again))
    assert after_restart == [(200, {"status": "duplicate"})]
    assert len(recorder.messages) == 1
    assert len(fake.sent_messages()) == 1


def test_a_redelivery_after_a_node_died_mid_answer_is_answered_but_an_answered_one_never_is(fake, tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    lease_later = time.time() + MESSAGE_CLAIM_SECONDS + 1
    # Another node claimed "died-1" and died before queueing a reply (never marked done).
    assert ZaloStore(outbox, clock=lambda: lease_later - MESSAGE_CLAIM_SECONDS - 1).claim_message("died-1")
    recorder = Recorder()
    answered = zalo_event(msg_id="answered-1")
    run(deliver(make_channel(fake, outbox), recorder, answered))

    channel = make_channel(fake, outbox)
    channel.store.clock = lambda: lease_later  # both claims are now older than the lease
    redelivered = zalo_event(msg_id="answered-1", timestamp_ms=int(answered["timestamp"]) + 5000)
    answers = run(deliver(channel, recorder, zalo_event(msg_id="died-1", text="còn ai không"), redelivered))
    assert answers == [(200, {"status": "accepted"}), (200, {"status": "duplicate"})]
    assert [m.metadata["zalo_msg_id"] for m in recorder.messages] == ["answered-1", "died-1"]


def test_a_message_a_dead_node_accepted_is_answered_by_another_nodes_recovery_once(fake, tmp_path):
    """Zalo got its 200 from node A, which died before answering: Zalo never sends it again, so node B's
    periodic recovery answers it after the lease, and only once."""
    outbox = tmp_path / "outbox.sqlite"
    recorder = Recorder()

    async def dies(message: UserMessage) -> None:
        raise asyncio.CancelledError  # node A is killed while Rasa handles the message

    node_a = make_channel(fake, outbox)
    answers = run(deliver(node_a, dies, zalo_event(msg_id="lost-1", text="lam ho chieu o dau")))
    assert answers == [(200, {"status": "accepted"})] and fake.sent_messages() == []

    node_b = make_channel(fake, outbox)
    assert node_b.recover_stale_claims(recorder) == 0  # within the lease: node A may still answer it
    lease_later = time.time() + MESSAGE_CLAIM_SECONDS + 1
    node_b.store.clock = lambda: lease_later

    async def recover() -> int:
        taken = node_b.recover_stale_claims(recorder)
        await node_b.drain()
        return taken

    assert run(recover()) == 1
    assert run(recover()) == 0
    [message] = recorder.messages
    assert (message.text, message.sender_id, message.metadata["zalo_msg_id"]) == ("lam ho chieu o dau", USER, "lost-1")
    assert fake.sent_messages() == [text_message("Anh/Chị hỏi: lam ho chieu o dau")]


def test_handler_failure_still_answers_with_an_apology_and_logs_no_personal_numbers(fake, tmp_path, caplog):
    channel = make_channel(fake, tmp_path / "outbox.sqlite")

    async def broken_agent(message: UserMessage) -> None:
        raise RuntimeError(f"action failed for question: {message.text}")

    with caplog.at_level(logging.ERROR, logger="connectors.zalo"):
        run(deliver(channel, broken_agent, zalo_event(text="CCCD 079203001234, SĐT 0912 345 678")))
    assert fake.sent_messages() == [text_message(FAILURE_REPLY)]
    logged = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "action failed" in logged and user_ref(USER) in logged
    for personal in ("079203001234", "0912 345 678", USER):
        assert personal not in logged


def test_a_flooding_user_is_rate_limited_with_one_notice(fake, tmp_path):
    channel = make_channel(fake, tmp_path / "outbox.sqlite", sender_rate_limit_per_minute=1, sender_rate_limit_burst=2)
    recorder = Recorder()
    answers = run(
        deliver(
            channel,
            recorder,
            *[zalo_event(text=f"câu {i}") for i in range(4)],
            zalo_event(text="người khác", user_id="333"),
        )
    )
    assert [a["status"] for _, a in answers] == ["accepted", "accepted", "rate_limited", "rate_limited", "accepted"]
    assert [m.text for m in recorder.messages] == ["câu 0", "câu 1", "người khác"]
    notices = [m for m in fake.sent_messages() if "nhanh quá" in m["message"]["text"]]
    assert len(notices) == 1 and notices[0]["recipient"]["user_id"] == USER


# -- replies -----------------------------------------------------------------------------------------
def test_rasa_buttons_become_a_zalo_template_with_query_and_url_buttons(fake, tmp_path):
    long_title = "Đăng ký khai sinh có yếu tố nước ngoài tại Ủy ban nhân dân cấp xã khu vực biên giới " * 2
    buttons = [
        {"title": "Đăng ký khai sinh", "payload": '/choose_option{"code": "1.001193"}'},
        {"title": long_title, "payload": '/choose_option{"code": "1.001695"}'},
        {"title": "Cổng Dịch vụ công", "url": "https://dichvucong.gov.vn", "type": "web_url"},
    ]
    recorder = Recorder(lambda m: {"text": "Anh/Chị muốn hỏi thủ tục nào ạ?", "buttons": buttons})
    run(deliver(make_channel(fake, tmp_path / "outbox.sqlite"), recorder, zalo_event(text="khai sinh")))
    [sent] = fake.sent_messages()
    short_long_title = long_title.strip()[:99].rstrip() + "…"
    assert sent == {
        "recipient": {"user_id": USER},
        "message": {
            "text": "Anh/Chị muốn hỏi thủ tục nào ạ?",
            "attachment": {
                "type": "template",
                "payload": {
                    "buttons": [
                        {"title": "Đăng ký khai sinh", "type": "oa.query.show", "payload": "Đăng ký khai sinh"},
                        {"title": short_long_title, "type": "oa.query.show", "payload": short_long_title},
                        {
                            "title": "Cổng Dịch vụ công",
                            "type": "oa.open.url",
                            "payload": {"url": "https://dichvucong.gov.vn"},
                        },
                    ]
                },
            },
        },
    }
    assert len(sent["message"]["attachment"]["payload"]["buttons"][1]["title"]) == 100


def test_a_tapped_button_shows_its_title_and_reaches_rasa_as_its_payload(fake, tmp_path):
    """Issue 12: a tap on an `oa.query.show` button appears in the chat as the citizen's message with
    the button's payload as text, so that payload is the title; Rasa still gets its own payload."""
    buttons = [
        {"title": "Đăng ký khai sinh", "payload": '/choose_option{"option_index":"1"}'},
        {"payload": '/choose_option{"option_index":"2"}'},
    ]  # no title: numbered, never the payload
    recorder = Recorder(
        lambda m: (
            {"text": "Anh/Chị muốn hỏi thủ tục nào ạ?", "buttons": buttons}
            if m.text == "khai sinh"
            else {"text": f"Đã chọn {m.text}"}
        )
    )
    channel = make_channel(fake, tmp_path / "outbox.sqlite")
    run(deliver(channel, recorder, zalo_event(text="khai sinh")))
    shown = fake.sent_messages()[0]["message"]["attachment"]["payload"]["buttons"]
    assert [(b["title"], b["payload"]) for b in shown] == [
        ("Đăng ký khai sinh", "Đăng ký khai sinh"),
        ("Lựa chọn 2", "Lựa chọn 2"),
    ]
    assert not any("/" in b["payload"] or "{" in b["payload"] for b in shown)
    # Zalo posts the tap as user_send_text with the payload (= the title) as text, to any worker.
    other_worker = make_channel(fake, tmp_path / "outbox.sqlite")
    run(
        deliver(
            other_worker,
            recorder,
            zalo_event(text="Đăng ký khai sinh"),
            zalo_event(text="Lựa chọn 2"),
            zalo_event(text="Đăng ký khai sinh", user_id="999"),
        )
    )
    assert [m.text for m in recorder.messages[1:]] == [
        '/choose_option{"option_index":"1"}',
        '/choose_option{"option_index":"2"}',
        "Đăng ký khai sinh",
    ]  # another user never got these buttons: plain text for them
    assert recorder.messages[1].metadata["zalo_button"] is True


def test_more_than_five_buttons_keep_the_rest_as_a_numbered_list(fake, tmp_path):
    buttons = [{"title": f"Thủ tục {i}", "payload": f'/choose_option{{"index": {i}}}'} for i in range(1, 8)]
    recorder = Recorder(lambda m: {"text": "Có nhiều thủ tục gần giống:", "buttons": buttons})
    run(deliver(make_channel(fake, tmp_path / "outbox.sqlite"), recorder, zalo_event()))
    [sent] = fake.sent_messages()
    assert sent["message"]["text"] == "Có nhiều thủ tục gần giống:\n6. Thủ tục 6\n7. Thủ tục 7"
    assert [b["title"] for b in sent["message"]["attachment"]["payload"]["buttons"]] == [
        f"Thủ tục {i}" for i in range(1, 6)
    ]


def test_long_text_is_split_at_sentence_boundaries_and_buttons_ride_on_the_last_part(fake, tmp_path):
    sentence = "Anh/Chị chuẩn bị tờ khai đăng ký khai sinh theo mẫu và giấy chứng sinh bản chính. "
    long_text = (sentence * 60).strip()  # about 5,000 characters
    buttons = [{"title": "Lệ phí", "payload": "/ask_fee"}]
    recorder = Recorder(lambda m: {"text": long_text, "buttons": buttons})
    run(deliver(make_channel(fake, tmp_path / "outbox.sqlite"), recorder, zalo_event()))
    parts = [m["message"] for m in fake.sent_messages()]
    assert len(parts) == 3
    assert all(len(p["text"]) <= MAX_TEXT_CHARS for p in parts)
    assert all(p["text"].endswith("bản chính.") for p in parts)
    assert " ".join(p["text"] for p in parts) == long_text
    assert [("attachment" in p) for p in parts] == [False, False, True]


def test_split_text_prefers_paragraphs_then_lines_then_words():
    paragraphs = "\n\n".join(["a" * 1500, "b" * 1500])
    assert split_text(paragraphs, MAX_TEXT_CHARS) == ["a" * 1500, "b" * 1500]
    lines = "\n".join(["c" * 1200, "d" * 1200])
    assert split_text(lines, MAX_TEXT_CHARS) == ["c" * 1200, "d" * 1200]
    words = " ".join(["từ"] * 1500)  # 4,499 characters, no sentence end
    chunks = split_text(words, MAX_TEXT_CHARS)
    assert all(len(c) <= MAX_TEXT_CHARS for c in chunks) and " ".join(chunks) == words
    unbroken = "x" * 4100
    assert split_text(unbroken, MAX_TEXT_CHARS) == ["x" * 2000, "x" * 2000, "x" * 100]
    assert split_text("ngắn", MAX_TEXT_CHARS) == ["ngắn"]


# -- delivery failures ---------------------------------------------------------------------------------
def test_expired_token_is_refreshed_once_and_the_message_resent(fake, tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    fake.expire_token()
    run(deliver(make_channel(fake, outbox), Recorder(), zalo_event(text="xin chào")))
    paths = [(r.path, r.headers.get("access_token")) for r in fake.requests]
    assert paths == [(SEND_PATH, "token-1"), (OAUTH_PATH, None), (SEND_PATH, "token-refreshed-1")]
    oauth = fake.requests[1]
    assert oauth.headers["secret_key"] == fake.app_secret
    assert oauth.form == {"refresh_token": "refresh-1", "app_id": APP_ID, "grant_type": "refresh_token"}
    assert fake.sent_messages() == [text_message("Anh/Chị hỏi: xin chào")]
    # Zalo refresh tokens are single-use: the new pair must survive a restart.
    assert ZaloStore(outbox).load_tokens("refresh-1") == ("token-refreshed-1", "refresh-refreshed-1")
    fake.requests.clear()
    run(deliver(make_channel(fake, outbox), Recorder(), zalo_event(text="cảm ơn")))
    assert [(r.path, r.headers.get("access_token")) for r in fake.requests] == [(SEND_PATH, "token-refreshed-1")]


def test_refused_refresh_keeps_the_reply_in_the_outbox(fake, tmp_path, caplog):
    outbox = tmp_path / "outbox.sqlite"
    fake.expire_token()
    channel = make_channel(fake, outbox, app_secret="wrong-secret", retry_delays=[0.01])
    with caplog.at_level(logging.WARNING, logger="connectors.zalo"):
        run(deliver(channel, Recorder(), zalo_event()))
    assert fake.sent_messages() == []
    assert ZaloStore(outbox).pending_count() == 1
    assert "token refresh refused by Zalo" in caplog.text
    assert "kept in outbox" in caplog.text


def test_server_errors_are_retried_with_backoff_then_delivered(fake, tmp_path):
    fake.fail_with_500(2)
    channel = make_channel(fake, tmp_path / "outbox.sqlite", retry_delays=[0.05, 0.1])
    started = time.monotonic()
    run(deliver(channel, Recorder(), zalo_event(text="lệ phí")))
    assert time.monotonic() - started >= 0.15  # both pauses were taken
    assert len(fake.send_attempts()) == 3
    assert fake.sent_messages() == [text_message("Anh/Chị hỏi: lệ phí")]
    assert channel.store.pending_count() == 0


def test_persistent_zalo_error_goes_to_the_outbox_after_bounded_retries(fake, tmp_path, caplog):
    fake.fail_with_code(-32, times=10)  # e.g. rate limited
    channel = make_channel(fake, tmp_path / "outbox.sqlite", retry_delays=[0.01, 0.01])
    with caplog.at_level(logging.WARNING, logger="connectors.zalo"):
        run(deliver(channel, Recorder(), zalo_event()))
    assert len(fake.send_attempts()) == 3
    assert channel.store.pending_count() == 1
    assert "Zalo error -32" in caplog.text


def test_api_down_replies_wait_in_the_outbox_in_order_and_are_flushed_when_it_returns(fake, tmp_path, caplog):
    outbox = tmp_path / "outbox.sqlite"
    channel = make_channel(fake, outbox)
    fake.go_down()
    with caplog.at_level(logging.WARNING, logger="connectors.zalo"):
        run(deliver(channel, Recorder(), zalo_event(text="câu 1"), zalo_event(text="câu 2")))
    assert fake.requests == []
    assert channel.store.pending_count() == 2
    assert "kept in outbox" in caplog.text
    assert USER not in caplog.text and user_ref(USER) in caplog.text  # the user id is pseudonymised in logs

    async def health() -> dict:
        async with serving(channel, Recorder()) as url:
            async with aiohttp.ClientSession() as session:
                async with session.get(url + "/") as response:
                    return await response.json()

    assert run(health()) == {"status": "ok", "outbox_pending": 2, "outbox_dead": 0}

    # Still down: a flush keeps everything and stops at the first refused connection.
    result = run(channel.flush_outbox())
    assert (result.delivered, result.remaining) == (0, 2)

    fake.come_back()
    restarted = make_channel(fake, outbox)  # the outbox survives a restart of the Rasa server
    result = run(restarted.flush_outbox())
    assert (result.delivered, result.remaining, result.dead) == (2, 0, 0)
    assert fake.sent_messages() == [text_message("Anh/Chị hỏi: câu 1"), text_message("Anh/Chị hỏi: câu 2")]


def test_a_successful_send_flushes_what_waited_for_other_users(fake, tmp_path):
    channel = make_channel(fake, tmp_path / "outbox.sqlite")
    fake.go_down()
    run(deliver(channel, Recorder(), zalo_event(text="trước", user_id="111")))
    assert channel.store.pending_count() == 1
    fake.come_back()
    run(deliver(channel, Recorder(), zalo_event(text="sau", user_id="222")))
    users = [m["recipient"]["user_id"] for m in fake.sent_messages()]
    assert sorted(users) == ["111", "222"]
    assert channel.store.pending_count() == 0


def test_outbox_parks_a_message_as_dead_after_too_many_attempts(fake, tmp_path, caplog):
    channel = make_channel(fake, tmp_path / "outbox.sqlite", retry_delays=[], max_outbox_attempts=2)
    fake.fail_with_code(-213, times=100)  # e.g. the user no longer follows the OA
    run(deliver(channel, Recorder(), zalo_event()))
    with caplog.at_level(logging.ERROR, logger="connectors.zalo"):
        first = run(channel.flush_outbox())
        second = run(channel.flush_outbox())
    assert (first.remaining, first.dead) == (1, 0)
    assert (second.remaining, second.dead) == (0, 1)  # kept in the table, no longer retried
    assert "parked as dead" in caplog.text


# -- configuration -----------------------------------------------------------------------------------
def test_without_secrets_the_channel_disables_itself_with_a_clear_reason(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="connectors.zalo"):
        channel = ZaloInput.from_credentials({"app_id": "", "oa_secret_key": "", "outbox_path": str(tmp_path / "o")})
    assert "set ZALO_APP_ID and ZALO_OA_SECRET_KEY" in caplog.text
    assert not (tmp_path / "o").exists()

    async def scenario() -> tuple[tuple[int, dict], dict]:
        async with serving(channel, Recorder()) as url:
            answer = await post(url, *signed(zalo_event()))
            async with aiohttp.ClientSession() as session:
                async with session.get(url + "/") as response:
                    return answer, await response.json()

    (status, answer), health = run(scenario())
    assert status == 503 and "ZALO_APP_ID" in answer["error"]
    assert health["status"] == "disabled"


def test_bad_credentials_value_is_a_one_line_error():
    with pytest.raises(RasaException, match="retry_delays.*list of seconds"):
        ZaloInput.from_credentials({"app_id": "a", "oa_secret_key": "s", "retry_delays": "soon"})


def test_unwritable_outbox_path_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RasaException, match="cannot open the Zalo outbox database.*outbox_path"):
        ZaloInput.from_credentials({"app_id": "a", "oa_secret_key": "s", "outbox_path": str(blocker / "outbox.sqlite")})


def test_credentials_yml_block_loads_through_rasa_with_unset_secrets(monkeypatch, tmp_path):
    """The committed credentials.yml starts Rasa on a machine without Zalo secrets."""
    from rasa.core.run import create_http_input_channels

    for name in [*ENV_VARS, *URL_ENV_VARS]:
        monkeypatch.delenv(name, raising=False)
    for name, value in zalo_env_defaults().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # the disabled channel must not create files anyway
    for name in ("TTHC_ACTION_ENDPOINT_URL", "TTHC_TRACKER_DB", "TTHC_ZALO_OUTBOX"):
        monkeypatch.setenv(name, "unused")
    channels = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))
    [zalo] = [c for c in channels if isinstance(c, ZaloInput)]
    assert zalo.disabled_reason and zalo.config.api_base == "https://openapi.zalo.me"


def test_env_defaults_fill_only_unset_variables():
    assert zalo_env_defaults({"ZALO_APP_ID": "123", "ZALO_API_BASE": "http://127.0.0.1:9"}) == {
        **{name: "" for name in ENV_VARS if name != "ZALO_APP_ID"},
        "ZALO_OAUTH_URL": "https://oauth.zaloapp.com/v4/oa/access_token",
    }


def test_user_refs_are_stable_and_distinct():
    assert user_ref(USER) == user_ref(USER) != user_ref("7700000000000000001")
    assert USER not in user_ref(USER)
