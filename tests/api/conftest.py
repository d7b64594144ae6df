"""The app server (FastAPI TestClient) on a small sample catalogue, with its own conversation log."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant import conversation_log
from assistant.server import deps
from assistant.server.app import create_app
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase

SAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "web_catalog.yaml"


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory) -> KnowledgeBase:
    procedures = load_catalog(SAMPLE_CATALOG).procedures
    return KnowledgeBase.build(procedures, tmp_path_factory.mktemp("kb"), model_path=None, progress=False)


@pytest.fixture()
def client(sample_kb, tmp_path, monkeypatch) -> TestClient:
    monkeypatch.setattr(deps, "_kb", sample_kb)
    monkeypatch.setattr(conversation_log, "default_db_path", lambda: tmp_path / "app.db")
    return TestClient(create_app())
