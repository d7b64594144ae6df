"""What a scale-out node needs besides PostgreSQL and Redis (tests.support.shared_services): a fake Zalo API
(tests.support.fake_zalo) in its own process, and the environment that points a node at the shared services.
Used by tests/deployment/test_scale_out.py and scripts/proxy_load_benchmark.py."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def running_fake_zalo(port: int, app_id: str) -> Iterator[str]:
    """The fake Zalo API on 127.0.0.1:`port` (Rasa's environment, as the connector runs there); yields its URL."""
    fake = subprocess.Popen(
        [str(REPO / ".venv-rasa" / "bin" / "python"), "-m", "tests.support.fake_zalo", "--port", str(port)]
        + ["--app-id", app_id],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        fake.terminate()
        fake.wait(10)


def scale_out_environment(
    pg: dict[str, str], redis: dict[str, str], action_port: int, origin: str, fake_zalo: str, zalo_app: tuple[str, str]
) -> dict[str, str]:
    """A node's variables: the scale-out profile on the shared PostgreSQL and Redis, Rasa's action calls through
    nginx's internal listener on `action_port`, the public `origin`, and the Zalo connector (app id and OA secret
    `zalo_app`) talking to the fake Zalo API."""
    app_id, oa_secret = zalo_app
    return {
        "TTHC_DEPLOYMENT__PROFILE": "scale-out",
        "TTHC_DEPLOYMENT__POSTGRES_HOST": pg["host"],
        "TTHC_DEPLOYMENT__POSTGRES_PORT": pg["port"],
        "TTHC_DEPLOYMENT__POSTGRES_DB": pg["db"],
        "TTHC_DEPLOYMENT__POSTGRES_USER": pg["user"],
        "TTHC_DEPLOYMENT__REDIS_HOST": redis["host"],
        "TTHC_DEPLOYMENT__REDIS_PORT": redis["port"],
        "TTHC_DEPLOYMENT__REDIS_DB": "0",
        "TTHC_DEPLOYMENT__ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        "ZALO_APP_ID": app_id,
        "ZALO_OA_SECRET_KEY": oa_secret,
        "ZALO_ACCESS_TOKEN": "token-1",
        "ZALO_REFRESH_TOKEN": "",
        "ZALO_APP_SECRET": "",
        "ZALO_PUBLIC_URL": origin,
        "ZALO_API_BASE": fake_zalo,
        "ZALO_OAUTH_URL": f"{fake_zalo}/v4/oa/access_token",
    }
