"""Admin token, action-call secret, rate limit and body cap on a small FastAPI app built with the
real middleware, plus the wiring in create_app()."""

from __future__ import annotations

import base64

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from assistant.app.server.security import ADMIN_TOKEN_ENV, install_security, require_action_token, require_admin_token
from assistant.core.settings import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER, load_settings

TOKEN = "s3cret-admin-token"
ACTION_TOKEN = "s3cret-action-token"
FROM_RASA = {ACTION_TOKEN_HEADER: ACTION_TOKEN}


@pytest.fixture(autouse=True)
def action_token(monkeypatch):
    """The app server as `tthc up` starts it: with the action token Rasa sends."""
    monkeypatch.setenv(ACTION_TOKEN_ENV, ACTION_TOKEN)


def make_settings(**security):
    settings = load_settings(environ={})
    return settings.model_copy(update={"security": settings.security.model_copy(update=security)})


def settings_with_data_dir(data_dir, **security):
    settings = make_settings(**security)
    return settings.model_copy(update={"catalog": settings.catalog.model_copy(update={"data_dir": data_dir})})


def make_app(**security) -> FastAPI:
    app = FastAPI()
    app.state.settings = make_settings(**security)  # what create_app() does
    install_security(app, app.state.settings)

    @app.post("/admin/thing", dependencies=[Depends(require_admin_token)])
    def admin_thing():
        return {"ok": True}

    @app.post("/echo")
    async def echo(payload: dict):
        return {"size": len(str(payload))}

    @app.get("/ping")
    def ping():
        return {"pong": True}

    @app.post("/webhook", dependencies=[Depends(require_action_token)])
    def webhook():
        return {"ok": True}

    return app


@pytest.fixture
def admin_client(monkeypatch):
    monkeypatch.setenv(ADMIN_TOKEN_ENV, TOKEN)
    return TestClient(make_app(rate_limit_per_minute=0))


def test_admin_requires_token(admin_client):
    response = admin_client.post("/admin/thing")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Basic")


def test_admin_rejects_wrong_token(admin_client):
    response = admin_client.post("/admin/thing", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 403
    assert "không đúng" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        {"X-Admin-Token": TOKEN},
        {"Authorization": "Basic " + base64.b64encode(f"staff:{TOKEN}".encode()).decode()},
    ],
)
def test_admin_accepts_token_forms(admin_client, headers):
    assert admin_client.post("/admin/thing", headers=headers).json() == {"ok": True}


def test_admin_rejects_garbage_basic_auth(admin_client):
    response = admin_client.post("/admin/thing", headers={"Authorization": "Basic %%%not-base64"})
    assert response.status_code == 401


def test_admin_disabled_without_token(monkeypatch):
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    client = TestClient(make_app(rate_limit_per_minute=0, admin_token=""))
    response = client.post("/admin/thing", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 503
    assert ADMIN_TOKEN_ENV in response.json()["detail"]


def test_admin_token_from_settings_local(monkeypatch):
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    client = TestClient(make_app(rate_limit_per_minute=0, admin_token="from-local-file"))
    assert client.post("/admin/thing", headers={"X-Admin-Token": "from-local-file"}).status_code == 200
    assert client.post("/admin/thing", headers={"X-Admin-Token": TOKEN}).status_code == 403


def test_rate_limit_per_client_with_retry_after():
    client = TestClient(make_app(rate_limit_per_minute=6, rate_limit_burst=3))
    codes = [client.get("/ping").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/ping")
    assert int(refused.headers["retry-after"]) >= 1
    assert "thử lại sau" in refused.json()["detail"]
    # Another client address has its own bucket.
    other = TestClient(make_app(rate_limit_per_minute=6, rate_limit_burst=3), client=("10.0.0.9", 5000))
    assert other.get("/ping").status_code == 200


def test_exempt_paths_are_not_limited():
    client = TestClient(make_app(rate_limit_per_minute=6, rate_limit_burst=1))
    assert [client.post("/webhook", headers=FROM_RASA).status_code for _ in range(5)] == [200] * 5
    assert [client.get("/health").status_code for _ in range(3)] == [404] * 3  # exempt: no 429
    assert [client.get("/ping").status_code for _ in range(2)] == [200, 429]


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({ACTION_TOKEN_HEADER: "wrong"}, 403),
        ({"Authorization": f"Bearer {ACTION_TOKEN}"}, 401),  # only the action header counts
        ({ACTION_TOKEN_HEADER: TOKEN}, 403),  # the admin token is not the action token
    ],
)
def test_action_calls_need_the_action_token(headers, status):
    client = TestClient(make_app(rate_limit_per_minute=0))
    response = client.post("/webhook", json={"next_action": "action_x"}, headers=headers)
    assert response.status_code == status
    assert ACTION_TOKEN_HEADER in response.json()["detail"]
    assert client.post("/webhook/", headers=headers).status_code == status  # trailing slash too


def test_action_endpoint_is_closed_when_no_token_is_configured(monkeypatch):
    monkeypatch.delenv(ACTION_TOKEN_ENV, raising=False)
    client = TestClient(make_app(rate_limit_per_minute=0, action_token=""))
    response = client.post("/webhook", headers={ACTION_TOKEN_HEADER: ""})
    assert response.status_code == 503 and ACTION_TOKEN_ENV in response.json()["detail"]
    assert client.post("/webhook", headers={ACTION_TOKEN_HEADER: "anything"}).status_code == 503


def test_action_token_from_settings_local(monkeypatch):
    monkeypatch.delenv(ACTION_TOKEN_ENV, raising=False)
    client = TestClient(make_app(rate_limit_per_minute=0, action_token="from-local-file"))
    assert client.post("/webhook", headers={ACTION_TOKEN_HEADER: "from-local-file"}).status_code == 200
    assert client.post("/webhook", headers=FROM_RASA).status_code == 403


def test_unauthenticated_action_calls_are_refused_before_the_body_is_read():
    """Without the token the large action-call cap never applies."""
    client = TestClient(make_app(rate_limit_per_minute=0, max_body_bytes=1024, max_action_call_bytes=8192))
    assert client.post("/webhook", content=b"x" * 5000).status_code == 401
    assert client.post("/webhook", content=b"x" * 5000, headers=FROM_RASA).status_code == 200


def test_body_over_cap_gets_polite_413():
    client = TestClient(make_app(rate_limit_per_minute=0, max_body_bytes=1024))
    response = client.post("/echo", json={"text": "x" * 2000})
    assert response.status_code == 413
    assert "quá lớn" in response.json()["detail"]
    assert client.post("/echo", json={"text": "x" * 500}).status_code == 200


def test_chunked_body_over_cap_gets_413():
    client = TestClient(make_app(rate_limit_per_minute=0, max_body_bytes=1024))

    def chunks():
        for _ in range(10):
            yield b"x" * 200

    response = client.post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_chunked_body_under_cap_reaches_the_app():
    client = TestClient(make_app(rate_limit_per_minute=0, max_body_bytes=1024))

    def chunks():
        yield b'{"text": '
        yield b'"hello"}'

    response = client.post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200


def test_rasa_action_calls_have_their_own_larger_cap():
    """Rasa sends the whole conversation session with every action call: a long chat exceeds the
    public cap, and its answers must not be refused (they were, as 413, after about 20 turns)."""
    client = TestClient(make_app(rate_limit_per_minute=0, max_body_bytes=1024, max_action_call_bytes=8192))
    assert client.post("/webhook", content=b"x" * 5000, headers=FROM_RASA).status_code == 200
    assert client.post("/webhook", content=b"x" * 9000, headers=FROM_RASA).status_code == 413
    assert client.post("/echo", json={"text": "x" * 5000}).status_code == 413


def test_bad_content_length_is_400():
    client = TestClient(make_app(rate_limit_per_minute=0))
    response = client.post(
        "/echo", content=b"{}", headers={"Content-Length": "abc", "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 413)  # h11 may refuse it before the app; never a 5xx


def test_create_app_wires_security_and_admin_reload(monkeypatch):
    pytest.importorskip("knowledge_base.store", reason="knowledge_base.store has not landed")
    from assistant.app.server.app import create_app

    monkeypatch.setenv(ADMIN_TOKEN_ENV, TOKEN)
    settings = make_settings(max_body_bytes=1024, max_action_call_bytes=4096, rate_limit_per_minute=0)
    client = TestClient(create_app(settings))
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"X-Admin-Token": "wrong"}).status_code == 403
    assert client.post("/api/search", content=b"x" * 2000).status_code == 413
    assert client.post("/webhook", content=b"x" * 5000, headers=FROM_RASA).status_code == 413
    assert client.post("/webhook", json={"next_action": "action_answer_procedure"}).status_code == 401
    assert "/webhook" not in app_paths(create_app(settings))  # not in the public API docs
    # CORS stays outermost: a browser on an allowed origin can read the polite refusal.
    origin = settings.server.allowed_origins[0]
    refused = client.post("/webhook", content=b"x" * 5000, headers={"Origin": origin, **FROM_RASA})
    assert refused.headers.get("access-control-allow-origin") == origin


def app_paths(app) -> set[str]:
    return set(app.openapi()["paths"])


def test_every_admin_and_staff_data_route_needs_the_token(monkeypatch):
    """Issue 6: admin actions and staff views (hand-offs, feedback) are behind the admin token."""
    pytest.importorskip("knowledge_base.store", reason="knowledge_base.store has not landed")
    from assistant.app.server.app import create_app

    monkeypatch.setenv(ADMIN_TOKEN_ENV, TOKEN)
    app = create_app(make_settings(rate_limit_per_minute=0))
    protected = {
        path: methods for path, methods in app.openapi()["paths"].items() if path.startswith(("/admin", "/api/staff"))
    }
    assert any(path.startswith("/api/staff") for path in protected), "staff data routes not found"
    client = TestClient(app)
    open_routes = []
    for path, methods in protected.items():
        for method in methods:
            if client.request(method.upper(), path.replace("{code}", "1.000001")).status_code != 401:
                open_routes.append(f"{method.upper()} {path}")
    assert not open_routes, f"reachable without the admin token (add Depends(require_admin_token)): {open_routes}"


def test_cors_allows_only_configured_origins():
    pytest.importorskip("knowledge_base.store", reason="knowledge_base.store has not landed")
    from assistant.app.server.app import create_app

    settings = make_settings(rate_limit_per_minute=0)
    settings = settings.model_copy(
        update={"server": settings.server.model_copy(update={"allowed_origins": ["https://tayninh.gov.vn"]})}
    )
    client = TestClient(create_app(settings))
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = client.options("/health", headers={"Origin": "https://tayninh.gov.vn", **preflight})
    assert allowed.headers.get("access-control-allow-origin") == "https://tayninh.gov.vn"
    other = client.options("/health", headers={"Origin": "https://evil.example", **preflight})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


def test_admin_reload_serves_a_reimported_catalogue(monkeypatch, tmp_path):
    """POST /admin/reload reopens the app's index, so a catalogue imported meanwhile is what the API serves."""
    pytest.importorskip("knowledge_base.store", reason="knowledge_base.store has not landed")
    from pathlib import Path

    from assistant.app.knowledge_provider import provider
    from assistant.app.server.app import create_app
    from knowledge_base.importers import load_catalog
    from knowledge_base.store import KnowledgeBase

    procedures = load_catalog(Path(__file__).resolve().parent.parent / "fixtures" / "web_catalog.yaml").procedures
    data_dir = tmp_path / "var"
    KnowledgeBase.build(procedures[:2], data_dir, model_path=None, progress=False)
    monkeypatch.setenv(ADMIN_TOKEN_ENV, TOKEN)
    provider.close()
    try:
        client = TestClient(create_app(settings_with_data_dir(data_dir, rate_limit_per_minute=0)))
        headers = {"X-Admin-Token": TOKEN}
        assert client.post("/admin/reload", headers=headers).json() == {"status": "reloaded", "procedures": 2}
        KnowledgeBase.build(procedures, data_dir, model_path=None, progress=False)  # the re-import
        assert client.post("/admin/reload", headers=headers).json() == {
            "status": "reloaded",
            "procedures": len(procedures),
        }
        assert len(procedures) > 2
    finally:
        provider.close()


def test_admin_reload_without_an_index_says_so(monkeypatch, tmp_path):
    pytest.importorskip("knowledge_base.store", reason="knowledge_base.store has not landed")
    from assistant.app.knowledge_provider import provider
    from assistant.app.server.app import create_app

    monkeypatch.setenv(ADMIN_TOKEN_ENV, TOKEN)
    provider.close()
    try:
        response = TestClient(create_app(settings_with_data_dir(tmp_path / "empty", rate_limit_per_minute=0))).post(
            "/admin/reload", headers={"X-Admin-Token": TOKEN}
        )
        assert response.status_code == 503
        assert response.json()["status"] == "error" and response.json()["detail"]
    finally:
        provider.close()
