"""Train the Rasa model only when its inputs changed (fingerprint of the files it is built from)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from assistant.core.errors import SetupError
from assistant.core.settings import PROJECT_ROOT

RASA_ENV = PROJECT_ROOT / ".venv-rasa"
MODEL_NAME = "tthc"
# Everything that changes what `rasa train` produces (the tokenizer folds and normalizes with knowledge_base/text.py).
TRAINING_INPUTS = (
    "config.yml",
    "domain.yml",
    "nlu_data",
    "assistant/rasa_process/components",
    "knowledge_base/text.py",
)


def rasa_executable() -> Path:
    rasa = RASA_ENV / "bin" / "rasa"
    if not rasa.exists():
        raise SetupError("the Rasa environment .venv-rasa is missing; run ./start (it creates it)")
    return rasa


def rasa_server_command() -> list[str]:
    """`rasa` through assistant/rasa_process/entry.py: Rasa's own CLI with its measured CPU fixes applied."""
    rasa_executable()  # the same clear error when the Rasa env is missing
    return [str(RASA_ENV / "bin" / "python"), "-m", "assistant.rasa_process.entry"]


def rasa_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    env.update(extra or {})
    return env


def fingerprint(config: Path, root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    inputs = [config] + [root / name for name in TRAINING_INPUTS if name != "config.yml"]
    for path in inputs:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or not file.exists():
                continue
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_path(model_dir: Path) -> Path:
    return model_dir / f"{MODEL_NAME}.tar.gz"


def is_current(model_dir: Path, config: Path) -> bool:
    stamp = model_dir / f"{MODEL_NAME}.fingerprint"
    return model_path(model_dir).exists() and stamp.exists() and stamp.read_text() == fingerprint(config)


def ensure_model(model_dir: Path, config: Path = PROJECT_ROOT / "config.yml", quiet: bool = False) -> Path:
    """Return the trained model, training it first when any training input changed."""
    if is_current(model_dir, config):
        return model_path(model_dir)
    for required in (config, PROJECT_ROOT / "domain.yml", PROJECT_ROOT / "nlu_data"):
        if not required.exists():
            raise SetupError(f"{required.relative_to(PROJECT_ROOT)} is missing; restore it from git before training")
    model_dir.mkdir(parents=True, exist_ok=True)
    print(f"==> Training the Rasa model ({config.name}; a few minutes, only when its inputs change)", flush=True)
    command = [
        str(rasa_executable()),
        "train",
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--data",
        "nlu_data",
        "--out",
        str(model_dir),
        "--fixed-model-name",
        MODEL_NAME,
        "--force",
    ]
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=rasa_environment(),
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
    )
    if result.returncode != 0 or not model_path(model_dir).exists():
        raise SetupError(f"Rasa training failed (exit {result.returncode}); run '{' '.join(command)}' to see why")
    (model_dir / f"{MODEL_NAME}.fingerprint").write_text(fingerprint(config))
    sys.stdout.flush()
    return model_path(model_dir)
