"""/metrics (issue 14 item 5): Prometheus text for loopback and security.metrics_allowed_networks only;
the served index, the Zalo outbox and search latency in it; prometheus-client's multiprocess mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from assistant.app import conversation_log
from assistant.app.knowledge_provider import provider
from assistant.app.server.app import create_app
from assistant.core.errors import SetupError
from assistant.core.settings import PROJECT_ROOT, load_settings
from connectors.zalo.store import ZaloStore
from tests.api.conftest import TEST_ENV
from tests.support.prometheus import metric


@pytest.fixture()
def local_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("TTHC_ADMIN_TOKEN", raising=False)
    return load_settings({**TEST_ENV, "TTHC_CATALOG__DATA_DIR": str(tmp_path / "var")})


def app_for(settings, sample_kb, monkeypatch, tmp_path):
    monkeypatch.setattr(provider, "_kb", sample_kb)
    monkeypatch.setattr(conversation_log, "default_db_path", lambda: tmp_path / "app.db")
    return create_app(settings)


@pytest.mark.parametrize(
    "client, allowed",
    [
        (("127.0.0.1", 5000), True),
        (("127.0.0.9", 5000), True),
        (("::1", 5000), True),
        (("::ffff:127.0.0.1", 5000), True),
        (("10.1.2.3", 5000), False),
        (("203.0.113.7", 5000), False),
        (("testclient", 50000), False),
        (("", 0), False),
    ],
)
def test_only_loopback_may_read_the_metrics_by_default(
    local_settings, sample_kb, monkeypatch, tmp_path, client, allowed
):
    app = app_for(local_settings, sample_kb, monkeypatch, tmp_path)
    with TestClient(app, client=client) as http:
        response = http.get("/metrics", headers={"X-Admin-Token": TEST_ENV["TTHC_SECURITY__ADMIN_TOKEN"]})
    if allowed:
        assert response.status_code == 200 and "tthc_app_info" in response.text
    else:  # the admin token does not open it: the network decides
        assert response.status_code == 403
        assert "metrics_allowed_networks" in response.json()["detail"]


def test_a_configured_monitoring_network_replaces_loopback(sample_kb, monkeypatch, tmp_path):
    settings = load_settings({**TEST_ENV, "TTHC_SECURITY__METRICS_ALLOWED_NETWORKS": json.dumps(["10.20.0.0/16"])})
    app = app_for(settings, sample_kb, monkeypatch, tmp_path)
    with (
        TestClient(app, client=("10.20.3.4", 5000)) as monitoring,
        TestClient(app, client=("127.0.0.1", 5000)) as local,
    ):
        assert monitoring.get("/metrics").status_code == 200
        assert local.get("/metrics").status_code == 403


def test_a_malformed_network_stops_the_app_at_start_up(sample_kb, monkeypatch, tmp_path):
    settings = load_settings({**TEST_ENV, "TTHC_SECURITY__METRICS_ALLOWED_NETWORKS": json.dumps(["intranet"])})
    with pytest.raises(SetupError, match="metrics_allowed_networks"):
        app_for(settings, sample_kb, monkeypatch, tmp_path)


def test_metrics_show_the_index_the_outbox_and_search_latency(local_settings, sample_kb, monkeypatch, tmp_path):
    store = ZaloStore(local_settings.zalo_outbox_path)
    for n in range(3):
        store.enqueue(f"user-{n}", {"text": "Dạ"}, "timeout")
    store.failed(store.pending()[0].id, "gave up", dead=True)
    store.close()
    app = app_for(local_settings, sample_kb, monkeypatch, tmp_path)
    with TestClient(app, client=("127.0.0.1", 5000)) as http:
        before = http.get("/metrics").text
        assert http.get("/api/search", params={"q": "khai sinh"}).status_code == 200
        text = http.get("/metrics").text
    assert (
        metric(text, "tthc_search_duration_seconds_count", source="api")
        == metric(before, "tthc_search_duration_seconds_count", source="api") + 1
    )
    assert metric(text, "tthc_zalo_outbox_replies", state="waiting") == 2
    assert metric(text, "tthc_zalo_outbox_replies", state="dead") == 1
    assert metric(text, "tthc_index_info", build=sample_kb.directory.name, learned="false") == 1
    assert metric(text, "tthc_index_procedures") == len(sample_kb.procedures())
    assert metric(text, "process_resident_memory_bytes") > 0


def test_no_outbox_file_means_no_outbox_gauge_and_none_is_created(local_settings, sample_kb, monkeypatch, tmp_path):
    app = app_for(local_settings, sample_kb, monkeypatch, tmp_path)
    with TestClient(app, client=("127.0.0.1", 5000)) as http:
        assert "tthc_zalo_outbox_replies" not in http.get("/metrics").text
    assert not local_settings.zalo_outbox_path.exists()


MULTIPROCESS_WORKER = """
from assistant.app import metrics
metrics.observe_action("action_answer_procedure", "answered", "rest", 0.02, 300)
"""
MULTIPROCESS_SCRAPE = """
from assistant.app import metrics
from assistant.core.settings import get_settings
print(metrics.render(get_settings()).decode())
"""


def test_multiprocess_mode_sums_the_workers(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR (several uvicorn workers) a scrape sees every process's counts."""
    env = dict(
        os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"), TTHC_CATALOG__DATA_DIR=str(tmp_path / "var")
    )
    (tmp_path / "prom").mkdir()
    for _ in range(2):
        subprocess.run([sys.executable, "-c", MULTIPROCESS_WORKER], env=env, cwd=PROJECT_ROOT, check=True, timeout=60)
    text = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRAPE],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    labels = {"action": "action_answer_procedure", "outcome": "answered", "channel": "rest"}
    assert metric(text, "tthc_action_calls_total", **labels) == 2
    assert metric(text, "tthc_reply_duration_seconds_count", channel="rest") == 2
    assert metric(text, "tthc_app_info") == 1
