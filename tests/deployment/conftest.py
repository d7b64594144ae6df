"""Shared fixtures of the deployment tests."""

from __future__ import annotations

import pytest

from assistant.core import storage
from tests.support.shared_services import ServiceError, running_postgres


@pytest.fixture(scope="module")
def database():
    """The URL of a real PostgreSQL started for the test module (one per module, torn down after it)."""
    try:
        with running_postgres() as pg:
            yield storage.postgres_url(pg["host"], pg["port"], pg["db"], pg["user"])
    except ServiceError as exc:
        pytest.fail(str(exc))
