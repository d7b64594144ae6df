"""The `outbox` fixture: the Zalo connector's store (the one the Zalo channel delivers from) in a temporary
file, where the app server queues staff replies. The app server runs in the test process (TestClient or the
uvicorn thread of tests/web), so pointing `handoff_desk.default_outbox` at the file is enough.

Shared by tests/api and tests/web: their conftest modules import the fixture from here."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.app import handoff_desk


@pytest.fixture()
def outbox(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "zalo_outbox.sqlite"
    monkeypatch.setattr(handoff_desk, "default_outbox", lambda: path)
    return path
