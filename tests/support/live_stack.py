"""Both real servers on free ports, started the way `tthc up` starts them (assistant.cli.launcher.processes).

Used by the end-to-end tests (tests/e2e/conftest.py) and the reverse-proxy tests (tests/deployment/),
each with its own data dir and, where they need it, extra settings in the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.cli.launcher import processes, rasa_model
from assistant.cli.launcher.catalog import ensure_index
from assistant.core.settings import PROJECT_ROOT, Settings, load_settings
from tests.support.ports import free_port


@dataclass
class LiveStack:
    app_url: str
    rasa_url: str
    servers: list
    settings: Settings
    log_dir: Path
    action_token: str

    def rest_webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"


@contextmanager
def running_stack(data_dir: Path, env: dict[str, str] | None = None, timeout: float = 240) -> Iterator[LiveStack]:
    """Start the app server and the Rasa server with `data_dir` (seed index, tracker DB, app DB) and
    `env` on top of free ports; the environment stays set while the stack runs, then is restored."""
    model = rasa_model.model_path(PROJECT_ROOT / "models" / "rasa")
    if not model.exists():
        pytest.fail(
            f"no trained Rasa model at {model}; run ./run-tests (it prepares it) or '.venv/bin/tthc up --prepare-only'"
        )
    overrides = {
        "TTHC_SERVER__APP_PORT": str(free_port()),
        "TTHC_SERVER__RASA_PORT": str(free_port()),
        "TTHC_CATALOG__DATA_DIR": str(data_dir),
        **(env or {}),
    }
    saved = {key: os.environ.get(key) for key in overrides}
    servers: list = []
    try:
        os.environ.update(overrides)
        settings = load_settings()
        ensure_index(settings)
        log_dir = data_dir / "logs"
        servers = [processes.app_server(settings, log_dir), processes.rasa_server(settings, model, log_dir)]
        processes.start_all(servers, timeout=timeout)
        yield LiveStack(
            settings.server.app_url,
            settings.server.rasa_url,
            servers,
            settings,
            log_dir,
            processes.action_token(settings),
        )
    finally:
        processes.stop_all(servers)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
