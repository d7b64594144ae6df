#!/usr/bin/env python3
"""Bounded local load test of the chat path: N simulated citizens talk to Rasa's REST webhook.

Each simulated user holds one conversation after another, each as a **new citizen** (its own sender
id): a question drawn from a large pool, then follow-ups about the same procedure (other aspects of
it), with a think time (default 1 s) after each reply. No question is asked twice in a run while the
pool lasts, because repeated questions flatter the figures (caches, the same answer path).

The pool (one of):
- `--catalogue DATA_DIR` (default: the settings' catalog.data_dir): questions generated from the
  imported catalogue's records by `knowledge_base.questions.generate`, the generator the ranking is
  trained with, but with another seed than the training's, so the questions are not its examples;
- `--questions FILE.jsonl`: a question file of the team (e.g. knowledge_base/devset/dev.jsonl),
  grouped into conversations by gold procedure. Files under ../shared are refused: those are
  evaluation data, never load-test input.

Prints throughput, reply-time percentiles, errors (HTTP errors, timeouts, empty replies, and the
channel's apology for a turn the bot could not answer: both are failures for a citizen), and the
machine-speed calibration and load average beside them, so runs on different machines compare.

Like the web chat widget (connectors/webchat/static/widget.js), a message that gets 502 or 503 (the proxy:
the Rasa server died under it, or none could take it) is sent once more after 1 s; such turns are counted
apart ("proxy errors resent", and how many the resend answered), never hidden; `--no-resend` turns it off.

    .venv/bin/python scripts/load_test.py                     # 50 users, 60 s, 1 s think, http://127.0.0.1:5005
    .venv/bin/python scripts/load_test.py --users 10 --duration 20 --json
    .venv/bin/python scripts/load_test.py --url https://127.0.0.1:8443 --cafile cert.pem   # through nginx

Only loopback targets are accepted (127.0.0.1, localhost, ::1): this tool must not be pointed at
somebody else's server. Users ≤ 500, duration ≤ 600 s. Against an IPv4 loopback URL each simulated
user connects from its own loopback address (127.0.0.2, 127.0.0.3, ...), as citizens come from their
own addresses: a proxy's per-address limit then applies per citizen, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import os
import random
import ssl
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from connectors.fallback_replies import SILENCE_REPLY  # noqa: E402
from knowledge_base.errors import KnowledgeBaseError  # noqa: E402

WEBHOOK_PATH = "/webhooks/rest/webhook"
MAX_USERS = 500
MAX_DURATION_S = 600
# The ranking is trained on questions generated with knowledge_base.training.SEED (13); the load asks others.
LOAD_SEED = 2026
QUESTIONS_PER_RECORD = 4  # one conversation per record: its question and follow-ups on other aspects
SHARED_DATA = (REPO.parent / "shared").resolve()
# Loopback source addresses for the simulated users (127.0.0.1 stays free for everything else).
FIRST_SOURCE, SOURCES = 2, 250

# Outcomes of one turn; every one but "ok" is an error for the citizen.
OUTCOMES = ("ok", "http_error", "timeout", "connection_error", "empty_reply", "apology_reply")
# What the web chat widget sends once more, after RESEND_DELAY_S (connectors/webchat/static/widget.js).
RESEND_STATUSES, RESEND_DELAY_S = (502, 503), 1.0


@dataclass
class Turn:
    sent_s: float  # when the message was sent, seconds since the run started
    outcome: str  # one of OUTCOMES
    status: int = 0  # HTTP status (0: no response)
    done_s: float = 0.0  # when the answer (or the failure) came
    first_status: int = 0  # a proxy error (502/503) of the first try when the message was resent, else 0


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    http_errors: int = 0
    timeouts: int = 0
    connection_errors: int = 0
    empty_replies: int = 0
    apology_replies: int = 0
    resent: int = 0  # turns whose first try got 502/503 from the proxy and that were sent once more
    answered_on_resend: int = 0  # of those, answered by the resend
    # sender id -> its turns, in order: what a benchmark checks against the tracker store
    conversations: dict[str, list[Turn]] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)

    @property
    def errors(self) -> int:
        return self.http_errors + self.timeouts + self.connection_errors + self.empty_replies + self.apology_replies

    def record(self, sender: str, turn: Turn) -> None:
        self.conversations.setdefault(sender, []).append(turn)
        if turn.first_status:
            self.resent += 1
            self.answered_on_resend += turn.outcome == "ok"
        if turn.outcome != "ok":
            attribute = {
                "http_error": "http_errors",
                "timeout": "timeouts",
                "connection_error": "connection_errors",
                "empty_reply": "empty_replies",
                "apology_reply": "apology_replies",
            }[turn.outcome]
            setattr(self, attribute, getattr(self, attribute) + 1)


# ---- the question pool ------------------------------------------------------------------------------


class QuestionPool:
    """Conversations (lists of questions about one procedure), handed out in a shuffled order and
    reshuffled only when every one has been used."""

    def __init__(self, conversations: list[list[str]], source: str, seed: int = LOAD_SEED) -> None:
        self.conversations = [c for c in conversations if c]
        if not self.conversations:
            raise ValueError(f"{source} gives no question to ask")
        self.source = source
        self.questions = sum(len(c) for c in self.conversations)
        self._rng = random.Random(seed)
        self._order: list[int] = []

    def next_conversation(self, turns: int) -> list[str]:
        """The next conversation's questions: one procedure's, topped up from the next ones."""
        questions: list[str] = []
        while len(questions) < turns:
            if not self._order:
                self._order = list(range(len(self.conversations)))
                self._rng.shuffle(self._order)
            questions.extend(self.conversations[self._order.pop()][: turns - len(questions)])
        return questions


def catalogue_pool(data_dir: Path, seed: int = LOAD_SEED) -> QuestionPool:
    """Questions generated from the records of the catalogue imported in `data_dir`, grouped by record."""
    from knowledge_base.questions import generate
    from knowledge_base.store import indexed_procedures

    by_record: dict[str, list[str]] = {}
    for question in generate(indexed_procedures(data_dir), per_record=QUESTIONS_PER_RECORD, seed=seed):
        by_record.setdefault(question.code, []).append(question.text)
    return QuestionPool(list(by_record.values()), f"questions generated from the catalogue in {data_dir}", seed)


def file_pool(path: Path, seed: int = LOAD_SEED) -> QuestionPool:
    """The questions of a team question file, grouped by their first gold procedure (no gold: alone)."""
    from knowledge_base.evaluation import read_questions

    resolved = Path(path).resolve()
    if resolved.is_relative_to(SHARED_DATA):
        raise ValueError(
            f"{path} is shared evaluation data, never load-test input; use --catalogue DATA_DIR "
            "or a file of knowledge_base/devset/"
        )
    groups: dict[str, list[str]] = {}
    for question in read_questions(resolved):
        key = question.gold[0] if question.gold else f"no-gold:{question.id}"
        groups.setdefault(key, []).append(question.question)
    return QuestionPool(list(groups.values()), f"{path} ({sum(map(len, groups.values()))} questions)", seed)


# ---- the load ---------------------------------------------------------------------------------------


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


def source_addresses(url: str) -> Iterator[str | None]:
    """Each user's own loopback source address when the target is IPv4 loopback; else the default."""
    host = urlsplit(url).hostname or ""
    try:
        ipv4_loopback = ipaddress.ip_address(host).version == 4
    except ValueError:
        ipv4_loopback = False
    user = 0
    while True:
        yield f"127.0.0.{FIRST_SOURCE + user % SOURCES}" if ipv4_loopback else None
        user += 1


def tls_verification(cafile: str | None) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=cafile) if cafile else True


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(share * len(ordered))  # nearest-rank definition
    return ordered[min(len(ordered), max(1, rank)) - 1]


def classify(response: httpx.Response) -> str:
    if response.status_code >= 400:
        return "http_error"
    try:
        replies = response.json()
    except ValueError:
        replies = None
    if not replies:
        return "empty_reply"
    if any(isinstance(reply, dict) and reply.get("text") == SILENCE_REPLY for reply in replies):
        return "apology_reply"
    return "ok"


async def simulated_user(
    client: httpx.AsyncClient,
    url: str,
    run_id: str,
    user: int,
    pool: QuestionPool,
    turns: int,
    started: float,
    deadline: float,
    think_s: float,
    results: Results,
    resend: bool = True,
) -> None:
    conversation = 0
    while time.monotonic() < deadline:
        sender = f"loadtest-{run_id}-{user}-{conversation}"  # a new citizen for every conversation
        conversation += 1
        for message in pool.next_conversation(turns):
            if time.monotonic() >= deadline:
                return
            results.asked.add(message)
            sent = time.monotonic()
            sent_s = round(sent - started, 3)
            first_status = 0
            try:
                response = await client.post(url, json={"sender": sender, "message": message})
                if resend and response.status_code in RESEND_STATUSES:
                    first_status = response.status_code
                    await asyncio.sleep(RESEND_DELAY_S)
                    response = await client.post(url, json={"sender": sender, "message": message})
            except httpx.TimeoutException:
                turn = Turn(sent_s, "timeout", done_s=round(time.monotonic() - started, 3), first_status=first_status)
                results.record(sender, turn)
                continue
            except httpx.TransportError:
                done_s = round(time.monotonic() - started, 3)
                results.record(sender, Turn(sent_s, "connection_error", done_s=done_s, first_status=first_status))
                await asyncio.sleep(0.5)  # server down: don't spin
                continue
            done = time.monotonic()
            elapsed_ms = (done - sent) * 1000
            outcome = classify(response)
            results.record(sender, Turn(sent_s, outcome, response.status_code, round(done - started, 3), first_status))
            if response.status_code < 400:
                results.latencies_ms.append(elapsed_ms)
            if think_s:
                await asyncio.sleep(think_s)


async def run(
    url: str,
    users: int,
    duration_s: float,
    think_s: float,
    timeout_s: float,
    pool: QuestionPool,
    turns: int = 3,
    cafile: str | None = None,
    resend: bool = True,
) -> tuple[Results, float]:
    results = Results()
    verify = tls_verification(cafile)
    sources = source_addresses(url)
    clients = [
        httpx.AsyncClient(
            timeout=timeout_s,
            transport=httpx.AsyncHTTPTransport(
                local_address=next(sources), verify=verify, limits=httpx.Limits(max_connections=1)
            ),
        )
        for _ in range(users)
    ]
    try:
        started = time.monotonic()
        deadline = started + duration_s
        run_id = uuid.uuid4().hex[:8]
        await asyncio.gather(
            *(
                simulated_user(
                    clients[user],
                    url + WEBHOOK_PATH,
                    run_id,
                    user,
                    pool,
                    turns,
                    started,
                    deadline,
                    think_s,
                    results,
                    resend,
                )
                for user in range(users)
            )
        )
        wall_s = time.monotonic() - started
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return results, wall_s


def machine_state() -> dict:
    """The machine-speed calibration (knowledge_base.evaluation) and the 1-minute load average."""
    from knowledge_base.evaluation import machine_calibration_seconds

    return {"calibration_s": machine_calibration_seconds(), "load_average_1m": round(os.getloadavg()[0], 2)}


def summary(results: Results, wall_s: float, users: int, url: str) -> dict:
    latencies = results.latencies_ms
    return {
        "url": url,
        "users": users,
        "wall_s": round(wall_s, 1),
        "replies": len(latencies),
        "throughput_rps": round(len(latencies) / wall_s, 1) if wall_s else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else float("nan"),
        "max_ms": round(max(latencies), 1) if latencies else float("nan"),
        "errors": results.errors,
        "http_errors": results.http_errors,
        "timeouts": results.timeouts,
        "connection_errors": results.connection_errors,
        "empty_replies": results.empty_replies,
        "apology_replies": results.apology_replies,
        "proxy_errors_resent": results.resent,
        "answered_on_resend": results.answered_on_resend,
        "conversations": len(results.conversations),
        "distinct_questions": len(results.asked),
    }


def print_report(report: dict, url: str) -> None:
    print(f"{report['users']} users for {report['wall_s']} s against {url}{WEBHOOK_PATH}")
    print(
        f"questions: {report['question_pool']}; {report['conversations']} conversations (a new citizen each), "
        f"{report['distinct_questions']} distinct questions asked"
    )
    print(f"replies {report['replies']}  throughput {report['throughput_rps']} replies/s")
    print(
        f"reply time over the {report['replies']} completed replies (timeouts excluded): "
        f"p50 {report['p50_ms']} ms  p95 {report['p95_ms']} ms  p99 {report['p99_ms']} ms  max {report['max_ms']} ms"
    )
    print(
        f"errors {report['errors']} (http {report['http_errors']}, timeouts {report['timeouts']}, "
        f"connection {report['connection_errors']}, empty replies {report['empty_replies']}, "
        f"apologies instead of answers {report['apology_replies']})"
    )
    print(
        f"proxy errors (502/503) resent once as the widget does: {report['proxy_errors_resent']}, "
        f"answered on the resend {report['answered_on_resend']} (not in the errors above)"
    )
    print(
        f"calibration_s {report['calibration_s']}  load average (1 min) before {report['load_average_1m']}, "
        f"after {report['load_average_1m_after']}"
    )


def question_pool(args: argparse.Namespace) -> QuestionPool:
    if args.questions:
        return file_pool(args.questions)
    data_dir = args.catalogue
    if data_dir is None:
        from assistant.core.settings import get_settings

        data_dir = get_settings().data_dir
    return catalogue_pool(data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default="http://127.0.0.1:5005",
        help="Rasa server, or the proxy in front of it, base URL (loopback only)",
    )
    parser.add_argument("--cafile", help="certificate to trust for an https --url (a proxy's self-signed one)")
    parser.add_argument("--users", type=int, default=50, help=f"concurrent simulated users (1–{MAX_USERS})")
    parser.add_argument("--duration", type=float, default=60, help=f"seconds (1–{MAX_DURATION_S})")
    # A citizen reads the reply before typing again; faster than one message a second per sender
    # would also trip the chat channel's per-sender rate limit (connectors/guarded_rest.py).
    parser.add_argument("--think", type=float, default=1.0, help="seconds each user waits after a reply (default 1)")
    parser.add_argument(
        "--turns", type=int, default=3, help="messages per conversation (default 3: a question, two follow-ups)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a reply counts as a timeout")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--catalogue",
        type=Path,
        metavar="DATA_DIR",
        help="generate the questions from the catalogue imported there (default: catalog.data_dir)",
    )
    source.add_argument("--questions", type=Path, metavar="FILE.jsonl", help="ask the questions of this file instead")
    parser.add_argument(
        "--no-resend",
        dest="resend",
        action="store_false",
        help="do not send a message once more after a proxy's 502/503 (the web chat widget does)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    try:
        url = loopback_only(args.url)
        if not 1 <= args.users <= MAX_USERS:
            raise ValueError(f"--users must be between 1 and {MAX_USERS}")
        if not 1 <= args.duration <= MAX_DURATION_S:
            raise ValueError(f"--duration must be between 1 and {MAX_DURATION_S} seconds")
        if not 1 <= args.turns <= 20:
            raise ValueError("--turns must be between 1 and 20")
        if args.cafile and not Path(args.cafile).is_file():
            raise ValueError(f"--cafile {args.cafile} is not a file; pass the proxy's certificate (PEM)")
        pool = question_pool(args)
    except (ValueError, KnowledgeBaseError) as exc:
        print(f"load_test: error: {exc}", file=sys.stderr)
        return 2
    try:
        httpx.get(url + "/", timeout=5, verify=tls_verification(args.cafile))
    except httpx.TransportError as exc:
        print(
            f"load_test: error: nothing answers at {url} ({type(exc).__name__}); start the stack first (tthc up)",
            file=sys.stderr,
        )
        return 2
    before = machine_state()
    results, wall_s = asyncio.run(
        run(url, args.users, args.duration, args.think, args.timeout, pool, args.turns, args.cafile, args.resend)
    )
    report = {
        **summary(results, wall_s, args.users, url),
        "question_pool": pool.source,
        **before,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_report(report, url)
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
