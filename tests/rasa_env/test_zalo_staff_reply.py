"""A staff member's reply to a Zalo hand-off (issue 14 item 6) reaches the citizen through the Zalo channel as it
runs inside `rasa run`: the app's hand-off desk queues it in the channel's outbox, and the channel's own periodic
flusher delivers it through the OA API (the local fake), after any reply the citizen was still waiting for."""

from __future__ import annotations

import asyncio
import time

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa environment: .venv-rasa/bin/python -m pytest tests/rasa_env")

from assistant.app import conversation_log, handoff_desk  # noqa: E402
from tests.rasa_env.test_zalo_channel import (  # noqa: E402
    USER,
    Recorder,
    deliver,
    fake,  # noqa: F401 (fixture)
    make_channel,
    serving,
    text_message,
    zalo_event,
)


async def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not delivered in time")
        await asyncio.sleep(0.05)


def test_the_channels_flusher_delivers_a_staff_reply_in_order(fake, tmp_path):  # noqa: F811
    db, outbox = tmp_path / "app.db", tmp_path / "outbox.sqlite"
    channel = make_channel(fake, outbox, retry_delays=[], flush_interval_seconds=0.2)
    fake.go_down()  # the bot's last answer could not be delivered: it waits in the outbox
    asyncio.run(deliver(channel, Recorder(), zalo_event(text="cho tôi gặp cán bộ")))
    assert channel.store.pending_count(USER) == 1

    case = conversation_log.flag_handoff(USER, "zalo", [{"sender": "user", "text": "cho tôi gặp cán bộ"}], db_path=db)
    reply = handoff_desk.reply(
        case, "Dạ, hồ sơ của Anh/Chị đã đủ, mời Anh/Chị đến nhận kết quả.", db_path=db, outbox_path=outbox
    )
    assert reply.delivery == "waiting"
    fake.come_back()

    async def served() -> None:
        async with serving(channel, Recorder()):  # the flusher starts with the server, as in `rasa run`
            await wait_for(lambda: len(fake.sent_messages()) == 2)

    asyncio.run(served())
    assert fake.sent_messages() == [
        text_message("Anh/Chị hỏi: cho tôi gặp cán bộ"),  # what the citizen was waiting for comes first
        text_message(handoff_desk.REPLY_PREFIX + "Dạ, hồ sơ của Anh/Chị đã đủ, mời Anh/Chị đến nhận kết quả."),
    ]
    [shown] = handoff_desk.get_case(case, db_path=db, outbox_path=outbox).replies
    assert shown.delivery == "sent"
