"""Start-up: create_app() holds its settings on app.state, the lifespan opens the knowledge base."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assistant.app.knowledge_provider import provider
from assistant.app.server.app import create_app
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase
from tests.api.conftest import SAMPLE_CATALOG


def test_the_lifespan_opens_the_apps_knowledge_base_and_closes_it(settings, tmp_path):
    procedures = load_catalog(SAMPLE_CATALOG).procedures
    KnowledgeBase.build(procedures, tmp_path / "var", model_path=None, progress=False)
    settings = settings.model_copy(
        update={"catalog": settings.catalog.model_copy(update={"data_dir": tmp_path / "var"})}
    )
    provider.close()
    app = create_app(settings)
    assert app.state.settings is settings
    with TestClient(app) as client:
        assert provider.current() is not None  # opened at start-up, before any request
        assert client.get("/health").json() == {"status": "ok", "procedures": len(procedures)}
    assert provider.current() is None


def test_without_an_index_the_app_starts_and_says_what_is_missing(settings, tmp_path):
    settings = settings.model_copy(
        update={"catalog": settings.catalog.model_copy(update={"data_dir": tmp_path / "none"})}
    )
    provider.close()
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    assert response.status_code == 503 and response.json()["status"] == "degraded"
    provider.close()
