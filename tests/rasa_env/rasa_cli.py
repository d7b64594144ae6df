"""Running the rasa CLI from tests in the Rasa environment (.venv-rasa/bin/python -m pytest tests/rasa_env)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RASA = Path(sys.executable).with_name("rasa")

# Epochs for models trained inside tests: enough for the conversation tests, a fraction of production.
TINY_EPOCHS = {
    "DIETClassifier": 60,
    "assistant.rasa_process.components.retrieval_response_selector.RetrievalIntentResponseSelector": 20,
}


def rasa_env() -> dict[str, str]:
    return dict(
        os.environ,
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )


def run_rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the rasa CLI from the project root (so it finds assistant.rasa_process.components) and capture its output."""
    return subprocess.run(
        [str(RASA), *args], cwd=PROJECT_ROOT, env=rasa_env(), capture_output=True, text=True, timeout=timeout
    )


def tiny_config(path: Path, config: Path = PROJECT_ROOT / "config.yml") -> Path:
    """Write the production config with TINY_EPOCHS to `path`: same pipeline and policies, fewer epochs."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for component in data["pipeline"] + data["policies"]:
        if component["name"] in TINY_EPOCHS:
            component["epochs"] = TINY_EPOCHS[component["name"]]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def tail(process: subprocess.CompletedProcess, lines: int = 25) -> str:
    return "\n".join((process.stdout + process.stderr).replace("\r", "\n").splitlines()[-lines:])
