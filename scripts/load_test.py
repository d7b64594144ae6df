#!/usr/bin/env python3
"""Bounded local load test of the chat path: N simulated citizens talk to Rasa's REST webhook.

Each user holds its own conversation (own sender id) and loops for the duration: a procedure
question, a follow-up that relies on context, another procedure, with an optional think time
between messages. Every run talks as new citizens (sender ids carry a run id), so an earlier run's
long conversations do not slow this one. Prints throughput, reply-time percentiles and errors
(HTTP errors, timeouts, empty replies, and the channel's apology for a turn the bot could not
answer: both are failures for a citizen).

    .venv/bin/python scripts/load_test.py                     # 50 users, 60 s, 1 s think, http://127.0.0.1:5005
    .venv/bin/python scripts/load_test.py --users 10 --duration 20 --json

Only loopback targets are accepted (127.0.0.1, localhost, ::1): this tool must not be pointed at
somebody else's server. Users ≤ 500, duration ≤ 600 s.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from connectors.fallback_replies import SILENCE_REPLY  # noqa: E402

WEBHOOK_PATH = "/webhooks/rest/webhook"
MAX_USERS = 500
MAX_DURATION_S = 600

# A short conversation every simulated citizen repeats: ask, follow up on the same procedure, switch.
SCRIPT = (
    "làm căn cước cần giấy tờ gì",
    "còn lệ phí thì sao?",
    "dang ky khai sinh cho con o dau",
    "mất bao lâu",
    "xin lý lịch tư pháp nộp online được không",
    "cảm ơn",
)


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    http_errors: int = 0
    timeouts: int = 0
    connection_errors: int = 0
    empty_replies: int = 0
    apology_replies: int = 0

    @property
    def errors(self) -> int:
        return self.http_errors + self.timeouts + self.connection_errors + self.empty_replies + self.apology_replies


def loopback_only(url: str) -> str:
    """The base URL if its host is loopback; otherwise raise ValueError naming the fix."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must look like http://127.0.0.1:5005, got {url!r}")
    host = parts.hostname
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError
        except ValueError:
            raise ValueError(f"refusing to load-test {host}: only 127.0.0.1, localhost or ::1 are allowed") from None
    return url.rstrip("/")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(share * len(ordered))  # nearest-rank definition
    return ordered[min(len(ordered), max(1, rank)) - 1]


async def simulated_user(client: httpx.AsyncClient, url: str, sender: str, deadline: float,
                         think_s: float, results: Results) -> None:
    turn = 0
    while time.monotonic() < deadline:
        message = SCRIPT[turn % len(SCRIPT)]
        turn += 1
        started = time.perf_counter()
        try:
            response = await client.post(url, json={"sender": sender, "message": message})
        except httpx.TimeoutException:
            results.timeouts += 1
            continue
        except httpx.TransportError:
            results.connection_errors += 1
            await asyncio.sleep(0.5)  # server down: don't spin
            continue
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            results.http_errors += 1
        else:
            try:
                replies = response.json()
            except ValueError:
                replies = None
            if not replies:
                results.empty_replies += 1
            elif any(isinstance(reply, dict) and reply.get("text") == SILENCE_REPLY for reply in replies):
                results.apology_replies += 1
            results.latencies_ms.append(elapsed_ms)
        if think_s:
            await asyncio.sleep(think_s)


async def run(url: str, users: int, duration_s: float, think_s: float, timeout_s: float) -> tuple[Results, float]:
    results = Results()
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:
        started = time.monotonic()
        deadline = started + duration_s
        run_id = uuid.uuid4().hex[:8]
        await asyncio.gather(*(simulated_user(client, url + WEBHOOK_PATH, f"loadtest-{run_id}-{user}", deadline,
                                              think_s, results)
                               for user in range(users)))
        wall_s = time.monotonic() - started
    return results, wall_s


def summary(results: Results, wall_s: float, users: int, url: str) -> dict:
    latencies = results.latencies_ms
    return {
        "url": url, "users": users, "wall_s": round(wall_s, 1),
        "replies": len(latencies),
        "throughput_rps": round(len(latencies) / wall_s, 1) if wall_s else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else float("nan"),
        "max_ms": round(max(latencies), 1) if latencies else float("nan"),
        "errors": results.errors, "http_errors": results.http_errors, "timeouts": results.timeouts,
        "connection_errors": results.connection_errors, "empty_replies": results.empty_replies,
        "apology_replies": results.apology_replies,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="Rasa server base URL (loopback only)")
    parser.add_argument("--users", type=int, default=50, help=f"concurrent simulated users (1–{MAX_USERS})")
    parser.add_argument("--duration", type=float, default=60, help=f"seconds (1–{MAX_DURATION_S})")
    # A citizen reads the reply before typing again; faster than one message a second per sender
    # would also trip the chat channel's per-sender rate limit (connectors/guarded_rest.py).
    parser.add_argument("--think", type=float, default=1.0, help="seconds each user waits after a reply (default 1)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a reply counts as a timeout")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    try:
        url = loopback_only(args.url)
        if not 1 <= args.users <= MAX_USERS:
            raise ValueError(f"--users must be between 1 and {MAX_USERS}")
        if not 1 <= args.duration <= MAX_DURATION_S:
            raise ValueError(f"--duration must be between 1 and {MAX_DURATION_S} seconds")
    except ValueError as exc:
        print(f"load_test: error: {exc}", file=sys.stderr)
        return 2
    try:
        httpx.get(url + "/", timeout=5)
    except httpx.TransportError:
        print(f"load_test: error: nothing answers at {url}; start the stack first (tthc up)", file=sys.stderr)
        return 2
    results, wall_s = asyncio.run(run(url, args.users, args.duration, args.think, args.timeout))
    report = summary(results, wall_s, args.users, url)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['users']} users for {report['wall_s']} s against {url}{WEBHOOK_PATH}")
        print(f"replies {report['replies']}  throughput {report['throughput_rps']} replies/s")
        print(f"reply time over the {report['replies']} completed replies (timeouts excluded): "
              f"p50 {report['p50_ms']} ms  p95 {report['p95_ms']} ms  p99 {report['p99_ms']} ms  max {report['max_ms']} ms")
        print(f"errors {report['errors']} (http {report['http_errors']}, timeouts {report['timeouts']}, "
              f"connection {report['connection_errors']}, empty replies {report['empty_replies']}, "
              f"apologies instead of answers {report['apology_replies']})")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
