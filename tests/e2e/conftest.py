"""A live stack for end-to-end tests: the real Rasa server and the real app server over HTTP."""
from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from assistant.launcher import processes, rasa_model
from assistant.launcher.catalog import ensure_index
from assistant.settings import PROJECT_ROOT, load_settings
from tests.support.ports import free_port


@dataclass
class LiveStack:
    app_url: str
    rasa_url: str
    servers: list

    def rest_webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory):
    """Both servers on free ports, with their own data dir (seed index, tracker DB, app DB)."""
    model = rasa_model.model_path(PROJECT_ROOT / "models" / "rasa")
    if not model.exists():
        pytest.fail(f"no trained Rasa model at {model}; run ./run-tests (it prepares it) or '.venv/bin/tthc up --prepare-only'")
    data_dir = tmp_path_factory.mktemp("live-data")
    overrides = {
        "TTHC_SERVER__APP_PORT": str(free_port()),
        "TTHC_SERVER__RASA_PORT": str(free_port()),
        "TTHC_CATALOG__DATA_DIR": str(data_dir),
    }
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    settings = load_settings()
    ensure_index(settings)
    servers = [
        processes.app_server(settings, data_dir / "logs"),
        processes.rasa_server(settings, model, data_dir / "logs"),
    ]
    processes.start_all(servers, timeout=240)
    try:
        yield LiveStack(settings.server.app_url, settings.server.rasa_url, servers)
    finally:
        processes.stop_all(servers)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
