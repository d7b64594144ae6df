"""Rasa's REST channel logs the citizen's text at ERROR when a turn times out
(`rest.message.received.timeout`, rasa/core/channels/rest.py): in the Rasa process started by
`assistant.rasa_process.entry`, that line carries no raw phone or ID number."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys

import aiohttp
import pytest

pytest.importorskip("rasa", reason="runs in the Rasa environment: .venv-rasa/bin/python -m pytest tests/rasa_env")
pytestmark = pytest.mark.rasa

import structlog  # noqa: E402
from rasa.core.channels.channel import UserMessage  # noqa: E402
from rasa.utils.log_utils import configure_structlog  # noqa: E402
from sanic import Sanic  # noqa: E402

from assistant.core import logging_setup  # noqa: E402
from assistant.core.privacy import CCCD_MASK, PHONE_MASK  # noqa: E402
from assistant.rasa_process import entry  # noqa: E402
from connectors.guarded_rest import GuardedRestInput  # noqa: E402
from tests.support.fake_zalo import PORT_RANGE  # noqa: E402
from tests.support.sanic_server import running  # noqa: E402

CCCD, PHONE = "079203001234", "0912 345 678"
_app_names = itertools.count()


async def timed_out_turn(text: str) -> int:
    """POST to the REST webhook while the turn is cancelled, as Rasa's reply timeout cancels it."""

    async def cancelled(message: UserMessage) -> None:
        raise asyncio.CancelledError

    Sanic.test_mode = True
    app = Sanic(f"rest_timeout_test_{next(_app_names)}")
    channel = GuardedRestInput()
    app.blueprint(channel.blueprint(cancelled), url_prefix="/webhooks/rest")
    async with running(app, PORT_RANGE) as port:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
            async with session.post(url, json={"sender": "citizen-1", "message": text}) as response:
                return response.status


@pytest.fixture
def fresh_logging(monkeypatch):
    """A process whose logging nobody set up yet (no masking installed by an earlier test)."""
    factory, structlog_config = logging.getLogRecordFactory(), structlog.get_config()
    logging.setLogRecordFactory(logging.LogRecord)
    monkeypatch.setattr(logging_setup, "_installed", False)
    yield
    logging.setLogRecordFactory(factory)
    structlog.configure(**structlog_config)


def test_the_rest_timeout_error_line_carries_no_raw_phone_or_id_number(fresh_logging, monkeypatch, caplog):
    statuses = []

    def rasa_run() -> int:
        configure_structlog(logging.INFO)  # as `rasa run` does
        statuses.append(asyncio.run(timed_out_turn(f"Tôi cần làm lại CCCD {CCCD}, gọi tôi số {PHONE}")))
        return 0

    monkeypatch.setattr("rasa.__main__.main", rasa_run)
    monkeypatch.setattr(sys, "argv", ["rasa", "run"])
    with caplog.at_level(logging.ERROR):
        assert entry.main() == 0
    assert statuses == [200]
    [record] = [r for r in caplog.records if "rest.message.received.timeout" in r.getMessage()]
    assert record.levelno == logging.ERROR
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert CCCD_MASK in logged and PHONE_MASK in logged  # the text is there, masked
    for personal in (CCCD, PHONE, PHONE.replace(" ", "")):
        assert personal not in logged
