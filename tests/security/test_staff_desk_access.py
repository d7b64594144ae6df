"""Who may call the dashboard and hand-off paths (issue 14 items 4, 6): staff with the admin token only, and
the retention purge covers the hand-off desk's tables."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from assistant.app import conversation_log, handoff_desk
from assistant.app.retention import purge_app_records
from assistant.app.server.security import ADMIN_TOKEN_ENV
from assistant.core.settings import load_settings

TOKEN = "desk-admin-token"
ZALO_USER = "8512345678901234567"
DESK_CALLS = [
    ("GET", "/api/staff/dashboard"),
    ("GET", "/api/staff/dashboard/questions-per-day.svg"),
    ("GET", "/api/staff/dashboard/latency.svg?since=2026-11-01"),
    ("GET", "/api/staff/handoff-cases"),
    ("GET", "/api/staff/handoff-cases?status=all"),
    ("POST", "/api/staff/handoff-cases/1/handled"),
    ("POST", "/api/staff/handoff-cases/1/replies"),
]


@pytest.fixture()
def desk(tmp_path, monkeypatch):
    """The app with one Zalo hand-off in a temporary database and outbox."""
    monkeypatch.setattr(conversation_log, "default_db_path", lambda: tmp_path / "app.db")
    monkeypatch.setattr(handoff_desk, "default_outbox", lambda: tmp_path / "zalo_outbox.sqlite")
    conversation_log.flag_handoff(ZALO_USER, "zalo", [{"sender": "user", "text": "gặp cán bộ"}])

    def make(token: str | None) -> TestClient:
        from assistant.app.server.app import create_app

        if token:
            monkeypatch.setenv(ADMIN_TOKEN_ENV, token)
        else:
            monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
        settings = load_settings(environ={})
        settings = settings.model_copy(
            update={"security": settings.security.model_copy(update={"rate_limit_per_minute": 0, "admin_token": ""})}
        )
        return TestClient(create_app(settings))

    return make


def call(client: TestClient, method: str, url: str, **headers: str):
    body = {"text": "Dạ, cán bộ trả lời"} if url.endswith("/replies") else None
    return client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "url"), DESK_CALLS)
def test_only_staff_with_the_admin_token_may_call(desk, tmp_path, method, url):
    client = desk(TOKEN)
    anonymous = call(client, method, url)
    assert anonymous.status_code == 401 and "mã quản trị" in anonymous.json()["detail"].lower()
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert call(client, method, url, **{"X-Admin-Token": "wrong"}).status_code == 403
    assert call(client, method, url, Authorization="Bearer not-it").status_code == 403
    assert ZALO_USER not in anonymous.text
    assert not (tmp_path / "zalo_outbox.sqlite").exists()  # nothing was queued for the citizen
    allowed = call(client, method, url, **{"X-Admin-Token": TOKEN})
    assert allowed.status_code in (200, 201), allowed.text
    assert ZALO_USER not in allowed.text


@pytest.mark.parametrize(("method", "url"), DESK_CALLS[:2] + DESK_CALLS[5:])
def test_closed_when_no_admin_token_is_configured(desk, method, url):
    response = call(desk(None), method, url, **{"X-Admin-Token": "anything"})
    assert response.status_code == 503 and ADMIN_TOKEN_ENV in response.json()["detail"]


def test_every_new_path_is_in_the_openapi_and_staff_only(desk):
    schema = desk(TOKEN).get("/openapi.json").json()
    paths = {path for path in schema["paths"] if "dashboard" in path or "handoff-cases" in path}
    assert paths == {
        "/api/staff/dashboard",
        "/api/staff/dashboard/{chart}.svg",
        "/api/staff/handoff-cases",
        "/api/staff/handoff-cases/{handoff_id}/handled",
        "/api/staff/handoff-cases/{handoff_id}/replies",
    }
    for path in paths:
        for operation in schema["paths"][path].values():
            assert {"401", "403", "503"} <= set(operation["responses"]), path
            assert operation["description"].startswith("Staff only: the admin token"), path


def test_retention_purge_covers_replies_and_handled_marks(tmp_path):
    db, outbox = tmp_path / "app.db", tmp_path / "outbox.sqlite"
    old = conversation_log.flag_handoff(ZALO_USER, "zalo", [{"sender": "user", "text": "cũ"}], db_path=db)
    handoff_desk.reply(old, "Dạ, trả lời cũ", db_path=db, outbox_path=outbox)
    handoff_desk.set_handled(old, db_path=db, outbox_path=outbox)
    new = conversation_log.flag_handoff(ZALO_USER, "zalo", [{"sender": "user", "text": "mới"}], db_path=db)
    handoff_desk.reply(new, "Dạ, trả lời mới", db_path=db, outbox_path=outbox)
    handoff_desk.set_handled(new, db_path=db, outbox_path=outbox)
    stamp = (datetime.now(timezone.utc) - timedelta(days=200)).isoformat(timespec="seconds")
    with sqlite3.connect(db) as connection:  # the old hand-off, its reply and its mark were written 200 days ago
        connection.execute("UPDATE handoffs SET created_at = ? WHERE id = ?", (stamp, old))
        connection.execute("UPDATE handoff_replies SET created_at = ? WHERE handoff_id = ?", (stamp, old))
        connection.execute("UPDATE handoff_handled SET handled_at = ? WHERE handoff_id = ?", (stamp, old))

    counts = purge_app_records(datetime.now(timezone.utc) - timedelta(days=90), db)
    assert (counts["handoffs"], counts["handoff_replies"], counts["handoff_handled"]) == (1, 1, 1)
    [kept] = handoff_desk.list_cases(status="all", db_path=db, outbox_path=outbox)
    assert kept.id == new and kept.status == "handled" and [r.text for r in kept.replies] == ["Dạ, trả lời mới"]


def test_purge_removes_what_a_deleted_hand_off_left_behind(tmp_path):
    db = tmp_path / "app.db"
    case = conversation_log.flag_handoff(ZALO_USER, "zalo", [], db_path=db)
    handoff_desk.reply(case, "Dạ", db_path=db, outbox_path=tmp_path / "outbox.sqlite")
    handoff_desk.set_handled(case, db_path=db)
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM handoffs")
    assert handoff_desk.purge_older_than(datetime.now(timezone.utc) - timedelta(days=90), db) == {
        "handoff_replies": 1,
        "handoff_handled": 1,
    }
