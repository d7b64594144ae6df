#!/usr/bin/env python3
"""The 50-user load as production sees it: through nginx, on the single-VM or the scale-out profile.

For DATA_DIR with an imported catalogue (and a Rasa model trained for it, e.g. by
scripts/bot_benchmark.sh into DATA_DIR/bot-benchmark/run-model), this starts

- **single-vm**: the app server and the Rasa server with the commands and environment the systemd
  units' `tthc up --only app|rasa` give them (tests/deployment/test_units.py checks they are the
  same), and nginx with the project's site (deploy/nginx/tthc.conf rendered by render.py as
  docs/deploy.md step 7 does, a throw-away self-signed certificate) on free loopback ports;
- **scale-out**: two nodes (app server + Rasa server each, as `tthc up --profile scale-out` starts
  them) sharing a throw-away PostgreSQL and Redis, a fake Zalo API that counts deliveries, and nginx
  rendered with both nodes and the internal action listener (docs/deploy.md "Scale-out"); the
  helpers are the deployment tests' (tests/support/).

Then it runs scripts/load_test.py's load through the proxy (diverse questions generated from the
catalogue, a new citizen per conversation, 1 s think, each user from its own loopback address) and
prints replies/s, p50/p95, errors, CPU per reply (Rasa, app server; /proc/<pid>/stat), the memory
of the servers after the load (scripts/memory_profile.py: their resident pages counted once, which is
what a VM of their own needs, and the RSS and PSS sums), the machine-speed calibration and the load
average.

With `--kill-one` (scale-out) a second load runs while Zalo citizens write in as well (each event
delivered twice, as Zalo redelivers); in its middle one Rasa and the *other* node's app server are
killed (SIGKILL). It reports lost conversations (a turn answered but missing from PostgreSQL's
tracker store, or an error the citizen got after the kill: for a message in flight at the kill, or
sent after it; counted apart) and Zalo events answered twice or not at all (the fake Zalo API's
deliveries). The load client resends a message once after a proxy's 502/503, as the web chat widget does;
those are counted apart (in flight at the kill: how many got the proxy error, how many the resend
answered), as are the conversation locks left in Redis just after the kill. nginx's error log is kept in
--out (nginx-tthc.error.log: which upstream failed, and action calls sent to the other app server).

    .venv/bin/python scripts/proxy_load_benchmark.py DATA_DIR --rasa-workers 1
    .venv/bin/python scripts/proxy_load_benchmark.py DATA_DIR --profile scale-out --kill-one

Needs nginx, openssl, and for scale-out postgresql and redis-server (scripts/ensure_test_packages.sh).
Everything listens on 127.0.0.1 only and is stopped on exit; logs go to --out (default /tmp/proxy-bench-<time>).
DATA_DIR is written to (single-vm: its SQLite tracker and app databases): benchmark a copy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import time
import uuid
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import load_test  # noqa: E402
import memory_profile  # noqa: E402

from assistant.cli.launcher import processes  # noqa: E402
from assistant.core import storage  # noqa: E402
from assistant.core.errors import SetupError  # noqa: E402
from assistant.core.settings import ACTION_TOKEN_ENV, load_settings  # noqa: E402
from knowledge_base.errors import KnowledgeBaseError  # noqa: E402
from tests.support.nginx_proxy import NginxError, start_nginx  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.scale_out_node import running_fake_zalo, scale_out_environment  # noqa: E402
from tests.support.shared_services import ServiceError, running_postgres, running_redis  # noqa: E402

ZALO_APP_ID, ZALO_OA_SECRET = "bench-app", "bench-oa-secret-" + uuid.uuid4().hex
WARM_UP = {"users": 10, "duration": 20}  # first replies of each worker load lazy parts: not measured


class BenchmarkError(RuntimeError):
    """Bad input or a stack that does not start; the message names the fix."""


# ---- starting the stack ----------------------------------------------------------------------------


@contextmanager
def environment(overrides: dict[str, str]):
    """`overrides` in os.environ while the servers are built (settings and server env read it), then restored."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def node(name: str, data_dir: Path, model: Path, log_dir: Path, common: dict[str, str]) -> dict:
    """One node's two servers on free ports, as `tthc up` (--only app|rasa, --profile) builds them."""
    app_port, rasa_port = free_port(), free_port()
    overrides = {
        **common,
        "TTHC_CATALOG__DATA_DIR": str(data_dir),
        "TTHC_SERVER__APP_PORT": str(app_port),
        "TTHC_SERVER__RASA_PORT": str(rasa_port),
        # as tthc-app.service sets it: the app trusts X-Forwarded-For from the local proxy only
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    with environment(overrides):
        settings = load_settings()
        processes.check_shared_services(settings)
        app = processes.app_server(settings, log_dir / f"node-{name}")
        rasa = processes.rasa_server(settings, model, log_dir / f"node-{name}")
    return {"name": name, "app": app, "rasa": rasa, "app_port": app_port, "rasa_port": rasa_port}


def start_servers(nodes: list[dict], stack: ExitStack) -> None:
    servers = [server for n in nodes for server in (n["app"], n["rasa"])]
    stack.callback(processes.stop_all, servers)
    started = time.monotonic()
    processes.start_all(servers, timeout=1200)  # each Rasa worker loads TensorFlow and the model
    log(f"servers ready in {time.monotonic() - started:.0f} s")


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


# ---- measuring ---------------------------------------------------------------------------------------


def stack_pids(nodes: list[dict]) -> dict[str, list[int]]:
    """PIDs of the Rasa processes (parent and workers) and of the app servers of every node."""
    pids: dict[str, list[int]] = {"rasa": [], "app": []}
    for n in nodes:
        for process in memory_profile.stack_processes(n["app_port"], n["rasa_port"]):
            pids["app" if process["role"] == "app server" else "rasa"].append(process["pid"])
    return pids


def cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    return {role: sum(memory_profile.cpu_seconds(pid) for pid in group) for role, group in pids.items()}


def memory(nodes: list[dict]) -> dict:
    per_node = []
    for n in nodes:
        found = memory_profile.stack_processes(n["app_port"], n["rasa_port"])
        per_node.append(
            {
                "node": n["name"],
                "rss_mb": round(sum(p["rss_mb"] for p in found), 1),
                "pss_mb": round(sum(p["pss_mb"] for p in found), 1),
                "unique_mb": memory_profile.unique_resident_mb([p["pid"] for p in found]),
                "processes_mb": [{"role": p["role"], "rss_mb": p["rss_mb"], "pss_mb": p["pss_mb"]} for p in found],
            }
        )
    return {
        "rss_mb": round(sum(n["rss_mb"] for n in per_node), 1),
        "pss_mb": round(sum(n["pss_mb"] for n in per_node), 1),
        "unique_mb": round(sum(n["unique_mb"] for n in per_node), 1),
        "nodes": per_node,
    }


def load(proxy, pool, users: int, duration: float, during=None) -> tuple[load_test.Results, float]:
    async def both():
        work = load_test.run(proxy.origin, users, duration, 1.0, 10.0, pool, 3, str(proxy.certificate))
        if during is None:
            return await work
        results, _ = await asyncio.gather(work, during())
        return results

    return asyncio.run(both())


def measured_run(proxy, pool, nodes: list[dict], users: int, duration: float) -> dict:
    pids = stack_pids(nodes)
    before_state = load_test.machine_state()
    cpu_before = cpu(pids)
    results, wall_s = load(proxy, pool, users, duration)
    cpu_after = cpu(pids)
    report = {
        **load_test.summary(results, wall_s, users, proxy.origin),
        **before_state,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    replies = max(report["replies"], 1)
    report["cpu_ms_per_reply"] = {
        role: round(1000 * (cpu_after[role] - cpu_before[role]) / replies, 1) for role in pids
    }
    report["cores_used"] = {role: round((cpu_after[role] - cpu_before[role]) / wall_s, 2) for role in pids}
    report["memory_after_load"] = memory(nodes)
    report["calibration_after_s"] = load_test.machine_state()["calibration_s"]
    return report


# ---- kill one of each under load (scale-out) -------------------------------------------------------


def kill(server: processes.Server) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(30)


def zalo_citizens(proxy, pool, duration: float, sent: list[str]):
    """A coroutine factory: a new Zalo citizen every second asks one question through the proxy; the
    same event is delivered again 2 s later (Zalo redelivers an event it is unsure about)."""
    from connectors.zalo.signature import signature_header

    async def citizens():
        verify = load_test.tls_verification(str(proxy.certificate))
        async with httpx.AsyncClient(base_url=proxy.origin, verify=verify, timeout=30) as client:

            async def deliver(raw: bytes, headers: dict, delay: float) -> None:
                await asyncio.sleep(delay)
                try:
                    await client.post("/webhooks/zalo/webhook", content=raw, headers=headers)
                except httpx.HTTPError:
                    pass  # Zalo would redeliver; the reply count says whether it was answered

            deadline, tasks = time.monotonic() + duration, []
            while time.monotonic() < deadline:
                user = f"zalo-bench-{uuid.uuid4().hex[:10]}"
                event = {
                    "app_id": ZALO_APP_ID,
                    "event_name": "user_send_text",
                    "sender": {"id": user},
                    "recipient": {"id": "oa"},
                    "message": {"msg_id": f"msg-{uuid.uuid4().hex}", "text": pool.next_conversation(1)[0]},
                    "timestamp": str(int(time.time() * 1000)),
                }
                raw = json.dumps(event).encode()
                headers = {
                    "Content-Type": "application/json",
                    "X-ZEvent-Signature": signature_header(ZALO_APP_ID, raw, event["timestamp"], ZALO_OA_SECRET),
                }
                sent.append(user)
                tasks += [asyncio.create_task(deliver(raw, headers, 0)), asyncio.create_task(deliver(raw, headers, 2))]
                await asyncio.sleep(1)
            await asyncio.gather(*tasks)

    return citizens


def zalo_deliveries(fake_zalo: str, users: list[str], timeout: float = 240) -> dict[str, list[str]]:
    """Message bodies the fake Zalo API accepted per user, once every user has an answer and nothing changed
    for 10 s, or after `timeout`: an event a killed node had accepted is answered by another node's recovery
    only after the claim lease (MESSAGE_CLAIM_SECONDS) and its next outbox flush (docs/zalo.md)."""
    last, quiet_since, deadline = None, time.monotonic(), time.monotonic() + timeout
    wanted = set(users)
    while time.monotonic() < deadline:
        bodies: dict[str, list[str]] = {}
        for body in httpx.get(f"{fake_zalo}/_fake/sent", timeout=10).json():
            user = body["recipient"]["user_id"]
            if user in wanted:
                bodies.setdefault(user, []).append(json.dumps(body["message"], sort_keys=True, ensure_ascii=False))
        counts = {user: len(items) for user, items in bodies.items()}
        if counts != last:
            last, quiet_since = counts, time.monotonic()
        elif time.monotonic() - quiet_since > 10 and len(bodies) == len(wanted):
            return bodies
        time.sleep(1)
    return bodies


def conversation_locks(redis_url: str) -> dict[str, int]:
    """Conversation id -> tickets of its lock in Rasa's Redis lock store (keys `tthc:lock:<id>`)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    locks = {}
    for key in client.scan_iter("tthc:lock:*"):
        raw = client.get(key)
        if raw:
            locks[key.decode().removeprefix("tthc:lock:")] = len(json.loads(raw).get("tickets", []))
    return locks


def kill_one_run(
    proxy, pool, nodes: list[dict], database: str, fake_zalo: str, users: int, duration: float, redis_url: str
) -> dict:
    zalo_users: list[str] = []
    kill_at = duration / 2
    killed = {}

    async def killer():
        await asyncio.sleep(kill_at)
        killed["at_s"] = round(kill_at, 3)
        kill(nodes[0]["rasa"])  # one Rasa ...
        kill(nodes[1]["app"])  # ... and the other node's app server
        # The locks in Redis just after the kill: the dead Rasa's conversations keep theirs until they expire.
        killed["locks"] = conversation_locks(redis_url)
        log(f"killed Rasa {nodes[0]['name']} and app server {nodes[1]['name']} at {kill_at:.0f} s")

    async def during():
        await asyncio.gather(killer(), zalo_citizens(proxy, pool, duration, zalo_users)())

    state = load_test.machine_state()
    results, wall_s = load(proxy, pool, users, duration, during)
    report = {
        **load_test.summary(results, wall_s, users, proxy.origin),
        **state,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "killed_at_s": killed.get("at_s"),
    }
    # Every turn the citizen got an answer for must be in the shared tracker store, once.
    with closing(storage.connect(database)) as connection:
        stored = dict(
            connection.execute(
                "SELECT sender_id, COUNT(*) FROM events WHERE type_name = 'user' AND sender_id LIKE 'loadtest-%' "
                "GROUP BY sender_id"
            ).fetchall()
        )
    at = killed.get("at_s", float("inf"))
    lost, missing_turns, stored_twice, in_flight_errors, later_errors = [], 0, 0, 0, 0
    died_with_a_server: list[str] = []  # a message in flight at the kill got a proxy error (502/503)
    for sender, turns in results.conversations.items():
        answered = sum(1 for t in turns if t.status == 200)
        missing = max(0, answered - stored.get(sender, 0))
        missing_turns += missing
        stored_twice += max(0, stored.get(sender, 0) - len(turns))
        # An error the citizen got after the kill: for a message in flight at the kill, or sent after it.
        in_flight_errors += sum(1 for t in turns if t.outcome != "ok" and t.sent_s < at <= t.done_s)
        later_errors += sum(1 for t in turns if t.outcome != "ok" and t.sent_s >= at)
        in_flight = [t for t in turns if t.sent_s < at <= t.done_s]
        if any(t.first_status or t.status in load_test.RESEND_STATUSES for t in in_flight):
            died_with_a_server.append(sender)
        if missing or any(t.outcome != "ok" and t.done_s >= at for t in turns):
            lost.append(sender)
    bodies = zalo_deliveries(fake_zalo, zalo_users)
    duplicates = sum(len(items) - len(set(items)) for items in bodies.values())
    report.update(
        {
            "lost_conversations": len(lost),
            "turns_missing_from_tracker": missing_turns,
            "turns_stored_twice": stored_twice,
            "errors_in_flight_at_kill": in_flight_errors,
            "errors_sent_after_kill": later_errors,
            "in_flight_proxy_errors": len(died_with_a_server),
            "in_flight_answered_on_resend": sum(
                1
                for turns in results.conversations.values()
                for t in turns
                if t.sent_s < at <= t.done_s and t.first_status and t.outcome == "ok"
            ),
            "locks_in_redis_after_kill": len(killed.get("locks", {})),
            "proxy_error_conversations_with_a_lock_after_kill": sum(
                1 for sender in died_with_a_server if sender in killed.get("locks", {})
            ),
            "zalo_events": len(zalo_users),
            "zalo_events_unanswered": sum(1 for u in zalo_users if not bodies.get(u)),
            "zalo_duplicate_deliveries": duplicates,
            "zalo_messages_delivered": sum(map(len, bodies.values())),
        }
    )
    return report


# ---- the profiles -----------------------------------------------------------------------------------


def web_env(origin: str) -> dict[str, str]:
    """docs/deploy.md step 5: one action token for both servers, the public origin for the chat page."""
    return {
        ACTION_TOKEN_ENV: secrets.token_hex(32),
        "TTHC_WEBCHAT__RASA_URL": origin,
        "TTHC_SERVER__ALLOWED_ORIGINS": json.dumps([origin]),
    }


def run_profile(args, pool, out: Path) -> list[dict]:
    with ExitStack() as stack:
        https_port = free_port()
        origin = f"https://127.0.0.1:{https_port}"
        common = {**web_env(origin), "TTHC_SERVER__RASA_WORKERS": str(args.rasa_workers)}
        database = fake_zalo = redis_url = ""
        action_port = 0
        if args.profile == "scale-out":
            try:
                pg = stack.enter_context(running_postgres())
                redis = stack.enter_context(running_redis())
            except ServiceError as exc:
                raise BenchmarkError(str(exc)) from None
            zalo_port, action_port = free_port(), free_port()
            fake_zalo = stack.enter_context(running_fake_zalo(zalo_port, ZALO_APP_ID))
            database = storage.postgres_url(pg["host"], pg["port"], pg["db"], pg["user"])
            redis_url = f"redis://{redis['host']}:{redis['port']}/0"
            common.update(
                scale_out_environment(pg, redis, action_port, origin, fake_zalo, (ZALO_APP_ID, ZALO_OA_SECRET))
            )
            # Both nodes read the same catalogue index and model (on two VMs: copies of them).
            nodes = [node(name, args.data_dir, args.model, out, common) for name in ("A", "B")]
        else:
            common["TTHC_DEPLOYMENT__PROFILE"] = "single-vm"
            nodes = [node("single", args.data_dir, args.model, out, common)]
        try:
            proxy = start_nginx(
                [f"127.0.0.1:{n['app_port']}" for n in nodes],
                [f"127.0.0.1:{n['rasa_port']}" for n in nodes],
                free_port(),
                https_port,
                staff_networks=["127.0.0.1/32"],
                embed_origins=[],
                action_listen=f"127.0.0.1:{action_port}" if action_port else "",
                rasa_networks=["127.0.0.1/32"] if action_port else [],
            )
        except NginxError as exc:
            raise BenchmarkError(str(exc)) from None
        stack.callback(
            lambda: (proxy.stop(), keep_nginx_logs(proxy, out), shutil.rmtree(proxy.root, ignore_errors=True))
        )
        log(
            f"nginx on {proxy.origin} (site rendered from deploy/nginx/tthc.conf in {proxy.root}); "
            f"starting {len(nodes)} node(s), Rasa workers {args.rasa_workers}; logs in {out}"
        )
        start_servers(nodes, stack)
        log(f"warm-up: {WARM_UP['users']} users for {WARM_UP['duration']} s (not measured)")
        load(proxy, pool, WARM_UP["users"], WARM_UP["duration"])
        reports = []
        for number in range(1, args.runs + 1):
            log(f"measured run {number}: {args.users} users for {args.duration:.0f} s through the proxy")
            report = measured_run(proxy, pool, nodes, args.users, args.duration)
            reports.append(
                {
                    "profile": args.profile,
                    "run": f"load {number}",
                    "rasa_workers": args.rasa_workers,
                    "nodes": len(nodes),
                    "question_pool": pool.source,
                    **report,
                }
            )
            emit(reports[-1], out)
        if args.kill_one:
            log(f"kill-one run: {args.users} users and a Zalo citizen a second for {args.duration:.0f} s")
            report = kill_one_run(proxy, pool, nodes, database, fake_zalo, args.users, args.duration, redis_url)
            reports.append(
                {
                    "profile": args.profile,
                    "run": "kill one of each",
                    "rasa_workers": args.rasa_workers,
                    "nodes": len(nodes),
                    "question_pool": pool.source,
                    **report,
                }
            )
            emit(reports[-1], out)
        return reports


def keep_nginx_logs(proxy, out: Path) -> None:
    """nginx's error log (upstream failures, resent action calls) into --out before its directory goes."""
    for name in ("error.log", "tthc.error.log"):
        if (proxy.root / "logs" / name).exists():
            shutil.copy(proxy.root / "logs" / name, out / f"nginx-{name}")


def emit(report: dict, out: Path) -> None:
    with (out / "reports.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(report, ensure_ascii=False) + "\n")
    print(json.dumps(report, ensure_ascii=False) if JSON_OUTPUT else describe(report), flush=True)


def describe(report: dict) -> str:
    lines = [
        f"{report['profile']}, {report['nodes']} node(s), {report['rasa_workers']} Rasa worker(s) each, "
        f"{report['run']}: {report['users']} users for {report['wall_s']} s through {report['url']}",
        f"  {report['replies']} replies, {report['throughput_rps']} replies/s, p50 {report['p50_ms']} ms, "
        f"p95 {report['p95_ms']} ms, max {report['max_ms']} ms; errors {report['errors']} (http "
        f"{report['http_errors']}, timeouts {report['timeouts']}, connection {report['connection_errors']}, "
        f"empty {report['empty_replies']}, apologies {report['apology_replies']}); "
        f"{report['conversations']} conversations, {report['distinct_questions']} distinct questions",
        f"  proxy errors (502/503) resent once as the widget does: {report['proxy_errors_resent']}, answered on "
        f"the resend {report['answered_on_resend']} (not in the errors above)",
    ]
    if "cpu_ms_per_reply" in report:
        memory_after = report["memory_after_load"]
        lines.append(
            f"  CPU per reply: Rasa {report['cpu_ms_per_reply']['rasa']} ms, app server "
            f"{report['cpu_ms_per_reply']['app']} ms (cores used: Rasa {report['cores_used']['rasa']}, "
            f"app {report['cores_used']['app']})"
        )
        lines.append(
            f"  memory after the load: resident pages of the servers counted once {memory_after['unique_mb']} MB; "
            f"total RSS {memory_after['rss_mb']} MB, PSS {memory_after['pss_mb']} MB ("
            + "; ".join(
                f"node {n['node']}: " + ", ".join(f"{p['role']} {p['rss_mb']}/{p['pss_mb']}" for p in n["processes_mb"])
                for n in memory_after["nodes"]
            )
            + " RSS/PSS MB)"
        )
    if "lost_conversations" in report:
        lines.append(
            f"  killed one Rasa and the other node's app server at {report['killed_at_s']} s: "
            f"lost conversations {report['lost_conversations']} (turns missing from the tracker store "
            f"{report['turns_missing_from_tracker']}; errors for messages in flight at the kill "
            f"{report['errors_in_flight_at_kill']}, for messages sent after it "
            f"{report['errors_sent_after_kill']}), turns stored twice {report['turns_stored_twice']}"
        )
        lines.append(
            f"  in flight at the kill: {report['in_flight_proxy_errors']} messages got a proxy error, "
            f"{report['in_flight_answered_on_resend']} of them answered on the resend; just after the kill "
            f"{report['locks_in_redis_after_kill']} conversation locks in Redis, "
            f"{report['proxy_error_conversations_with_a_lock_after_kill']} of them of the conversations whose "
            "message got the proxy error"
        )
        lines.append(
            f"  Zalo: {report['zalo_events']} events (each delivered twice), "
            f"{report['zalo_messages_delivered']} messages delivered, duplicate deliveries "
            f"{report['zalo_duplicate_deliveries']}, events unanswered {report['zalo_events_unanswered']}"
        )
    after = f", after {report['calibration_after_s']}" if "calibration_after_s" in report else ""
    lines.append(
        f"  calibration_s {report['calibration_s']}{after}; load average (1 min) before "
        f"{report['load_average_1m']}, after {report['load_average_1m_after']}"
    )
    return "\n".join(lines)


JSON_OUTPUT = False


def main(argv: list[str] | None = None) -> int:
    global JSON_OUTPUT
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="directory with an imported catalogue")
    parser.add_argument("--profile", choices=("single-vm", "scale-out"), default="single-vm")
    parser.add_argument(
        "--rasa-workers",
        type=int,
        default=None,
        help="Rasa worker processes per node (default: the settings' server.rasa_workers)",
    )
    parser.add_argument("--model", type=Path, help="Rasa model (default DATA_DIR/bot-benchmark/run-model/tthc.tar.gz)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--runs", type=int, default=1, help="measured runs in a row on the same stack (default 1)")
    parser.add_argument(
        "--kill-one",
        action="store_true",
        help="scale-out: then a run that kills one Rasa and the other node's app server in its middle",
    )
    parser.add_argument("--out", type=Path, help="logs and reports.jsonl (default /tmp/proxy-bench-<time>)")
    parser.add_argument("--json", action="store_true", help="one JSON line per run instead of text")
    args = parser.parse_args(argv)
    JSON_OUTPUT = args.json
    try:
        args.data_dir = args.data_dir.resolve()
        if not args.data_dir.is_dir():
            raise BenchmarkError(f"{args.data_dir} is not a directory; pass the DATA_DIR of an imported catalogue")
        args.model = (args.model or args.data_dir / "bot-benchmark" / "run-model" / "tthc.tar.gz").resolve()
        if not args.model.is_file():
            raise BenchmarkError(
                f"no Rasa model at {args.model}; train one for this catalogue with "
                "scripts/bot_benchmark.sh DATA_DIR FILE.jsonl, or pass --model"
            )
        if args.kill_one and args.profile != "scale-out":
            raise BenchmarkError("--kill-one needs --profile scale-out (one node has nothing to fail over to)")
        if args.rasa_workers is None:
            args.rasa_workers = load_settings().server.rasa_workers
        if not 1 <= args.rasa_workers <= 8:
            raise BenchmarkError("--rasa-workers must be between 1 and 8")
        if not 1 <= args.users <= load_test.MAX_USERS or not 10 <= args.duration <= load_test.MAX_DURATION_S:
            raise BenchmarkError(
                f"--users must be 1–{load_test.MAX_USERS} and --duration 10–{load_test.MAX_DURATION_S} s"
            )
        out = (args.out or Path(f"/tmp/proxy-bench-{time.strftime('%Y%m%d-%H%M%S')}")).resolve()
        if out.is_relative_to(REPO):
            raise BenchmarkError(f"--out {out} is inside the repository; pick a path outside it")
        pool = load_test.catalogue_pool(args.data_dir)
        out.mkdir(parents=True, exist_ok=True)
        log(f"{pool.questions} questions in {len(pool.conversations)} conversations ({pool.source}); outputs in {out}")
        run_profile(args, pool, out)
    except (BenchmarkError, SetupError, KnowledgeBaseError, ValueError) as exc:
        print(f"proxy_load_benchmark: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
