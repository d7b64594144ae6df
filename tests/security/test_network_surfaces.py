"""Every network surface of a running assistant, over HTTP: what must be closed is refused without
its secret, what must be open answers (issue 12; the table in docs/security.md, "Network surfaces").

Both real servers start the way `./start` → `tthc up` starts them (assistant.cli.launcher.processes: the
same commands, environment, endpoints.yml and credentials.yml, a generated action token), on free
127.0.0.1 ports with a temporary data dir, and with the Zalo channel on, pointed at a local fake Zalo
API (tests/support/fake_zalo.py, run in the Rasa env because it needs aiohttp). Needs the trained
model in models/rasa (./run-tests or `tthc up --prepare-only` builds it); about 2 minutes, most of
it the two Rasa workers loading the model.

    .venv/bin/python -m pytest tests/security/test_network_surfaces.py -q
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.app.handoff_desk import conversation_ref
from assistant.cli.launcher import processes, rasa_model
from assistant.core.settings import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER, ADMIN_TOKEN_ENV, PROJECT_ROOT, load_settings
from connectors.fallback_replies import SILENCE_REPLY
from connectors.zalo.signature import signature_header
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
ZALO_APP_ID, ZALO_OA_SECRET, ZALO_APP_SECRET = "surface-app", "surface-oa-secret", "surface-app-secret"
ZALO_USER = "8800000000000000001"
ADMIN_TOKEN = "surface-admin-token-" + uuid.uuid4().hex

# Rasa's HTTP API (rasa/server.py, 3.6): none of it may answer without a token.
RASA_API = [
    ("GET", "/conversations/citizen-1/tracker"),
    ("POST", "/conversations/citizen-1/tracker/events"),
    ("PUT", "/conversations/citizen-1/tracker/events"),
    ("GET", "/conversations/citizen-1/story"),
    ("POST", "/conversations/citizen-1/execute"),
    ("POST", "/conversations/citizen-1/trigger_intent"),
    ("POST", "/conversations/citizen-1/predict"),
    ("POST", "/conversations/citizen-1/messages"),
    ("DELETE", "/model"),
    ("PUT", "/model"),
    ("POST", "/model/train"),
    ("POST", "/model/test/stories"),
    ("POST", "/model/test/intents"),
    ("POST", "/model/predict"),
    ("POST", "/model/parse"),
    ("GET", "/domain"),
    ("GET", "/status"),
    ("GET", "/version"),
]
REFUSED = {401, 403, 404}


@dataclass
class Running:
    app_url: str
    rasa_url: str
    zalo_url: str
    action_token: str
    log_dir: Path

    def chat(self, message: str, sender: str | None = None, **extra) -> httpx.Response:
        body = {"sender": sender or f"web-{uuid.uuid4().hex[:12]}", "message": message, **extra}
        return httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=60)

    def zalo_sent(self) -> list[dict]:
        return httpx.get(f"{self.zalo_url}/_fake/sent", timeout=5).json()


def start_fake_zalo(port: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(RASA_PYTHON),
                "-m",
                "tests.support.fake_zalo",
                "--port",
                str(port),
                "--app-id",
                ZALO_APP_ID,
                "--app-secret",
                ZALO_APP_SECRET,
            ],
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the fake Zalo exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/_fake/sent", timeout=2)
            return process
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("the fake Zalo did not start within 60 s")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    model = rasa_model.model_path(PROJECT_ROOT / "models" / "rasa")
    if not model.exists():
        pytest.fail(f"no trained Rasa model at {model}; run '.venv/bin/tthc up --prepare-only'")
    if not RASA_PYTHON.exists():
        pytest.fail("the Rasa environment .venv-rasa is missing; run ./start")
    data_dir = tmp_path_factory.mktemp("surfaces")
    zalo_port = free_port()
    fake = start_fake_zalo(zalo_port, data_dir / "fake_zalo.log")
    zalo_url = f"http://127.0.0.1:{zalo_port}"
    patch = pytest.MonkeyPatch()
    for name in (ACTION_TOKEN_ENV, "TTHC_SECURITY__ACTION_TOKEN"):
        patch.delenv(name, raising=False)  # as on a fresh machine: the launcher generates the token
    for name, value in {
        "TTHC_SERVER__APP_PORT": str(free_port()),
        "TTHC_SERVER__RASA_PORT": str(free_port()),
        "TTHC_CATALOG__DATA_DIR": str(data_dir),
        ADMIN_TOKEN_ENV: ADMIN_TOKEN,
        "ZALO_APP_ID": ZALO_APP_ID,
        "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
        "ZALO_ACCESS_TOKEN": "token-1",
        "ZALO_REFRESH_TOKEN": "refresh-1",
        "ZALO_APP_SECRET": ZALO_APP_SECRET,
        "ZALO_API_BASE": zalo_url,
        "ZALO_OAUTH_URL": f"{zalo_url}/v4/oa/access_token",
    }.items():
        patch.setenv(name, value)
    servers = []
    try:
        settings = load_settings()
        from assistant.cli.launcher.catalog import ensure_index

        ensure_index(settings)
        log_dir = data_dir / "logs"
        servers = [processes.app_server(settings, log_dir), processes.rasa_server(settings, model, log_dir)]
        processes.start_all(servers, timeout=300)
        yield Running(
            settings.server.app_url, settings.server.rasa_url, zalo_url, processes.action_token(settings), log_dir
        )
    finally:
        processes.stop_all(servers)
        stop_process(fake)
        patch.undo()


# --- closed ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", RASA_API, ids=[f"{m} {p}" for m, p in RASA_API])
def test_rasa_http_api_refuses_everyone(running, method, path):
    for params in ({}, {"token": "guess"}):
        response = httpx.request(
            method,
            running.rasa_url + path,
            params=params,
            timeout=30,
            json={"event": "slot", "name": "x", "value": 1} if method != "GET" else None,
        )
        assert response.status_code in REFUSED, (
            f"{method} {path} answered {response.status_code}: {response.text[:200]}"
        )


def test_rasa_runs_without_its_http_api(running):
    command = " ".join(processes.rasa_server(load_settings(), Path("m.tar.gz"), running.log_dir).command)
    assert "--enable-api" not in command and "--auth-token" not in command


def test_action_endpoint_refuses_callers_without_the_secret(running):
    call = {"next_action": "action_answer_procedure", "sender_id": "x", "tracker": {"sender_id": "x", "events": []}}
    url = f"{running.app_url}/webhook"
    assert httpx.post(url, json=call, timeout=10).status_code == 401
    assert httpx.post(url, json=call, headers={ACTION_TOKEN_HEADER: "guess"}, timeout=10).status_code == 403
    assert httpx.post(url, json=call, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10).status_code == 401
    # A body the size only Rasa may send is refused before it is read.
    assert httpx.post(url, content=b"x" * 200_000, timeout=10).status_code == 401
    # With the secret the call reaches the executor (this body is incomplete: 400, not 401).
    assert (
        httpx.post(url, content=b"{}", headers={ACTION_TOKEN_HEADER: running.action_token}, timeout=10).status_code
        == 400
    )


def test_action_endpoint_is_not_in_the_public_api_docs(running):
    paths = httpx.get(f"{running.app_url}/openapi.json", timeout=10).json()["paths"]
    assert "/webhook" not in paths
    assert "/api/search" in paths


def test_staff_data_and_admin_need_the_admin_token(running):
    for method, path in (
        ("GET", "/api/staff/handoffs"),
        ("GET", "/api/staff/feedback"),
        ("GET", "/api/staff/interactions"),
        ("POST", "/admin/reload"),
    ):
        assert httpx.request(method, running.app_url + path, timeout=10).status_code == 401
    headers = {"X-Admin-Token": ADMIN_TOKEN}
    assert httpx.get(f"{running.app_url}/api/staff/handoffs", headers=headers, timeout=10).status_code == 200


def test_zalo_webhook_refuses_unsigned_and_replayed_events(running):
    url = f"{running.rasa_url}/webhooks/zalo/webhook"
    event = zalo_event("xin chào", msg_id=f"unsigned-{uuid.uuid4().hex}")
    raw = json.dumps(event).encode()
    assert httpx.post(url, content=raw, headers={"Content-Type": "application/json"}, timeout=10).status_code == 401
    old = zalo_event("xin chào", msg_id=f"old-{uuid.uuid4().hex}", timestamp_ms=int((time.time() - 3600) * 1000))
    assert post_zalo(running, old).status_code == 401


def test_chat_rate_limit_per_sender_holds_across_the_rasa_workers(running):
    """Two Rasa workers share one bucket per sender (60/min, burst 15 in credentials.yml): together
    they let a burst of 15 through, not 15 each. Empty messages: the limit applies before the model."""
    sender = f"flood-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    statuses = [running.chat(" ", sender=sender).status_code for _ in range(40)]
    elapsed = time.monotonic() - started
    allowed = statuses.count(200)
    assert set(statuses) <= {200, 429}
    assert 15 <= allowed <= 15 + int(elapsed) + 1, (allowed, elapsed)


def test_web_chat_cannot_enter_a_zalo_citizens_conversation(running):
    """Zalo user ids (all digits) and web chat senders share Rasa's conversation ids."""
    response = running.chat("cho tôi xem câu trả lời trước", sender=ZALO_USER)
    assert response.status_code == 400 and "Zalo" in response.json()["error"]


# --- open ----------------------------------------------------------------------------------------


def test_web_chat_answers_through_the_action_server(running):
    """The chat works end to end, so Rasa does send the action token (no apology for silence)."""
    response = running.chat("làm căn cước cần giấy tờ gì")
    assert response.status_code == 200
    texts = [message.get("text", "") for message in response.json()]
    assert texts and all(texts) and SILENCE_REPLY not in texts, texts
    assert (
        "Access-Control-Allow-Origin" not in response.headers or response.headers["Access-Control-Allow-Origin"] != "*"
    )


def test_rasa_readiness_route_is_the_chat_channel_status(running):
    response = httpx.get(f"{running.rasa_url}{processes.RASA_READY_PATH}", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_model_survived_the_attempts_on_the_api(running):
    """Runs after the API tests: DELETE /model and PUT /model changed nothing."""
    for _ in range(2):  # both workers, most likely
        response = running.chat("xin chào")
        texts = [message.get("text", "") for message in response.json()]
        assert response.status_code == 200 and texts and SILENCE_REPLY not in texts


def test_zalo_webhook_answers_a_signed_event(running):
    before = len(running.zalo_sent())
    event = zalo_event("làm căn cước cần giấy tờ gì", msg_id=f"open-{uuid.uuid4().hex}")
    response = post_zalo(running, event)
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(running.zalo_sent()) <= before:
        time.sleep(0.5)
    replies = [m for m in running.zalo_sent()[before:] if m["recipient"]["user_id"] == ZALO_USER]
    assert replies, "no reply reached the fake Zalo"
    assert all(SILENCE_REPLY not in m["message"].get("text", "") for m in replies)
    assert httpx.get(f"{running.rasa_url}/webhooks/zalo/", timeout=10).json()["status"] == "ok"


def test_real_rasa_turns_are_recorded_masked_and_counted(running):
    """Issue 14 items 1 and 5 with Rasa's own action calls: the web chat and Zalo turns above and this
    one are in the interaction log (masked) and in /metrics (loopback)."""
    sender = f"web-{uuid.uuid4().hex[:12]}"
    assert running.chat("làm căn cước cần giấy tờ gì, số tôi 0909 123 456", sender=sender).status_code == 200
    staff = {"X-Admin-Token": ADMIN_TOKEN}
    rows = httpx.get(
        f"{running.app_url}/api/staff/interactions", params={"limit": 1000}, headers=staff, timeout=10
    ).json()
    mine = [row for row in rows if row["conversation"] == conversation_ref("rest", sender)]
    assert mine and mine[-1]["question"] == "làm căn cước cần giấy tờ gì, số tôi [SĐT đã ẩn]", mine
    assert mine[-1]["channel"] == "rest" and mine[-1]["outcome"] == "answered" and mine[-1]["codes"], mine
    assert mine[-1]["turn_ms"] is not None and mine[-1]["action_ms"] >= 0
    assert any(row["channel"] == "zalo" and row["conversation"] == conversation_ref("zalo", ZALO_USER) for row in rows)
    assert sender not in str(rows) and ZALO_USER not in str(rows)  # the channels' own ids stay on the server
    app_db = running.log_dir.parent / "app.db"
    assert b"0909 123 456" not in app_db.read_bytes()
    text = httpx.get(f"{running.app_url}/metrics", timeout=10).text
    assert re.search(
        r'tthc_action_calls_total\{action="action_answer_procedure",channel="rest",outcome="answered"\} [1-9]', text
    ), text[-2000:]
    assert re.search(r'tthc_action_calls_total\{[^}]*channel="zalo"[^}]*\} [1-9]', text)


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/chat",
        "/chat/config.js",
        "/staff",
        "/docs",
        "/openapi.json",
        "/api/facets",
        "/api/search?q=khai%20sinh",
        "/actions",
    ],
)
def test_pages_and_public_api_are_open(running, path):
    assert httpx.get(running.app_url + path, timeout=30).status_code == 200


def test_the_secrets_never_leave_the_server(running):
    """Neither the action token nor the admin token is in a page, the API docs or a log."""
    public = [
        httpx.get(running.app_url + path, timeout=10).text
        for path in ("/chat", "/chat/config.js", "/staff", "/staff/config.js", "/openapi.json")
    ]
    public += [
        httpx.get(running.rasa_url + path, timeout=10).text for path in ("/", "/webhooks/rest/", "/webhooks/zalo/")
    ]
    logs = [path.read_text(encoding="utf-8", errors="replace") for path in running.log_dir.glob("*.log")]
    for secret in (running.action_token, ADMIN_TOKEN, ZALO_OA_SECRET, ZALO_APP_SECRET):
        assert not any(secret in text for text in public + logs)


# --- helpers -------------------------------------------------------------------------------------


def zalo_event(text: str, msg_id: str, timestamp_ms: int | None = None) -> dict:
    return {
        "app_id": ZALO_APP_ID,
        "event_name": "user_send_text",
        "sender": {"id": ZALO_USER},
        "recipient": {"id": "1"},
        "message": {"msg_id": msg_id, "text": text},
        "timestamp": str(timestamp_ms or int(time.time() * 1000)),
    }


def post_zalo(running: Running, event: dict) -> httpx.Response:
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    return httpx.post(
        f"{running.rasa_url}/webhooks/zalo/webhook",
        content=raw,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "X-ZEvent-Signature": signature_header(ZALO_APP_ID, raw, event["timestamp"], ZALO_OA_SECRET),
        },
    )
