"""Figures for the province's dashboard on the staff page (issue 14 item 4), from the interaction log
(`assistant.app.interaction_log`, table `interactions`) and the feedback store (`conversation_log`, `feedback`).

Definitions (docs/staff.md, "Dashboard"):
- a *question* is a recorded message that is not feedback, small talk or a click on an offered option
  (`action_choose_option`: the answer to an earlier question, not a new one);
- *days* are days in Vietnam time, the range inclusive;
- *top procedures*: the procedure of every answer (a chosen option's answer included);
- *top unanswered*: the groups of the staff page's "Câu hỏi chưa được trả lời" for the same days and channel
  (`assistant.app.unanswered`: declined, abstained, abandoned after an ask-back, rated bad; grouped with the
  catalogue's embedding model, or lexically when the index runs without it), largest first, so the page and
  the dashboard always agree; and the field of the first procedure offered to them, when any was;
- *feedback*: the good/bad ratings stored in the range;
- *latency*: `turn_ms` (the user message reaching Rasa to the end of the action) of the questions, p50/p95 by
  the nearest-rank method; the action alone (`action_ms`) too.

Only masked text leaves the database: questions are stored masked and are masked again on the way out.

`compute(since, until, channel=None, db_path=None, procedure_info=None) -> Dashboard`; `chart(name, dashboard)`
returns one chart as an SVG document (`assistant.app.svg_charts`).
"""

from __future__ import annotations

import json
import math
import threading
import time
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from assistant.app import conversation_log, interaction_log, svg_charts, unanswered
from assistant.core.privacy import mask_pii

MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP = 10
NOT_QUESTIONS = ("feedback", "small_talk")
OUTCOME_LABELS = {
    "answered": "Trả lời được",
    "asked_back": "Hỏi lại để chọn thủ tục",
    "not_in_catalogue": "Từ chối: thủ tục không có trong danh mục",
    "off_topic": "Từ chối: không phải câu hỏi thủ tục",
    "abstained": "Không tìm được thủ tục phù hợp",
    "handed_off": "Chuyển cán bộ",
    "dossier_tracking": "Tra cứu hồ sơ",
    "unavailable": "Danh mục tạm thời không dùng được",
    "other": "Khác",
}
OUTCOME_COLORS = {
    "answered": "#1e8e3e",
    "asked_back": "#f29900",
    "not_in_catalogue": "#c5221f",
    "off_topic": "#a142f4",
    "abstained": "#d93025",
    "handed_off": "#1a73e8",
    "dossier_tracking": "#12b5cb",
    "unavailable": "#5f6368",
    "other": "#9aa0a6",
}
CHANNEL_LABELS = {"rest": "Trang web", "zalo": "Zalo"}
CHANNEL_COLORS = ["#2a6fdb", "#0f9d58", "#f29900", "#a142f4", "#5f6368"]
CHARTS = {
    "questions-per-day": "Số câu hỏi mỗi ngày theo kênh",
    "outcomes": "Kết quả trả lời (tỉ lệ trên tổng số câu hỏi)",
    "top-procedures": "Thủ tục được hỏi nhiều nhất",
    "top-unanswered": "Câu hỏi chưa được trả lời nhiều nhất",
    "feedback": "Đánh giá của người dân",
    "latency": "Thời gian trả lời mỗi ngày (giây)",
}


class RangeError(ValueError):
    """A date range the dashboard does not draw; str() names the fix (Vietnamese, for the staff page)."""


@dataclass(frozen=True)
class Dashboard:
    since: str  # ISO date, Vietnam time, inclusive
    until: str
    channel: str | None
    questions: int
    channels: list[dict]  # [{"channel", "label", "count"}], most first
    per_day: list[dict]  # [{"day", "total", "by_channel": {channel: n}}] for every day of the range
    outcomes: list[dict]  # [{"outcome", "label", "count", "share"}]
    top_procedures: list[dict]  # [{"code", "title", "count"}]
    top_unanswered: list[dict]  # [{"question", "count", "reason"}]: unanswered.Group, largest first
    unanswered_fields: list[dict]  # [{"field", "count"}]
    feedback: dict  # {"good", "bad", "good_share"}
    latency: dict  # {"turn_p50_ms", "turn_p95_ms", "turns", "action_p50_ms", "action_p95_ms"}
    latency_per_day: list[dict] = field(default_factory=list)  # [{"day", "p50_ms", "p95_ms", "turns"}]

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def days(self) -> list[date]:
        return [date.fromisoformat(row["day"]) for row in self.per_day]


def default_range(today: date | None = None) -> tuple[date, date]:
    until = today or datetime.now(interaction_log.VIETNAM_TIME).date()
    return until - timedelta(days=DEFAULT_DAYS - 1), until


def check_range(since: date | None, until: date | None, today: date | None = None) -> tuple[date, date]:
    """The range to show: the last DEFAULT_DAYS days unless given; RangeError when it is backwards or too long."""
    default_since, default_until = default_range(today)
    if until is None:
        until = default_until if since is None or since <= default_until else since
    if since is None:
        since = until - timedelta(days=DEFAULT_DAYS - 1) if until.toordinal() > DEFAULT_DAYS else date.min
    if since > until:
        raise RangeError(f"Ngày bắt đầu {since:%d/%m/%Y} sau ngày kết thúc {until:%d/%m/%Y}: vui lòng đổi lại.")
    if (until - since).days + 1 > MAX_DAYS:
        raise RangeError(f"Khoảng thời gian dài {(until - since).days + 1} ngày: vui lòng chọn tối đa {MAX_DAYS} ngày.")
    return since, until


def _utc_bound(day: date) -> str:
    """The start of a Vietnam day as the log's ISO UTC text ("9" past year 9999: after every row)."""
    try:
        moment = datetime(day.year, day.month, day.day, tzinfo=interaction_log.VIETNAM_TIME)
        return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return "9" if day.year > 1 else "0"


def _next_day(day: date) -> date | None:
    return None if day == date.max else day + timedelta(days=1)


def percentile(values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile (p50 = fraction 0.5); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    """The TOP largest, ties in name order (the same figures always list the same way)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]


def compute(
    since: date | None = None,
    until: date | None = None,
    channel: str | None = None,
    db_path: Path | None = None,
    procedure_info: Callable[[str], tuple[str, str] | None] | None = None,
    today: date | None = None,
    kb=None,
) -> Dashboard:
    """The dashboard's figures. `procedure_info(code) -> (title, field)` names procedures (None: code only);
    `kb`: the knowledge base whose embedding model groups the unanswered questions (None: lexical grouping)."""
    since, until = check_range(since, until, today)
    lower = _utc_bound(since)
    after = _next_day(until)
    upper = _utc_bound(after) if after else "9"
    where = "created_at >= ? AND created_at < ?" + (" AND channel = ?" if channel else "")
    parameters = (lower, upper, *([channel] if channel else []))
    question_rows = f"{where} AND outcome NOT IN ('feedback', 'small_talk') AND action != 'action_choose_option'"
    # Aggregated in SQL (portable: SQLite and PostgreSQL) by UTC hour; Vietnam is UTC+7 all year, so an hour
    # belongs to one Vietnam day. Only the latencies come back row by row (for the percentiles).
    with closing(conversation_log.connect(db_path, interaction_log._SCHEMA)) as connection:
        by_hour = connection.execute(
            f"SELECT substr(created_at, 1, 13), channel, outcome, COUNT(*) FROM interactions WHERE {question_rows} "
            "GROUP BY substr(created_at, 1, 13), channel, outcome",
            parameters,
        ).fetchall()
        answered = connection.execute(
            f"SELECT codes, COUNT(*) FROM interactions WHERE {where} AND outcome = 'answered' GROUP BY codes",
            parameters,
        ).fetchall()
        timings = connection.execute(
            f"SELECT substr(created_at, 1, 13), action_ms, turn_ms FROM interactions WHERE {question_rows}", parameters
        ).fetchall()
    with closing(conversation_log.connect(db_path)) as connection:
        ratings = dict(
            connection.execute(
                f"SELECT rating, COUNT(*) FROM feedback WHERE {where} GROUP BY rating", parameters
            ).fetchall()
        )

    days = [since + timedelta(days=offset) for offset in range((until - since).days + 1)]
    # The UTC start of every day as the log writes it: an hour's day is found by comparing text.
    starts = [_utc_bound(day)[:13] for day in days]

    def day_of(hour: str) -> date | None:
        index = bisect_right(starts, hour) - 1
        return days[index] if index >= 0 else None

    per_day: dict[date, Counter] = {day: Counter() for day in days}
    channel_counts: Counter = Counter()
    outcomes: Counter = Counter()
    for hour, row_channel, outcome, count in by_hour:
        day = day_of(hour)
        if day is not None:
            per_day[day][row_channel] += count
            channel_counts[row_channel] += count
            outcomes[outcome] += count

    info_cache: dict[str, tuple[str, str] | None] = {}

    def info(code: str) -> tuple[str, str] | None:
        if code not in info_cache:
            try:
                info_cache[code] = procedure_info(code) if procedure_info else None
            except Exception:  # a missing or reloading catalogue only costs the names
                info_cache[code] = None
        return info_cache[code]

    procedures: Counter = Counter()
    for codes, count in answered:
        first = json.loads(codes or "[]")[:1]
        if first:
            procedures[first[0]] += count

    # The staff page's unanswered questions for the same days and channel, grouped the same way.
    not_answered = unanswered.collect(since, until, channel, db_path=db_path)
    groups = unanswered.group(not_answered, kb, db_path)[:TOP]
    fields: Counter = Counter()
    for occurrence in not_answered:
        found = info(occurrence.codes[0]) if occurrence.codes else None
        if found and found[1]:
            fields[found[1]] += 1

    turns: list[int] = []
    actions: list[int] = []
    turns_by_day: dict[date, list[int]] = defaultdict(list)
    for hour, action_ms, turn_ms in timings:
        actions.append(int(action_ms))
        if turn_ms is not None:
            turns.append(int(turn_ms))
            day = day_of(hour)
            if day is not None:
                turns_by_day[day].append(int(turn_ms))

    questions = sum(outcomes.values())
    good, bad = int(ratings.get("good", 0)), int(ratings.get("bad", 0))
    return Dashboard(
        since=since.isoformat(),
        until=until.isoformat(),
        channel=channel,
        questions=questions,
        channels=[
            {"channel": name, "label": CHANNEL_LABELS.get(name, name or "không rõ"), "count": count}
            for name, count in channel_counts.most_common()
        ],
        per_day=[
            {"day": day.isoformat(), "total": sum(counts.values()), "by_channel": dict(counts)}
            for day, counts in per_day.items()
        ],
        outcomes=[
            {
                "outcome": name,
                "label": OUTCOME_LABELS.get(name, name),
                "count": outcomes[name],
                "share": round(outcomes[name] / questions, 4),
            }
            for name in interaction_log.OUTCOMES
            if outcomes[name]
        ],
        top_procedures=[
            {"code": code, "title": (info(code) or ("", ""))[0], "count": count} for code, count in _ranked(procedures)
        ],
        top_unanswered=[
            {"question": mask_pii(g.question), "count": g.count, "reason": next(iter(g.reasons))} for g in groups
        ],
        unanswered_fields=[{"field": name, "count": count} for name, count in _ranked(fields)],
        feedback={"good": good, "bad": bad, "good_share": round(good / (good + bad), 4) if good + bad else None},
        latency={
            "turn_p50_ms": percentile(turns, 0.5),
            "turn_p95_ms": percentile(turns, 0.95),
            "turns": len(turns),
            "action_p50_ms": percentile(actions, 0.5),
            "action_p95_ms": percentile(actions, 0.95),
        },
        latency_per_day=[
            {
                "day": day.isoformat(),
                "p50_ms": percentile(values, 0.5),
                "p95_ms": percentile(values, 0.95),
                "turns": len(values),
            }
            for day, values in sorted(turns_by_day.items())
        ],
    )


_cache: dict[tuple, tuple[float, Dashboard]] = {}
_cache_lock = threading.Lock()
CACHE_SECONDS = 300
CACHE_ENTRIES = 16


def compute_cached(
    since: date | None = None,
    until: date | None = None,
    channel: str | None = None,
    db_path: Path | None = None,
    procedure_info: Callable[[str], tuple[str, str] | None] | None = None,
    kb=None,
) -> Dashboard:
    """compute(), kept while nothing new is recorded (a page asks for the figures and six charts of one range:
    one computation). The key holds the newest interaction and feedback ids and the knowledge base (its model
    groups the unanswered questions), so a new row or a reloaded index means new figures; a purge (rows
    deleted) shows after CACHE_SECONDS at most."""
    since, until = check_range(since, until)
    with closing(conversation_log.connect(db_path, interaction_log._SCHEMA)) as connection:
        newest = (
            connection.execute("SELECT MAX(id) FROM interactions").fetchone()[0],
            connection.execute("SELECT MAX(id) FROM feedback").fetchone()[0]
            if connection.has_table("feedback")
            else None,
        )
    key = (str(db_path or conversation_log.default_db_path()), since, until, channel, newest, id(kb))
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    figures = compute(since, until, channel, db_path, procedure_info, kb=kb)
    with _cache_lock:
        for stale in [k for k, (stamp, _) in _cache.items() if now - stamp >= CACHE_SECONDS or k[:4] == key[:4]]:
            del _cache[stale]
        while len(_cache) >= CACHE_ENTRIES:
            del _cache[min(_cache, key=lambda k: _cache[k][0])]
        _cache[key] = (now, figures)
    return figures


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f}".replace(".", ",") + " s"


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def chart(name: str, dashboard: Dashboard) -> str:
    """One chart of the dashboard as an SVG document; KeyError for an unknown name."""
    title = CHARTS[name]
    if name == "questions-per-day":
        names = [row["channel"] for row in dashboard.channels]
        series = {
            channel: {date.fromisoformat(row["day"]): row["by_channel"].get(channel, 0) for row in dashboard.per_day}
            for channel in names
        }
        labels = {row["channel"]: row["label"] for row in dashboard.channels}
        colors = {channel: CHANNEL_COLORS[index % len(CHANNEL_COLORS)] for index, channel in enumerate(names)}
        return svg_charts.stacked_day_bars(dashboard.days, series, labels, colors, title)
    if name == "outcomes":
        return svg_charts.horizontal_bars(
            [(row["label"], row["share"]) for row in dashboard.outcomes], title, value_label=_percent
        )
    if name == "top-procedures":
        return svg_charts.horizontal_bars(
            [
                (f"{row['title'] or row['code']}" + (f" ({row['code']})" if row["title"] else ""), row["count"])
                for row in dashboard.top_procedures
            ],
            title,
            color="#1e8e3e",
        )
    if name == "top-unanswered":
        return svg_charts.horizontal_bars(
            [(row["question"], row["count"]) for row in dashboard.top_unanswered], title, color="#d93025"
        )
    if name == "feedback":
        rated = dashboard.feedback["good"] + dashboard.feedback["bad"]
        if not rated:
            return svg_charts.empty(title, "Chưa có đánh giá nào trong khoảng thời gian này.")
        return svg_charts.horizontal_bars(
            [("Hài lòng", dashboard.feedback["good"] / rated), ("Chưa hài lòng", dashboard.feedback["bad"] / rated)],
            title,
            color="#1a73e8",
            value_label=_percent,
        )
    if name == "latency":
        series = {
            "p50": {date.fromisoformat(row["day"]): row["p50_ms"] for row in dashboard.latency_per_day},
            "p95": {date.fromisoformat(row["day"]): row["p95_ms"] for row in dashboard.latency_per_day},
        }
        return svg_charts.day_lines(
            dashboard.days,
            series,
            {"p50": "Trung vị (p50)", "p95": "p95"},
            {"p50": "#1a73e8", "p95": "#d93025"},
            title,
            unit=_seconds,
        )
    raise KeyError(name)
