"""A live stack for end-to-end tests: the real Rasa server and the real app server over HTTP."""

from __future__ import annotations

import pytest

from tests.support.live_stack import LiveStack, running_stack

__all__ = ["LiveStack", "live_stack"]


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory):
    """Both servers on free ports, with their own data dir (seed index, tracker DB, app DB)."""
    with running_stack(tmp_path_factory.mktemp("live-data")) as stack:
        yield stack
