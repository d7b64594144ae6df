"""Shared by both pytest runs (the app env and the Rasa env): keep this stdlib-only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NATIONAL_CATALOG = PROJECT_ROOT.parent / "shared" / "data" / "dvc-procedures"

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def national_catalog() -> Path:
    if not NATIONAL_CATALOG.is_dir():
        pytest.skip(f"the national catalogue is not at {NATIONAL_CATALOG} (../shared/data/dvc-procedures)")
    return NATIONAL_CATALOG
