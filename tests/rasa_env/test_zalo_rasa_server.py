"""The Zalo channel inside a real `rasa run`, loaded from the committed credentials.yml block.

A tiny rule-only Rasa model is trained in a temporary directory (about 20 s), the Rasa server
runs as a subprocess on 127.0.0.1 with the channel pointed at the local fake Zalo API, and a
signed Zalo event goes in over HTTP; the test waits for the reply the fake Zalo receives.
The second test runs two Rasa workers (as `tthc up` does) and counts deliveries across a forced
token expiry and a Zalo outage, and what a button tap shows (issue 12).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa environment: .venv-rasa/bin/python -m pytest tests/rasa_env")

from connectors.zalo.channel import NON_TEXT_REPLY  # noqa: E402
from connectors.zalo.signature import signature_header  # noqa: E402
from tests.support.fake_zalo import OAUTH_PATH, PORT_RANGE, FakeZalo  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

pytestmark = [pytest.mark.rasa, pytest.mark.e2e]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RASA = Path(sys.executable).parent / "rasa"
APP_ID, OA_SECRET, USER = "e2e-app", "e2e-oa-secret", "7700000000000000001"

TINY_PROJECT = {
    "config.yml": "recipe: default.v1\nlanguage: vi\nassistant_id: zalo-e2e\npipeline: []\n"
    "policies:\n  - name: RulePolicy\n",
    "domain.yml": 'version: "3.1"\nintents: [greet]\nresponses:\n  utter_greet:\n'
    '  - text: "Chào Anh/Chị, em có thể giúp gì ạ?"\n    buttons:\n'
    '    - title: "Làm căn cước"\n      payload: "/greet"\n',
    "data/rules.yml": 'version: "3.1"\nrules:\n- rule: greet\n  steps:\n  - intent: greet\n  - action: utter_greet\n',
}


def zalo_block_for(fake: FakeZalo, outbox: Path) -> str:
    """The committed credentials.yml Zalo block, with the API URLs pointed at the fake."""
    text = (PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8")
    match = re.search(r"^connectors\.zalo\.channel\.ZaloInput:\n(?:[ \t]+.*\n?)+", text, re.MULTILINE)
    assert match, "credentials.yml has no connectors.zalo.channel.ZaloInput block"
    block = match.group(0)
    for key, value in {"api_base": fake.url, "oauth_url": fake.oauth_url, "outbox_path": str(outbox)}.items():
        block, count = re.subn(rf"^(\s+{key}:).*$", rf'\1 "{value}"', block, flags=re.MULTILINE)
        assert count == 1, f"credentials.yml Zalo block lacks '{key}'"
    return block


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("zalo-rasa-project")
    for name, content in TINY_PROJECT.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(content, encoding="utf-8")
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    result = subprocess.run(
        ["nice", str(RASA), "train", "--fixed-model-name", "zalo-e2e", "--out", "models"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    model = project / "models" / "zalo-e2e.tar.gz"
    assert result.returncode == 0 and model.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return model


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"rasa run exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    pytest.fail(f"rasa run did not answer {url} within {timeout} s:\n{log.read_text()[-3000:]}")


def post_event(url: str, event: dict) -> tuple[int, dict]:
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-ZEvent-Signature": signature_header(APP_ID, raw, event["timestamp"], OA_SECRET),
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


def wait_for_messages(fake: FakeZalo, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(fake.sent_messages()) < count:
        time.sleep(0.2)
    return fake.sent_messages()


def test_rasa_run_answers_zalo_events_through_the_committed_channel_block(tiny_model, tmp_path):
    with FakeZalo(app_id=APP_ID) as fake:
        credentials = tmp_path / "credentials.yml"
        credentials.write_text(zalo_block_for(fake, tmp_path / "outbox.sqlite"), encoding="utf-8")
        env = dict(
            os.environ,
            RASA_TELEMETRY_ENABLED="false",
            ZALO_APP_ID=APP_ID,
            ZALO_OA_SECRET_KEY=OA_SECRET,
            ZALO_ACCESS_TOKEN="token-1",
            ZALO_REFRESH_TOKEN="refresh-1",
            ZALO_APP_SECRET=fake.app_secret,
            ZALO_PUBLIC_URL="",
        )
        endpoints = tmp_path / "endpoints.yml"
        endpoints.write_text("{}\n")  # no action server or tracker store needed for rule replies
        port = free_port(PORT_RANGE)
        log = tmp_path / "rasa.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    "nice",
                    str(RASA),
                    "run",
                    "-m",
                    str(tiny_model),
                    "--credentials",
                    str(credentials),
                    "--endpoints",
                    str(endpoints),
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(port),
                ],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            base = f"http://127.0.0.1:{port}/webhooks/zalo"
            wait_for(base + "/", process, log)
            now = str(int(time.time() * 1000))
            greet = {
                "app_id": APP_ID,
                "event_name": "user_send_text",
                "sender": {"id": USER},
                "recipient": {"id": "1"},
                "message": {"msg_id": "e2e-1", "text": "/greet"},
                "timestamp": now,
            }
            sticker = {
                "app_id": APP_ID,
                "event_name": "user_send_sticker",
                "sender": {"id": USER},
                "recipient": {"id": "1"},
                "message": {"msg_id": "e2e-2"},
                "timestamp": now,
            }
            assert post_event(base + "/webhook", greet) == (200, {"status": "accepted"})
            assert wait_for_messages(fake, 1)[0] == {
                "recipient": {"user_id": USER},
                "message": {
                    "text": "Chào Anh/Chị, em có thể giúp gì ạ?",
                    "attachment": {
                        "type": "template",
                        "payload": {
                            "buttons": [{"title": "Làm căn cước", "type": "oa.query.show", "payload": "Làm căn cước"}]
                        },
                    },
                },
            }
            assert post_event(base + "/webhook", sticker) == (200, {"status": "accepted"})
            assert wait_for_messages(fake, 2)[1] == {
                "recipient": {"user_id": USER},
                "message": {"text": NON_TEXT_REPLY},
            }
            assert USER not in log.read_text(encoding="utf-8", errors="replace")  # user ids masked in Rasa's log
        finally:
            stop(process)


def start_rasa(model: Path, credentials: Path, endpoints: Path, env: dict, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port(PORT_RANGE)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                "nice",
                str(RASA),
                "run",
                "-m",
                str(model),
                "--credentials",
                str(credentials),
                "--endpoints",
                str(endpoints),
                "-i",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port


def post_events_at_once(url: str, events: list[dict]) -> list[tuple[int, dict]]:
    """Post events concurrently (threads), so both workers get some at the same moment."""

    async def all_of_them():
        return await asyncio.gather(*[asyncio.to_thread(post_event, url, event) for event in events])

    return asyncio.run(all_of_them())


def greet(user: str, msg_id: str, text: str = "/greet") -> dict:
    return {
        "app_id": APP_ID,
        "event_name": "user_send_text",
        "sender": {"id": user},
        "recipient": {"id": "1"},
        "message": {"msg_id": msg_id, "text": text},
        "timestamp": str(int(time.time() * 1000)),
    }


def replies_per_user(fake: FakeZalo, users: list[str]) -> Counter:
    return Counter(m["recipient"]["user_id"] for m in fake.sent_messages() if m["recipient"]["user_id"] in users)


def wait_until(condition, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def outbox_pending(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 0").fetchone()[0]


def test_two_rasa_workers_deliver_each_reply_once_across_token_expiry_and_outage(tiny_model, tmp_path):
    with FakeZalo(app_id=APP_ID) as fake:
        outbox = tmp_path / "outbox.sqlite"
        block = zalo_block_for(fake, outbox)
        block = block.rstrip("\n") + (
            "\n  retry_delays: [0.2]\n  flush_interval_seconds: 1\n  sender_rate_limit_burst: 50\n"
        )
        credentials = tmp_path / "credentials.yml"
        credentials.write_text(block, encoding="utf-8")
        endpoints = tmp_path / "endpoints.yml"
        endpoints.write_text(
            f"lock_store:\n  type: assistant.rasa_process.stores.SQLiteLockStore\n  db: {tmp_path / 'locks.db'}\n"
        )
        env = dict(
            os.environ,
            RASA_TELEMETRY_ENABLED="false",
            ZALO_APP_ID=APP_ID,
            ZALO_OA_SECRET_KEY=OA_SECRET,
            ZALO_ACCESS_TOKEN="token-1",
            ZALO_REFRESH_TOKEN="refresh-1",
            ZALO_APP_SECRET=fake.app_secret,
            ZALO_PUBLIC_URL="",
            SANIC_WORKERS="2",
            SANIC_KEEP_ALIVE="false",
            TTHC_RATE_LIMIT_DB=str(tmp_path / "limits.sqlite"),
        )
        log = tmp_path / "rasa.log"
        process, port = start_rasa(tiny_model, credentials, endpoints, env, log)
        try:
            base = f"http://127.0.0.1:{port}/webhooks/zalo"
            wait_for(base + "/", process, log, timeout=300)
            # Each worker process loads the model and says so.
            wait_until(
                lambda: log.read_text(errors="replace").count("Rasa server is up and running") >= 2,
                timeout=120,
                what="two Rasa workers",
            )

            # 1. Normal traffic.
            users = [f"77000000000000001{i:02d}" for i in range(6)]
            answers = post_events_at_once(base + "/webhook", [greet(u, f"a-{u}") for u in users])
            assert all(a == (200, {"status": "accepted"}) for a in answers)
            wait_until(lambda: sum(replies_per_user(fake, users).values()) >= 6, what="6 replies")

            # 2. The access token expires: one refresh for both workers, every reply once.
            fake.expire_token()
            expiry_users = [f"77000000000000002{i:02d}" for i in range(8)]
            post_events_at_once(base + "/webhook", [greet(u, f"b-{u}") for u in expiry_users])
            wait_until(lambda: sum(replies_per_user(fake, expiry_users).values()) >= 8, what="8 replies after expiry")
            assert fake.refresh_count == 1
            assert len([r for r in fake.requests if r.path == OAUTH_PATH]) == 1

            # 3. Zalo is down: replies wait in the outbox, then both workers' flushers deliver each once.
            fake.go_down()
            outage_users = [f"77000000000000003{i:02d}" for i in range(6)]
            post_events_at_once(base + "/webhook", [greet(u, f"c-{u}") for u in outage_users])
            wait_until(lambda: outbox_pending(outbox) == 6, what="6 replies in the outbox")
            fake.come_back()
            wait_until(
                lambda: sum(replies_per_user(fake, outage_users).values()) >= 6 and outbox_pending(outbox) == 0,
                what="the outbox to be flushed",
            )
            time.sleep(3)  # several more flush rounds of both workers: nothing may go out twice

            counts = replies_per_user(fake, users + expiry_users + outage_users)
            assert counts == Counter({user: 1 for user in users + expiry_users + outage_users})
            assert len(fake.sent_messages()) == 20

            # 4. A button tap: the citizen sees the title appear, Rasa gets the payload (/greet).
            [button] = fake.sent_messages()[0]["message"]["attachment"]["payload"]["buttons"]
            assert button == {"title": "Làm căn cước", "type": "oa.query.show", "payload": "Làm căn cước"}
            post_event(base + "/webhook", greet(users[0], "tap-1", text=button["payload"]))
            wait_until(lambda: replies_per_user(fake, users[:1])[users[0]] == 2, what="the reply to the tap")
            assert fake.sent_messages()[-1]["message"]["text"] == "Chào Anh/Chị, em có thể giúp gì ạ?"
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
