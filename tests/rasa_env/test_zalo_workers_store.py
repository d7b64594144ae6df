"""The Zalo connector with several Rasa workers on one store (issue 12), in one process: two channel
objects on the same outbox file stand for two workers (each store object holds its own connection
and its own claim/lease identity). The real two-worker `rasa run` is in test_zalo_rasa_server.py."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa env (.venv-rasa)")
pytestmark = pytest.mark.rasa

from connectors.zalo.channel import ZaloInput  # noqa: E402
from connectors.zalo.store import ZaloStore  # noqa: E402
from tests.support.fake_zalo import OAUTH_PATH, FakeZalo  # noqa: E402

APP_ID = "workers-app"


@pytest.fixture
def fake():
    with FakeZalo(app_id=APP_ID) as server:
        yield server


def worker(fake: FakeZalo, outbox: Path) -> ZaloInput:
    return ZaloInput.from_credentials(
        {
            "app_id": APP_ID,
            "oa_secret_key": "oa-secret",
            "access_token": "token-1",
            "refresh_token": "refresh-1",
            "app_secret": fake.app_secret,
            "api_base": fake.url,
            "oauth_url": fake.oauth_url,
            "outbox_path": str(outbox),
            "retry_delays": [0.01],
            "request_timeout_seconds": 2,
        }
    )


def message(i: int) -> dict:
    return {"text": f"trả lời {i}"}


def test_after_an_expiry_exactly_one_worker_refreshes_and_both_use_the_new_pair(fake, tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    first, second = worker(fake, outbox), worker(fake, outbox)
    fake.expire_token()

    async def scenario() -> list[bool]:
        sends = [w.client.send(f"user-{i}", message(i)) for i in range(6) for w in (first, second)]
        return await asyncio.gather(*sends)

    assert all(asyncio.run(scenario()))
    oauth = [r for r in fake.requests if r.path == OAUTH_PATH]
    assert len(oauth) == 1 and fake.refresh_count == 1  # the single-use refresh token was spent once
    assert len(fake.sent_messages()) == 12
    assert first.client.access_token == second.client.access_token == "token-refreshed-1"


def test_two_flushing_workers_deliver_each_waiting_reply_once_in_order(fake, tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    first, second = worker(fake, outbox), worker(fake, outbox)
    fake.go_down()

    async def scenario():
        for i in range(4):
            for user in ("111", "222", "333"):
                await first.client.send(user, message(i))
        await first.client.wait_background()
        assert first.store.pending_count() == 12 and fake.requests == []
        fake.come_back()
        return await asyncio.gather(first.flush_outbox(), second.flush_outbox(), second.flush_outbox())

    results = asyncio.run(scenario())
    assert sum(r.delivered for r in results) == 12
    sent = fake.sent_messages()
    assert len(sent) == 12
    for user in ("111", "222", "333"):
        assert [m["message"]["text"] for m in sent if m["recipient"]["user_id"] == user] == [
            f"trả lời {i}" for i in range(4)
        ]
    assert first.store.pending_count() == 0


def test_a_claim_by_a_live_worker_keeps_others_off_that_users_replies(tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    a, b = ZaloStore(outbox), ZaloStore(outbox)
    for i in range(3):
        a.enqueue("111", message(i), "down")
    a.enqueue("222", message(9), "down")
    claimed = a.claim_user_batch(60)
    assert [item.user_id for item in claimed] == ["111"] * 3
    assert [item.user_id for item in b.claim_user_batch(60)] == ["222"]  # not 111's
    assert b.claim_user_batch(60) == []
    a.release_claims()
    assert [item.user_id for item in b.claim_user_batch(60)] == ["111"] * 3
    c = ZaloStore(outbox)
    assert c.claim_user_batch(-1) == []  # everything is claimed by b now
    b.failed(claimed[0].id, "still down", dead=False)  # a failure gives that row back …
    assert c.claim_user_batch(60) == []  # … but the user's later replies are still b's: order holds
    b.release_claims()
    assert [item.id for item in c.claim_user_batch(60)] == [item.id for item in claimed]


def test_an_expired_claim_or_lease_is_taken_over(tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    a, b = ZaloStore(outbox), ZaloStore(outbox)
    a.enqueue("111", message(1), "down")
    assert a.claim_user_batch(-1)  # lapsed at once: a worker that died mid-flush
    assert b.claim_user_batch(60)
    assert a.try_lease("refresh", 60) and not b.try_lease("refresh", 60)
    a.release_lease("refresh")
    assert b.try_lease("refresh", -1) and a.try_lease("refresh", 60)  # b's lease had lapsed


def _child_uses_own_connection(store: ZaloStore, results) -> None:
    parent_connection = store._connection
    store.enqueue("child", {"text": "x"}, "test")
    results.put((store._connection is not parent_connection, store.pending_count()))


def test_a_store_opened_before_the_fork_gets_its_own_connection_in_each_worker(tmp_path):
    store = ZaloStore(tmp_path / "outbox.sqlite")  # Rasa builds the channel before Sanic forks
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_child_uses_own_connection, args=(store, results))
    process.start()
    own_connection, count = results.get(timeout=30)
    process.join(10)
    assert own_connection and count == 1
    assert store.pending_count() == 1  # the parent sees the child's row
