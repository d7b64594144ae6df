"""The app server (FastAPI TestClient) on a small sample catalogue, with its own conversation log."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.app import conversation_log
from assistant.app.knowledge_provider import provider
from assistant.app.server.app import create_app
from assistant.core.settings import Settings, load_settings
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase
from tests.support.zalo_outbox import outbox  # noqa: F401 - the fixture, defined once for tests/api and tests/web

SAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "web_catalog.yaml"
STAFF_TOKEN = "test-staff-token"
# Rate limiting is tested by its own tests; here every request comes from one client in a burst.
TEST_ENV = {"TTHC_SECURITY__RATE_LIMIT_PER_MINUTE": "0", "TTHC_SECURITY__ADMIN_TOKEN": STAFF_TOKEN}


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory) -> KnowledgeBase:
    procedures = load_catalog(SAMPLE_CATALOG).procedures
    return KnowledgeBase.build(procedures, tmp_path_factory.mktemp("kb"), model_path=None, progress=False)


@pytest.fixture()
def settings(monkeypatch) -> Settings:
    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    return load_settings(TEST_ENV)


@pytest.fixture()
def client(sample_kb, settings, tmp_path, monkeypatch) -> TestClient:
    monkeypatch.setattr(provider, "_kb", sample_kb)
    monkeypatch.setattr(conversation_log, "default_db_path", lambda: tmp_path / "app.db")
    return TestClient(create_app(settings))
