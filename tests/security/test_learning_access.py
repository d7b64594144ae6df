"""Who may call the unanswered-question and label paths (assistant/app/server/routers/learning.py): staff with
the admin token only. Without it 401, a wrong one 403, none configured 503; nothing is changed or read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assistant.app import conversation_log, question_labels
from assistant.app.knowledge_provider import provider
from assistant.app.server.app import create_app
from assistant.core.settings import ADMIN_TOKEN_ENV, load_settings
from knowledge_base.importers import load_catalog
from knowledge_base.labelled import labelled_path
from knowledge_base.store import KnowledgeBase
from tests.api.conftest import SAMPLE_CATALOG

TOKEN = "learning-admin-token"
ROUTES = [
    ("GET", "/api/staff/unanswered", None),
    ("GET", "/api/staff/unanswered.csv", None),
    ("GET", "/api/staff/labels", None),
    ("GET", "/api/staff/labels.jsonl", None),
    ("POST", "/api/staff/labels", {"questions": ["khai sinh"], "kind": "procedure", "code": "1.001193"}),
    ("PUT", "/api/staff/labels/1", {"kind": "not_procedure"}),
    ("DELETE", "/api/staff/labels/1", None),
]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    return KnowledgeBase.build(
        load_catalog(SAMPLE_CATALOG).procedures, tmp_path_factory.mktemp("kb"), None, progress=False
    )


@pytest.fixture
def app_with_label(kb, tmp_path, monkeypatch):
    """The app with one label stored (id 1), so a refused PUT/DELETE would have something to change."""
    monkeypatch.setattr(provider, "_kb", kb)
    monkeypatch.setattr(conversation_log, "default_db_path", lambda: tmp_path / "app.db")
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    [label] = question_labels.set_labels(["đăng ký khai sinh"], "procedure", "1.001193")
    assert label.id == 1
    return tmp_path


def client_with(token: str | None) -> TestClient:
    environ = {"TTHC_SECURITY__RATE_LIMIT_PER_MINUTE": "0"}
    if token:
        environ["TTHC_SECURITY__ADMIN_TOKEN"] = token
    return TestClient(create_app(load_settings(environ)))


def unchanged(data_dir) -> bool:
    labels = question_labels.list_labels()
    return [(label.id, label.kind, label.code) for label in labels] == [
        (1, "procedure", "1.001193")
    ] and "đăng ký khai sinh" in labelled_path(data_dir).read_text(encoding="utf-8")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_only_staff_with_the_admin_token_may_call(app_with_label, method, path, body):
    client = client_with(TOKEN)
    refused = {
        "no token": ({}, 401),
        "wrong token": ({"X-Admin-Token": "guess"}, 403),
        "wrong basic password": ({"Authorization": "Basic Y2FuYm86Z3Vlc3M="}, 403),  # canbo:guess
    }
    for why, (headers, status) in refused.items():
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code == status, f"{why}: {method} {path} -> {response.status_code}"
        assert "khai sinh" not in response.text  # no stored question in a refusal
    assert unchanged(app_with_label)
    allowed = client.request(method, path, headers={"X-Admin-Token": TOKEN}, json=body)
    assert allowed.status_code in (200, 204), allowed.text


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_closed_when_no_admin_token_is_configured(app_with_label, method, path, body):
    response = client_with(None).request(method, path, headers={"X-Admin-Token": "anything"}, json=body)
    assert response.status_code == 503 and ADMIN_TOKEN_ENV in response.json()["detail"]
    assert unchanged(app_with_label)


def test_every_learning_route_is_in_the_openapi_schema_and_covered_here(kb, monkeypatch):
    monkeypatch.setattr(provider, "_kb", kb)
    paths = client_with(TOKEN).get("/openapi.json").json()["paths"]
    documented = {
        (method.upper(), path)
        for path, methods in paths.items()
        for method in methods
        if path.startswith(("/api/staff/unanswered", "/api/staff/labels"))
    }
    assert documented == {(method, path.replace("/1", "/{label_id}")) for method, path, _ in ROUTES}


def test_the_staff_page_assets_carry_no_data(kb, monkeypatch):
    """The page and its scripts are public (like /staff); the data comes only from the token-guarded API."""
    monkeypatch.setattr(provider, "_kb", kb)
    client = client_with(TOKEN)
    for asset, kind in (("learning.js", "text/javascript"), ("learning.css", "text/css")):
        response = client.get(f"/staff/assets/{asset}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert "innerHTML" not in client.get("/staff/assets/learning.js").text
