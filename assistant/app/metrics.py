"""Operations metrics of the app server in Prometheus text format (prometheus-client), served at
`/metrics` by `assistant/app/server/routers/metrics.py` to loopback and `security.metrics_allowed_networks`
only (docs/security.md).

Counted where the app server sees them:
- `tthc_action_calls_total{action,outcome,channel}`: every custom-action call Rasa makes (one per
  handled message that needs an action), with the outcome its reply states (`assistant.core.reply.ReplyOutcome`);
  refused calls count with outcome `rejected` / `unknown_action` / `domain_missing` / `failed`;
- `tthc_action_duration_seconds{action}`: the action call (search and reply composition);
- `tthc_reply_duration_seconds{channel}`: from the user message's timestamp in Rasa to the end of the
  action (NLU and policies included; both servers on one clock);
- `tthc_search_duration_seconds{source}`: catalogue searches, `chat` (the actions) and `api` (/api/search).
Read at each scrape:
- `tthc_zalo_outbox_replies{state="waiting"|"dead"}`: the Zalo connector's outbox (only when its file
  exists: the channel is or was on);
- `tthc_index_info{build,format,built_at,learned}` and `tthc_index_procedures`: the catalogue index this
  process serves (once it has opened it);
- `tthc_app_info{version,python}`.

Processes: `tthc up` runs one uvicorn process, whose counters `/metrics` shows. With several uvicorn
workers, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory (emptied at every start) in the
service's environment: the metrics are then written there by every worker and `/metrics` sums them
(prometheus-client's multiprocess mode; no per-process CPU/memory metrics then). Without it each
worker counts its own requests and a scrape sees whichever worker answered.
"""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from assistant.core import storage
from assistant.core.settings import Settings

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LABEL_VALUE = re.compile(r"[^a-z0-9_.\-]")


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


disable_created_metrics()  # no *_created series: a restart shows as a counter reset anyway

# The project's own registry (not prometheus-client's global one, which other libraries may fill).
REGISTRY = CollectorRegistry(auto_describe=True)

ACTION_CALLS = Counter(
    "tthc_action_calls",
    "Custom-action calls from Rasa, by action, outcome and channel",
    ["action", "outcome", "channel"],
    registry=REGISTRY,
)
ACTION_DURATION = Histogram(
    "tthc_action_duration_seconds",
    "Time to run a custom action (search and reply composition)",
    ["action"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
REPLY_DURATION = Histogram(
    "tthc_reply_duration_seconds",
    "From the user message reaching Rasa to the end of its custom action",
    ["channel"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SEARCH_DURATION = Histogram(
    "tthc_search_duration_seconds",
    "Catalogue search time, by caller (chat: the actions, api: /api/search)",
    ["source"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
if not multiprocess_mode():
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=REGISTRY)


def label(value: str, limit: int = 40) -> str:
    """A bounded label value: lower case, [a-z0-9_.-], at most `limit` characters ('' -> 'none')."""
    return _LABEL_VALUE.sub("_", (value or "").lower())[:limit] or "none"


def observe_action(action: str, outcome: str, channel: str, seconds: float | None, turn_ms: int | None = None) -> None:
    ACTION_CALLS.labels(label(action), label(outcome), label(channel)).inc()
    if seconds is not None:
        ACTION_DURATION.labels(label(action)).observe(seconds)
    if turn_ms is not None:
        REPLY_DURATION.labels(label(channel)).observe(turn_ms / 1000)


@contextmanager
def search_timer(source: str) -> Iterator[None]:
    """Time a catalogue search: `with search_timer("chat"): kb.search(...)`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        SEARCH_DURATION.labels(label(source)).observe(time.perf_counter() - started)


# ---- read at each scrape -------------------------------------------------------------------------


def zalo_outbox_counts(path: Path | str) -> dict[str, int] | None:
    """Waiting and dead replies in the Zalo outbox (a SQLite file, read-only, or PostgreSQL on the
    scale-out profile); None when there is no outbox."""
    if storage.is_postgres(path):
        try:
            with closing(storage.connect(path)) as connection:
                if not connection.has_table("outbox"):
                    return None
                rows = connection.execute("SELECT dead, COUNT(*) FROM outbox GROUP BY dead").fetchall()
        except storage.ERRORS:
            return None
    else:
        if not Path(path).is_file():
            return None
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)) as connection:
                rows = connection.execute("SELECT dead, COUNT(*) FROM outbox GROUP BY dead").fetchall()
        except sqlite3.Error:
            return None
    counts = {"waiting": 0, "dead": 0}
    for dead, count in rows:
        counts["dead" if dead else "waiting"] += int(count)
    return counts


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tro-ly-tthc")
    except PackageNotFoundError:
        return "unknown"


class StateCollector(Collector):
    """Gauges computed when scraped: app info, the served index, the Zalo outbox of `settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def describe(self):
        return []  # nothing to read when registered: the values exist only at a scrape

    def collect(self):
        info = GaugeMetricFamily("tthc_app_info", "The app server's version", labels=["version", "python"])
        info.add_metric([_app_version(), platform.python_version()], 1)
        yield info
        from assistant.app.knowledge_provider import provider

        kb = provider.current()  # the index this process serves; not opened by a scrape
        if kb is not None:
            manifest = kb.manifest or {}
            index = GaugeMetricFamily(
                "tthc_index_info",
                "The catalogue index this process serves",
                labels=["build", "format", "built_at", "learned"],
            )
            index.add_metric(
                [
                    Path(kb.directory).name,
                    str(manifest.get("format", "")),
                    str(manifest.get("built_at", "")),
                    str(kb.learned).lower(),
                ],
                1,
            )
            yield index
            yield GaugeMetricFamily(
                "tthc_index_procedures", "Procedures in the served index", value=len(kb.procedures())
            )
        counts = zalo_outbox_counts(self.settings.zalo_store)
        if counts is not None:
            outbox = GaugeMetricFamily("tthc_zalo_outbox_replies", "Replies in the Zalo outbox", labels=["state"])
            for state, count in counts.items():
                outbox.add_metric([state], count)
            yield outbox


def render(settings: Settings) -> bytes:
    """The metrics in Prometheus text format: the counters (all workers' in multiprocess mode), then
    the state read now for `settings` (the app's)."""
    state = CollectorRegistry(auto_describe=True)
    state.register(StateCollector(settings))
    if multiprocess_mode():
        from prometheus_client import multiprocess

        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    return generate_latest(counters) + generate_latest(state)
