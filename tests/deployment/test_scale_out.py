"""The scale-out profile for real (issue 13, item 3; docs/deploy.md "Scale-out"): two nodes, each an
app server and a Rasa server started as `tthc up --profile scale-out` starts them, behind one nginx
rendered from deploy/nginx/tthc.conf, sharing a PostgreSQL (Rasa's tracker store, the app's data, the
Zalo store) and a Redis (Rasa's lock store, rate limits) that the test starts on free ports
(tests/support/shared_services.py). Rasa calls the custom actions through nginx's internal action
balancer, so each Rasa reaches either app server.

- A Zalo event delivered to both Rasa instances at once (Zalo redelivers) is answered once: the fake
  Zalo API counts the replies it accepted.
- Who may call what: the public origin passes neither Rasa's API nor the action endpoint; the action
  balancer answers only the Rasa nodes' network, only POST /webhook, and the app still wants the token.
- In the middle of a conversation one Rasa and the *other* node's app server are killed (SIGKILL), the
  Rasa while it handles a message of that conversation (holding its lock in Redis): the conversation's
  next message is answered by the survivors within a client's timeout (the dead Rasa's lock expires after
  TICKET_LOCK_LIFETIME, which `tthc up` sets), with its context, and every turn is stored once.
- `tthc privacy purge` deletes old conversations and app records from PostgreSQL.
- Nothing was written to a node's SQLite files.

Rasa loads its model once per node (one worker each): about 3 minutes on a busy 2-core machine.

    .venv/bin/python -m pytest tests/deployment/test_scale_out.py -q
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
import uuid
from contextlib import ExitStack, closing
from pathlib import Path

import httpx
import pytest

from assistant.cli.launcher import processes, rasa_model
from assistant.cli.launcher.catalog import ensure_index
from assistant.core import storage
from assistant.core.settings import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER, PROJECT_ROOT, load_settings
from connectors.zalo.signature import signature_header
from tests.support.nginx_proxy import NginxError, start_nginx
from tests.support.ports import free_port
from tests.support.scale_out_node import running_fake_zalo, scale_out_environment
from tests.support.shared_services import ServiceError, running_postgres, running_redis

pytestmark = pytest.mark.e2e

ACTION_TOKEN = "scale-out-action-" + uuid.uuid4().hex
ZALO_APP_ID, ZALO_OA_SECRET = "scale-app", "scale-oa-secret"
STAFF, OUTSIDER = "127.0.0.2", "127.0.0.1"
SQLITE_FILES = ("app.db", "zalo_outbox.sqlite", "rate_limits.sqlite", "rasa_tracker.db", "rasa_locks.db")


class Cluster:
    def __init__(self, nodes: list[dict], proxy, database: str, redis_url: str, fake_zalo: str, env: dict) -> None:
        self.nodes, self.proxy, self.database, self.redis_url = nodes, proxy, database, redis_url
        self.fake_zalo, self.env = fake_zalo, env

    def client(self, source: str = OUTSIDER) -> httpx.Client:
        transport = httpx.HTTPTransport(
            local_address=source, verify=ssl.create_default_context(cafile=self.proxy.certificate)
        )
        return httpx.Client(base_url=self.proxy.origin, transport=transport, timeout=90)

    def rows(self, sql: str, parameters: tuple = ()) -> list:
        with closing(storage.connect(self.database)) as connection:
            return connection.execute(sql, parameters).fetchall()


def node_servers(node: str, data_dir: Path, common: dict[str, str], model: Path) -> list[processes.Server]:
    """The two servers `tthc up --profile scale-out` would start on this node (commands and environment)."""
    overrides = {
        **common,
        "TTHC_SERVER__APP_PORT": str(free_port()),
        "TTHC_SERVER__RASA_PORT": str(free_port()),
        "TTHC_CATALOG__DATA_DIR": str(data_dir),
    }
    saved = {key: os.environ.get(key) for key in overrides}
    try:
        os.environ.update(overrides)
        settings = load_settings()
        assert processes.endpoints_file(settings) == "endpoints.scale-out.yml"
        processes.check_shared_services(settings)
        servers = [
            processes.app_server(settings, data_dir / "logs"),
            processes.rasa_server(settings, model, data_dir / "logs"),
        ]
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    for server in servers:
        server.name = f"{server.name} {node}"
    return servers


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    model = rasa_model.model_path(PROJECT_ROOT / "models" / "rasa")
    if not model.exists():
        pytest.fail(f"no trained Rasa model at {model}; run '.venv/bin/tthc up --prepare-only'")
    with ExitStack() as stack:
        try:
            pg = stack.enter_context(running_postgres())
            redis = stack.enter_context(running_redis())
        except ServiceError as exc:
            pytest.fail(str(exc))
        fake_url = stack.enter_context(running_fake_zalo(free_port(), ZALO_APP_ID))
        http_port, https_port, action_port = free_port(), free_port(), free_port()
        origin = f"https://127.0.0.1:{https_port}"
        common = {
            **scale_out_environment(pg, redis, action_port, origin, fake_url, (ZALO_APP_ID, ZALO_OA_SECRET)),
            ACTION_TOKEN_ENV: ACTION_TOKEN,
            "TTHC_SERVER__RASA_WORKERS": "1",
            "TTHC_WEBCHAT__RASA_URL": origin,
            "TTHC_SERVER__ALLOWED_ORIGINS": json.dumps([origin]),
        }
        # Each node has its own data directory (its own copy of the catalogue index), as on two machines.
        data_a, data_b = tmp_path_factory.mktemp("node-a"), tmp_path_factory.mktemp("node-b")
        saved = os.environ.get("TTHC_CATALOG__DATA_DIR")
        os.environ["TTHC_CATALOG__DATA_DIR"] = str(data_a)
        try:
            ensure_index(load_settings())
        finally:
            os.environ.pop("TTHC_CATALOG__DATA_DIR") if saved is None else os.environ.__setitem__(
                "TTHC_CATALOG__DATA_DIR", saved
            )
        shutil.rmtree(data_b)
        shutil.copytree(data_a, data_b)
        nodes = []
        for name, data_dir in (("A", data_a), ("B", data_b)):
            app, rasa = node_servers(name, data_dir, common, model)
            nodes.append({"name": name, "app": app, "rasa": rasa, "data_dir": data_dir})
        servers = [server for node in nodes for server in (node["app"], node["rasa"])]
        stack.callback(processes.stop_all, servers)
        try:
            proxy = start_nginx(
                [node["app"].ready_url.removesuffix("/health") for node in nodes],
                [node["rasa"].ready_url.removesuffix(processes.RASA_READY_PATH) for node in nodes],
                http_port,
                https_port,
                staff_networks=[f"{STAFF}/32"],
                embed_origins=[],
                action_listen=f"127.0.0.1:{action_port}",
                rasa_networks=["127.0.0.1/32"],
            )
        except NginxError as exc:
            pytest.fail(str(exc))
        stack.callback(lambda: (proxy.stop(), shutil.rmtree(proxy.root, ignore_errors=True)))
        processes.start_all(servers, timeout=400)
        database = storage.postgres_url(pg["host"], pg["port"], pg["db"], pg["user"])
        yield Cluster(
            nodes,
            proxy,
            database,
            f"redis://{redis['host']}:{redis['port']}/0",
            fake_url,
            {**common, "TTHC_CATALOG__DATA_DIR": str(data_a)},
        )


def chat(http: httpx.Client, sender: str, text: str) -> str:
    response = http.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    assert response.status_code == 200, f"{text!r}: {response.status_code} {response.text[:300]}"
    messages = response.json()
    assert messages, f"{text!r}: no answer"
    return "\n".join(message.get("text", "") for message in messages).lower()


# --- Zalo: one reply per event, whichever instances it reaches -------------------------------------


def zalo_event(user_id: str, text: str) -> tuple[bytes, dict[str, str]]:
    event = {
        "app_id": ZALO_APP_ID,
        "event_name": "user_send_text",
        "sender": {"id": user_id},
        "recipient": {"id": "oa"},
        "message": {"msg_id": f"msg-{uuid.uuid4().hex}", "text": text},
        "timestamp": str(int(time.time() * 1000)),
    }
    raw = json.dumps(event).encode()
    return raw, {
        "Content-Type": "application/json",
        "X-ZEvent-Signature": signature_header(ZALO_APP_ID, raw, event["timestamp"], ZALO_OA_SECRET),
    }


def replies_per_user(cluster: Cluster) -> dict[str, int]:
    counts: dict[str, int] = {}
    for body in httpx.get(f"{cluster.fake_zalo}/_fake/sent", timeout=10).json():
        user = body["recipient"]["user_id"]
        counts[user] = counts.get(user, 0) + 1
    return counts


def wait_for_quiet_replies(cluster: Cluster, users: list[str], timeout: float = 120) -> dict[str, int]:
    """Reply counts once every user has replies and nothing changed for 5 s."""
    deadline, last, quiet_since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        counts = replies_per_user(cluster)
        if counts != last:
            last, quiet_since = counts, time.monotonic()
        elif all(counts.get(user) for user in users) and time.monotonic() - quiet_since > 5:
            return counts
        time.sleep(0.5)
    pytest.fail(f"Zalo replies did not settle within {timeout:.0f} s: {last}")


def test_a_zalo_event_delivered_to_both_instances_is_answered_once(cluster):
    text = "đăng ký khai sinh cần giấy tờ gì"
    control = "zalo-control-" + uuid.uuid4().hex[:8]
    raw, headers = zalo_event(control, text)
    with cluster.client() as http:
        assert http.post("/webhooks/zalo/webhook", content=raw, headers=headers).json() == {"status": "accepted"}

    users = [f"zalo-twice-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    statuses = []
    for user in users:
        raw, headers = zalo_event(user, text)
        results: list[str] = []

        def deliver(rasa_url: str, raw=raw, headers=headers, results=results) -> None:
            response = httpx.post(f"{rasa_url}/webhooks/zalo/webhook", content=raw, headers=headers, timeout=30)
            results.append(response.json()["status"])

        # Zalo redelivers an event it thinks was lost: here both instances get it at the same moment.
        threads = [
            threading.Thread(target=deliver, args=(node["rasa"].ready_url.removesuffix(processes.RASA_READY_PATH),))
            for node in cluster.nodes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with cluster.client() as http:  # and once more later, through the proxy
            results.append(http.post("/webhooks/zalo/webhook", content=raw, headers=headers).json()["status"])
        statuses.append(sorted(results))
    assert statuses == [["accepted", "duplicate", "duplicate"]] * len(users), statuses

    counts = wait_for_quiet_replies(cluster, [control, *users])
    assert counts[control] >= 1
    assert {user: counts[user] for user in users} == {user: counts[control] for user in users}, (
        f"each event must be answered exactly as one delivery is ({counts[control]} messages): {counts}"
    )
    seen = cluster.rows("SELECT COUNT(*) FROM seen_messages")[0][0]
    assert seen == len(users) + 1


# --- who may call what ----------------------------------------------------------------------------


def refused_by_nginx(response: httpx.Response, statuses: set[int]) -> bool:
    return response.status_code in statuses and "<center>nginx</center>" in response.text


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/webhook"),
        ("GET", "/status"),
        ("POST", "/model/parse"),
        ("GET", "/conversations/x/tracker"),
        ("PUT", "/model"),
    ],
)
def test_the_public_origin_passes_neither_rasas_api_nor_the_action_endpoint(cluster, method, path):
    with cluster.client(STAFF) as http:
        response = http.request(method, path, headers={ACTION_TOKEN_HEADER: ACTION_TOKEN})
    assert refused_by_nginx(response, {404}), f"{method} {path}: {response.status_code} {response.text[:200]}"


def test_the_action_balancer_answers_only_rasa_and_only_the_action_call(cluster):
    action_url = cluster.env["TTHC_DEPLOYMENT__ACTION_ENDPOINT_URL"]
    base = action_url.removesuffix("/webhook")
    outsider = httpx.Client(transport=httpx.HTTPTransport(local_address=STAFF), timeout=30)
    with outsider:  # another machine than the Rasa nodes: refused by nginx, even with the token
        response = outsider.post(action_url, content=b"{}", headers={ACTION_TOKEN_HEADER: ACTION_TOKEN})
        assert refused_by_nginx(response, {403}), response.text[:200]
    for method, path in (
        ("GET", "/webhook"),
        ("GET", "/health"),
        ("GET", "/api/search?q=x"),
        ("GET", "/metrics"),
        ("POST", "/admin/reload"),
        ("GET", "/staff"),
    ):
        response = httpx.request(method, f"{base}{path}", timeout=30)
        assert refused_by_nginx(response, {403, 404}), f"{method} {path}: {response.status_code} {response.text[:200]}"
    # From a Rasa node, the call reaches an app server, which still wants the token.
    assert httpx.post(action_url, content=b"{}", timeout=30).status_code == 401
    assert (
        httpx.post(action_url, content=b"{}", headers={ACTION_TOKEN_HEADER: ACTION_TOKEN}, timeout=30).status_code
        == 400
    )


def test_rate_limits_are_kept_in_redis_for_every_node(cluster):
    import redis

    with cluster.client() as http:
        for _ in range(2):  # both app servers (round robin) draw from one bucket per client
            assert http.get("/api/search", params={"q": "khai sinh"}).status_code == 200
        chat(http, "web-limits-" + uuid.uuid4().hex[:8], "xin chào")
    # (The web chat's per-address bucket skips loopback clients, which every test client is.)
    keys = {key.decode().split(":")[2] for key in redis.Redis.from_url(cluster.redis_url).keys("tthc:ratelimit:*")}
    assert {"rest-sender", "zalo-sender", "app-client"} <= keys, keys


# --- kill one of each in the middle of a conversation ---------------------------------------------


def kill(server: processes.Server) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(30)


def pause(servers: list[processes.Server], paused: bool) -> None:
    for server in servers:
        os.killpg(server.process.pid, signal.SIGSTOP if paused else signal.SIGCONT)


# The load test's client gives up after 10 s (scripts/load_test.py), the web chat widget after 20 s.
CLIENT_TIMEOUT_S = 10


def test_the_conversation_goes_on_when_one_rasa_dies_in_its_turn_and_the_other_app_server_dies(cluster):
    import redis

    sender = "web-scale-" + uuid.uuid4().hex[:10]
    lost = "lệ phí khai sinh hết bao nhiêu tiền"
    node_a, node_b = cluster.nodes
    with cluster.client() as http:
        # Two turns: nginx sends them to both Rasa instances in turn (round robin).
        first = chat(http, sender, "làm giấy khai sinh cần những gì")
        assert "khai sinh" in first, first
        chat(http, sender, "cảm ơn")

        # Rasa A dies in the middle of a turn of this conversation, holding its lock (a ticket in Redis):
        # the app servers are paused so that A's action call cannot finish, A is killed, they resume.
        locks = redis.Redis.from_url(cluster.redis_url)
        in_flight: list[str] = []

        def send_to_a() -> None:
            rasa_a = node_a["rasa"].ready_url.removesuffix(processes.RASA_READY_PATH)
            try:
                httpx.post(f"{rasa_a}/webhooks/rest/webhook", json={"sender": sender, "message": lost}, timeout=120)
                in_flight.append("answered")
            except httpx.TransportError:
                in_flight.append("connection lost")  # through nginx, the citizen gets a 502

        pause([node_a["app"], node_b["app"]], True)
        try:
            sending = threading.Thread(target=send_to_a)
            sending.start()
            deadline = time.monotonic() + 60
            while not locks.exists(f"tthc:lock:{sender}") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert locks.exists(f"tthc:lock:{sender}"), "Rasa A never took the conversation's lock"
            kill(node_a["rasa"])
        finally:
            pause([node_a["app"], node_b["app"]], False)
        kill(node_b["app"])
        sending.join(60)
        assert in_flight == ["connection lost"], in_flight
        stale = json.loads(locks.get(f"tthc:lock:{sender}"))
        assert len(stale["tickets"]) == 1, f"the dead Rasa's ticket should still be in Redis: {stale}"

        # Everything now goes through Rasa B and app A, which never held this conversation in memory. The
        # next message waits for the dead Rasa's ticket to expire (TICKET_LOCK_LIFETIME), then is answered
        # within the time a client waits; Rasa's default lifetime (60 s) would keep it waiting a minute.
        started = time.monotonic()
        fee = chat(http, sender, "còn lệ phí thì sao?")
        waited = time.monotonic() - started
        print(f"the next message after the kill was answered in {waited:.1f} s")
        assert waited < CLIENT_TIMEOUT_S, f"the next message took {waited:.1f} s: the dead Rasa's lock held it"
        assert "phí" in fee and "khai sinh" in fee, f"the procedure was forgotten after the kill: {fee}"
        time_answer = chat(http, sender, "mất bao lâu thì có kết quả?")
        assert "khai sinh" in time_answer, time_answer
        for _ in range(4):  # the proxy keeps routing around the dead servers
            assert chat(http, "web-after-" + uuid.uuid4().hex[:8], "đăng ký kết hôn cần gì")

    typed = [
        row[0]
        for row in cluster.rows(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender,)
        )
    ]
    texts = [json.loads(data)["text"] for data in typed]
    # The message Rasa A died on is not in the conversation (it died before saving it): the citizen got an
    # error for it, never an answer.
    assert texts == [
        "làm giấy khai sinh cần những gì",
        "cảm ơn",
        "còn lệ phí thì sao?",
        "mất bao lâu thì có kết quả?",
    ], texts
    recorded = [
        row[0] for row in cluster.rows("SELECT question FROM interactions WHERE sender_id = ? ORDER BY id", (sender,))
    ]
    assert "còn lệ phí thì sao?" in recorded and "mất bao lâu thì có kết quả?" in recorded, recorded
    # The app server may have answered A's action call after A died: its interaction log then holds that
    # question too (the call did run).
    assert set(recorded) <= set(texts) | {lost}, recorded


def test_privacy_purge_deletes_old_records_from_postgres(cluster):
    old, recent = "web-old-" + uuid.uuid4().hex[:8], "web-recent-" + uuid.uuid4().hex[:8]
    with cluster.client() as http:
        chat(http, old, "làm căn cước cần giấy tờ gì")
        chat(http, recent, "làm căn cước cần giấy tờ gì")
    with closing(storage.connect(cluster.database)) as connection, connection:
        connection.execute("UPDATE events SET timestamp = timestamp - 400 * 86400 WHERE sender_id = ?", (old,))
        connection.execute(
            "UPDATE interactions SET created_at = '2020-01-01T00:00:00+00:00' WHERE sender_id = ?", (old,)
        )
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "tthc"), "privacy", "purge", "--days", "90"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **cluster.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "postgresql://" in result.stdout and "***" not in result.stdout, result.stdout
    count = "SELECT COUNT(*) FROM {} WHERE sender_id = ?"
    assert cluster.rows(count.format("events"), (old,))[0][0] == 0
    assert cluster.rows(count.format("interactions"), (old,))[0][0] == 0
    assert cluster.rows(count.format("events"), (recent,))[0][0] > 0
    assert cluster.rows(count.format("interactions"), (recent,))[0][0] > 0


def test_no_node_wrote_its_own_sqlite_files(cluster):
    written = [
        str(node["data_dir"] / name)
        for node in cluster.nodes
        for name in SQLITE_FILES
        if (node["data_dir"] / name).exists()
    ]
    assert not written, f"state that must be shared went to a node's own file: {written}"
