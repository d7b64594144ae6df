"""The public origin: a real nginx, configured from deploy/nginx/tthc.conf, in front of the real app
server and Rasa server (issue 13, item 1; docs/deploy.md "Who may call which path").

nginx runs unprivileged on free high ports with a throw-away certificate for 127.0.0.1
(tests/support/nginx_proxy.py); the two servers start as `tthc up` starts them
(tests/support/live_stack.py), with the settings the deployment guide sets (the chat's public URL,
allowed origins, an admin token, the Zalo channel on). Test clients connect from several loopback
addresses (127.0.0.1 an outsider, 127.0.0.2 the staff network, others for the rate limits), which
nginx sees as different citizens. About 2 minutes, most of it Rasa loading the model.

    .venv/bin/python -m pytest tests/deployment/test_reverse_proxy.py -q
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import ssl
import time
import uuid

import httpx
import pytest

from assistant.core.settings import ACTION_TOKEN_HEADER, ADMIN_TOKEN_ENV, PROJECT_ROOT
from connectors.fallback_replies import SILENCE_REPLY
from connectors.zalo.signature import signature_header
from tests.support.live_stack import running_stack
from tests.support.nginx_proxy import ACME_TOKEN, NginxError, start_nginx
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

STAFF = "127.0.0.2"  # the staff network (--staff-network 127.0.0.2/32)
OUTSIDER = "127.0.0.1"
PORTAL = "https://dichvucong.example.gov.vn"  # embeds the chat (server.allowed_origins, --embed-origin)
ADMIN_TOKEN = "proxy-admin-token-" + uuid.uuid4().hex
ZALO_APP_ID, ZALO_OA_SECRET = "proxy-app", "proxy-oa-secret"
CHAT_BURST = 100  # deploy/nginx/render.py defaults: 5r/s, burst 100
CHAT_HTML = PROJECT_ROOT / "connectors" / "webchat" / "static" / "chat.html"
REFUSED = {403, 404}


def refused_by_proxy(response: httpx.Response, statuses: set[int] = REFUSED) -> bool:
    """Refused by nginx itself (its own error page), not by a server behind it: so a route the proxy
    should not pass fails the test even when the server behind it would refuse too."""
    return response.status_code in statuses and "<center>nginx</center>" in response.text


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    http_port, https_port = free_port(), free_port()
    origin = f"https://127.0.0.1:{https_port}"
    env = {
        # What docs/deploy.md step 5 sets: the chat posts to the public origin, which is also allowed.
        "TTHC_WEBCHAT__RASA_URL": origin,
        "TTHC_SERVER__ALLOWED_ORIGINS": json.dumps([origin, PORTAL]),
        "TTHC_SERVER__RASA_WORKERS": "1",
        ADMIN_TOKEN_ENV: ADMIN_TOKEN,
        "ZALO_APP_ID": ZALO_APP_ID,
        "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
        "ZALO_ACCESS_TOKEN": "token-1",
        "ZALO_REFRESH_TOKEN": "",
        "ZALO_APP_SECRET": "",
        # Replies go nowhere (a closed port): the proxy test needs Zalo's events to arrive, not replies.
        "ZALO_API_BASE": f"http://127.0.0.1:{free_port()}",
        "ZALO_OAUTH_URL": f"http://127.0.0.1:{free_port()}",
    }
    with running_stack(tmp_path_factory.mktemp("proxied"), env) as stack:
        try:
            proxy = start_nginx(
                stack.app_url,
                stack.rasa_url,
                http_port,
                https_port,
                staff_networks=[f"{STAFF}/32"],
                embed_origins=[PORTAL],
            )
        except NginxError as exc:
            pytest.fail(str(exc))
        try:
            yield stack, proxy
        finally:
            proxy.stop()
            shutil.rmtree(proxy.root, ignore_errors=True)


def client(proxied, source: str = OUTSIDER) -> httpx.Client:
    """A citizen (or staff member) at `source`, verifying the proxy's certificate."""
    _, proxy = proxied
    transport = httpx.HTTPTransport(local_address=source, verify=ssl.create_default_context(cafile=proxy.certificate))
    return httpx.Client(base_url=proxy.origin, transport=transport, timeout=60)


def chat(http: httpx.Client, message: str, sender: str | None = None) -> httpx.Response:
    return http.post(
        "/webhooks/rest/webhook", json={"sender": sender or f"web-{uuid.uuid4().hex[:12]}", "message": message}
    )


# --- allowed ------------------------------------------------------------------------------------


def test_a_chat_message_gets_rasas_answer_through_the_proxy(proxied):
    with client(proxied) as http:
        response = chat(http, "làm căn cước cần giấy tờ gì")
    assert response.status_code == 200, response.text[:300]
    texts = [message.get("text", "") for message in response.json()]
    assert texts and all(texts) and SILENCE_REPLY not in texts, texts


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/chat", "text/html"),
        ("/chat/config.js", "text/javascript"),
        ("/webchat/widget.js", "text/javascript"),
        ("/webchat/widget.css", "text/css"),
        ("/staff", "text/html"),
        ("/staff/config.js", "text/javascript"),
        ("/staff/assets/staff.js", "text/javascript"),
        ("/staff/assets/staff.css", "text/css"),
        ("/staff/assets/dashboard.js", "text/javascript"),
        ("/staff/assets/handoffs.js", "text/javascript"),
        ("/staff/assets/desk.css", "text/css"),
        ("/staff/assets/learning.js", "text/javascript"),
        ("/staff/assets/learning.css", "text/css"),
        ("/api/facets", "application/json"),
        ("/health", "application/json"),
        ("/webhooks/rest/", "application/json"),
        ("/checklist/1.001193", "text/html"),
    ],
)
def test_pages_assets_and_health_load_through_the_proxy(proxied, path, kind):
    with client(proxied) as http:
        response = http.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:200]}"
    assert response.headers["content-type"].startswith(kind)


def test_the_chat_page_posts_to_the_public_origin(proxied):
    _, proxy = proxied
    with client(proxied) as http:
        config = http.get("/chat/config.js").text
    assert f'"rasaUrl": "{proxy.origin}"' in config


def test_search_and_procedure_detail_through_the_proxy(proxied):
    with client(proxied) as http:
        search = http.get("/api/search", params={"q": "đăng ký khai sinh", "top": 3})
        assert search.status_code == 200 and search.json()["results"], search.text[:300]
        code = search.json()["results"][0]["code"]
        detail = http.get(f"/api/procedures/{code}")
        qr = http.get(f"/api/procedures/{code}/qr.svg")
    assert detail.status_code == 200 and detail.json()["procedure"]["code"] == code
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")


def test_zalo_events_reach_the_channel_through_the_proxy(proxied):
    event = {
        "app_id": ZALO_APP_ID,
        "event_name": "user_send_text",
        "sender": {"id": "8800000000000000042"},
        "recipient": {"id": "1"},
        "message": {"msg_id": f"proxy-{uuid.uuid4().hex}", "text": "xin chào"},
        "timestamp": str(int(time.time() * 1000)),
    }
    raw = json.dumps(event).encode()
    signed = {
        "Content-Type": "application/json",
        "X-ZEvent-Signature": signature_header(ZALO_APP_ID, raw, event["timestamp"], ZALO_OA_SECRET),
    }
    with client(proxied) as http:
        accepted = http.post("/webhooks/zalo/webhook", content=raw, headers=signed)
        unsigned = http.post("/webhooks/zalo/webhook", content=raw, headers={"Content-Type": "application/json"})
    assert accepted.status_code == 200 and accepted.json() == {"status": "accepted"}, accepted.text[:300]
    assert unsigned.status_code == 401  # the channel's own check, not the proxy's


def test_the_portal_may_call_the_chat_cross_origin(proxied):
    """The widget on the provincial portal: the CORS preflight passes the proxy and Rasa allows it."""
    with client(proxied) as http:
        response = http.options(
            "/webhooks/rest/webhook",
            headers={
                "Origin": PORTAL,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
    assert response.status_code in (200, 204), response.text[:200]
    assert response.headers.get("access-control-allow-origin") == PORTAL


def test_port_80_answers_acme_challenges_and_redirects_the_rest(proxied):
    _, proxy = proxied
    challenge = httpx.get(f"{proxy.http_origin}/.well-known/acme-challenge/{ACME_TOKEN}", timeout=10)
    assert challenge.status_code == 200 and challenge.text == ACME_TOKEN
    redirect = httpx.get(f"{proxy.http_origin}/chat", timeout=10)
    assert redirect.status_code == 301 and redirect.headers["location"] == "https://127.0.0.1/chat"


# --- refused ------------------------------------------------------------------------------------

RASA_API = [
    ("GET", "/status"),
    ("GET", "/version"),
    ("GET", "/domain"),
    ("GET", "/"),
    ("GET", "/conversations/citizen-1/tracker"),
    ("POST", "/conversations/citizen-1/tracker/events"),
    ("POST", "/conversations/citizen-1/messages"),
    ("POST", "/conversations/citizen-1/execute"),
    ("GET", "/conversations/citizen-1/story"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
    ("POST", "/model/train"),
    ("POST", "/model/predict"),
]
UNLISTED = [
    "/actions",
    "/redoc/",
    "/api/",
    "/api/search/",
    "/api/procedures/",
    "/api/unknown",
    "/static/x",
    "/webchat/chat.html",
    "/webchat/../webhook",
    "/staff/assets/index.html",
    "/.env",
    "/var/app.db",
    "/webhooks/",
    "/webhooks/rest/webhook/../../webhook",
    "/webhooks/rasa/webhook",
]
TRICKS = [
    "/api/search/..%2F..%2Fwebhook",
    "/chat/..%2Fwebhook",
    "//webhook",
    "/%77ebhook",
    "/WEBHOOK",
    "/api/procedures/..%2F..%2F..%2Fwebhook",
    "/webhooks/rest/webhook%2F..%2F..%2F..%2Fmodel",
]


def test_the_action_endpoint_is_not_reachable_even_with_the_token(proxied):
    stack, _ = proxied
    call = {"next_action": "action_answer_procedure", "sender_id": "x", "tracker": {"sender_id": "x", "events": []}}
    with client(proxied) as http:
        for headers in ({}, {ACTION_TOKEN_HEADER: stack.action_token}):
            response = http.post("/webhook", json=call, headers=headers)
            assert refused_by_proxy(response, {404}), response.text[:200]
            assert refused_by_proxy(http.get("/webhook", headers=headers), {404})
    # Directly on 127.0.0.1 the token works: the proxy, not the app, is what refuses.
    direct = httpx.post(f"{stack.app_url}/webhook", content=b"{}", headers={ACTION_TOKEN_HEADER: stack.action_token})
    assert direct.status_code == 400


def test_metrics_are_not_reachable_through_the_proxy(proxied):
    stack, _ = proxied
    for source in (OUTSIDER, STAFF):  # not even from the staff network: Prometheus scrapes the machine itself
        with client(proxied, source) as http:
            response = http.get("/metrics")
            assert refused_by_proxy(response, {404}), f"{source}: {response.status_code} {response.text[:200]}"
    # Directly on 127.0.0.1 (a local Prometheus) the app answers: the proxy is what refuses.
    direct = httpx.get(f"{stack.app_url}/metrics", timeout=10)
    assert direct.status_code == 200 and "tthc_action_calls_total" in direct.text


@pytest.mark.parametrize("method, path", RASA_API, ids=[f"{m} {p}" for m, p in RASA_API])
def test_rasa_internal_endpoints_are_refused(proxied, method, path):
    with client(proxied, STAFF) as http:  # not even from the staff network
        response = http.request(
            method, path, params={"token": "guess"}, json={"text": "x"} if method != "GET" else None
        )
    if path != "/":
        assert refused_by_proxy(response), f"{method} {path}: {response.status_code} {response.text[:200]}"
    else:  # "/" sends citizens to the chat, never to Rasa
        assert response.status_code == 302
        assert response.headers["location"].endswith(f"127.0.0.1:{proxied[1].https_port}/chat")


@pytest.mark.parametrize("path", UNLISTED + TRICKS)
def test_unlisted_paths_and_path_tricks_are_refused(proxied, path):
    stack, proxy = proxied
    # httpx would normalize the path: send it as written.
    with client(proxied, STAFF) as http:
        request = http.build_request("GET", proxy.origin)
        request.url = request.url.copy_with(raw_path=path.encode())
        response = http.send(request)
    assert refused_by_proxy(response, REFUSED | {400}), f"{path}: {response.status_code} {response.text[:200]}"


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/webhooks/rest/webhook"),
        ("PUT", "/webhooks/rest/webhook"),
        ("POST", "/chat"),
        ("DELETE", "/api/search"),
        ("POST", "/api/facets"),
        ("PUT", "/webhooks/zalo/webhook"),
    ],
)
def test_methods_the_routes_do_not_need_are_refused(proxied, method, path):
    with client(proxied) as http:
        assert refused_by_proxy(http.request(method, path), {403})


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/staff/handoffs"),
        ("GET", "/api/staff/feedback"),
        ("GET", "/api/staff/interactions"),
        ("GET", "/api/staff/dashboard"),
        ("GET", "/api/staff/dashboard/outcomes.svg"),
        ("GET", "/api/staff/handoff-cases?status=all"),
        ("GET", "/api/staff/unanswered"),
        ("GET", "/api/staff/unanswered.csv"),
        ("GET", "/api/staff/labels"),
        ("GET", "/api/staff/labels.jsonl"),
        ("POST", "/admin/reload"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
        ("GET", "/openapi.json"),
        ("GET", "/webhooks/zalo/"),
    ],
)
def test_staff_routes_only_from_the_staff_network(proxied, method, path):
    token = {"X-Admin-Token": ADMIN_TOKEN}
    with client(proxied, OUTSIDER) as outsider:
        assert refused_by_proxy(outsider.request(method, path, headers=token), {403})
    with client(proxied, STAFF) as staff:
        response = staff.request(method, path, headers=token)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text[:200]}"
        if path.startswith(("/api/staff/", "/admin/")):  # the app's own admin token still applies
            assert staff.request(method, path).status_code == 401


@pytest.mark.parametrize("path", ["/api/staff/handoff-cases/1/handled", "/api/staff/handoff-cases/1/replies"])
def test_hand_off_actions_only_from_the_staff_network_and_only_post(proxied, path):
    with client(proxied, OUTSIDER) as outsider:
        assert refused_by_proxy(outsider.post(path, json={"text": "Dạ"}, headers={"X-Admin-Token": ADMIN_TOKEN}), {403})
    with client(proxied, STAFF) as staff:
        assert staff.post(path, json={"text": "Dạ"}).status_code == 401  # passed on: the app wants its token
        assert refused_by_proxy(staff.get(path, headers={"X-Admin-Token": ADMIN_TOKEN}), {403})


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/api/staff/labels", {"questions": ["khai sinh"], "kind": "not_procedure"}),
        ("PUT", "/api/staff/labels/1", {"kind": "not_procedure"}),
        ("DELETE", "/api/staff/labels/1", None),
    ],
)
def test_labelling_only_from_the_staff_network(proxied, method, path, body):
    token = {"X-Admin-Token": ADMIN_TOKEN}
    with client(proxied, OUTSIDER) as outsider:
        assert refused_by_proxy(outsider.request(method, path, json=body, headers=token), {403})
    with client(proxied, STAFF) as staff:
        assert staff.request(method, path, json=body).status_code == 401  # passed on: the app wants its token
        other = "GET" if method != "POST" else "PUT"
        assert refused_by_proxy(staff.request(other, path, headers=token), {403})


def test_every_api_route_of_the_app_has_a_decision_in_the_proxy(proxied):
    """A new route in the app must be added to deploy/nginx/tthc.conf (and here) on purpose."""
    stack, _ = proxied
    decided = {
        "/api/search",
        "/api/facets",
        "/api/procedures/{code}",
        "/api/procedures/{code}/qr.svg",
        "/api/staff/handoffs",
        "/api/staff/feedback",
        "/api/staff/interactions",
        "/admin/reload",
        "/health",
        "/actions",
        "/api/staff/dashboard",
        "/api/staff/dashboard/{chart}.svg",
        "/api/staff/handoff-cases",
        "/api/staff/handoff-cases/{handoff_id}/handled",
        "/api/staff/handoff-cases/{handoff_id}/replies",
        "/api/staff/unanswered",
        "/api/staff/unanswered.csv",
        "/api/staff/labels",
        "/api/staff/labels.jsonl",
        "/api/staff/labels/{label_id}",
    }
    paths = set(httpx.get(f"{stack.app_url}/openapi.json", timeout=10).json()["paths"])
    assert paths <= decided, f"routes with no decision in deploy/nginx/tthc.conf: {sorted(paths - decided)}"


def test_unknown_host_names_get_no_answer(proxied):
    with client(proxied) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/chat", headers={"Host": "attacker.example"})


# --- limits -------------------------------------------------------------------------------------


def test_oversized_chat_body_is_refused_by_the_proxy(proxied):
    """32 KB: over the proxy's 16 KB, under Rasa's own 64 KB cap (which would answer 200 "too long")."""
    body = json.dumps({"sender": "web-big", "message": "a" * 32_000})
    with client(proxied) as http:
        response = http.post("/webhooks/rest/webhook", content=body, headers={"Content-Type": "application/json"})
        zalo = http.post("/webhooks/zalo/webhook", content=b"{" + b" " * 100_000 + b"}")
    assert response.status_code == 413
    assert "quá dài" in response.json()[0]["text"]
    assert zalo.status_code == 413 and "<html>" in zalo.text  # nginx's page, not the channel's JSON


def test_chat_burst_from_one_address_gets_429_and_others_still_chat(proxied):
    """Different senders each time, so only the proxy's per-address limit can refuse (Rasa's channel
    limits senders, and exempts the proxy's loopback address from its own per-address limit)."""
    flood = "127.0.0.6"
    started = time.monotonic()
    with client(proxied, flood) as http:
        # Empty messages: the channel answers them without the model, so the burst is quick.
        responses = [chat(http, " ") for _ in range(CHAT_BURST + 40)]
        elapsed = time.monotonic() - started
        last = chat(http, " ")
    statuses = [response.status_code for response in responses]
    allowed = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    assert CHAT_BURST <= allowed <= CHAT_BURST + 1 + int(5 * elapsed) + 1, (allowed, elapsed)
    assert last.status_code == 429 and last.headers.get("retry-after")
    assert "quá nhiều" in last.json()[0]["text"]
    with client(proxied, "127.0.0.7") as other:
        assert chat(other, " ").status_code == 200


def test_app_rate_limit_keys_each_citizen_and_ignores_forged_forwarded_for(proxied):
    """The app's per-address limit (burst 40) sees the citizen's address through the proxy, and a
    forged X-Forwarded-For neither frees a limited citizen nor lands on someone else's bucket."""

    def limited(response):
        return response.status_code == 429 and "quá nhiều yêu cầu" in response.json().get("detail", "")

    with client(proxied, "127.0.0.4") as citizen:
        responses = [citizen.get("/chat/config.js") for _ in range(60)]
        assert any(limited(r) for r in responses), [r.status_code for r in responses]
        assert limited(citizen.get("/chat/config.js", headers={"X-Forwarded-For": "203.0.113.9"}))
        assert limited(citizen.get("/chat/config.js", headers={"X-Forwarded-For": "127.0.0.5"}))
    with client(proxied, "127.0.0.5") as neighbour:
        assert neighbour.get("/chat/config.js").status_code == 200


def test_access_log_has_no_query_strings(proxied):
    _, proxy = proxied
    secret_question = f"so-cccd-{uuid.uuid4().hex[:8]}"
    with client(proxied) as http:
        assert http.get("/api/search", params={"q": secret_question}).status_code == 200
    deadline = time.monotonic() + 5
    while "/api/search" not in proxy.access_log() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = proxy.access_log()
    assert "GET /api/search HTTP/1.1" in log and secret_question not in log


# --- headers ------------------------------------------------------------------------------------


def inline_hashes(html: str, tag: str) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
    ]


def test_chat_page_headers_allow_what_the_page_loads_and_the_portal_to_frame_it(proxied):
    with client(proxied) as http:
        response = http.get("/chat")
    csp = response.headers["content-security-policy"]
    html = CHAT_HTML.read_text(encoding="utf-8")
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        for digest in inline_hashes(html, tag):
            source = re.search(rf"{directive} ([^;]*)", csp).group(1)
            assert digest in source.split(), (
                f"chat.html's inline <{tag}> changed: put {digest} in {directive} of /chat in deploy/nginx/tthc.conf"
            )
    assert "connect-src 'self'" in csp and "default-src 'none'" in csp
    assert re.search(r"frame-ancestors 'self' " + re.escape(PORTAL), csp)
    assert "x-frame-options" not in response.headers
    common_headers(response)


@pytest.mark.parametrize("path", ["/staff", "/api/facets", "/webchat/widget.js"])
def test_other_responses_may_not_be_framed(proxied, path):
    with client(proxied) as http:
        response = http.get(path)
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    common_headers(response)


def common_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["server"] == "nginx"  # no version


# --- in a browser -------------------------------------------------------------------------------


@pytest.mark.browser
def test_chat_and_staff_pages_work_in_a_browser_under_the_proxys_headers(proxied):
    """Chromium through the proxy: the chat answers and the staff search lists results, with no
    Content-Security-Policy violation on either page."""
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import expect, sync_playwright

    _, proxy = proxied
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        try:
            context = browser.new_context(locale="vi-VN", ignore_https_errors=True)
            page = context.new_page()
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.goto(f"{proxy.origin}/chat")
            box = page.get_by_label("Câu hỏi của Anh/Chị")
            box.fill("Đăng ký khai sinh cần giấy tờ gì?")
            box.press("Enter")
            expect(page.locator(".tthc-msg--bot").first).to_be_visible(timeout=60_000)
            page.goto(f"{proxy.origin}/staff")
            page.get_by_label("Tên thủ tục hoặc câu hỏi của người dân").fill("khai sinh")
            page.keyboard.press("Enter")
            expect(page.locator("#results li").first).to_be_visible(timeout=30_000)
        finally:
            browser.close()
    assert not [text for text in problems if "Content Security Policy" in text or "Refused" in text], problems
