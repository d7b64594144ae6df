"""A week of recorded questions and feedback with known figures, for the dashboard's API and page tests.

Days are in Vietnam time (UTC+7). Questions per day (web + Zalo): 01/11: 2 + 1, 03/11: 2 + 1, 05/11: 2 + 1,
07/11: 1 (late evening, still 07/11 in Vietnam); one row just before 01/11 (Vietnam) is outside the range. Not
questions: a choice click, a rating, small talk. Turn latencies of the questions: 400 ... 3000 ms (p50 800, p95 3000).
"""

from __future__ import annotations

from contextlib import closing
from datetime import date, datetime, timedelta, timezone

from assistant.app import conversation_log, interaction_log
from assistant.app.interaction_log import InteractionRecord

SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 7)
DAYS_WITH_QUESTIONS = [date(2026, 11, 1), date(2026, 11, 3), date(2026, 11, 5), date(2026, 11, 7)]
PHONE = "0912345678"
BIRTH, MARRIAGE, ID_CARD, BUILDING = "1.001193", "1.000894", "1.014061", "2.002000"


def at(day: date, hour: int = 10, minute: int = 0) -> str:
    """An instant of a Vietnam day as the log stores it (ISO 8601 UTC)."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone(timedelta(hours=7)))
    return local.astimezone(timezone.utc).isoformat(timespec="seconds")


def _row(
    created_at: str,
    channel: str,
    outcome: str,
    question: str,
    codes=(),
    turn_ms=None,
    action: str = "action_answer_procedure",
    sender: str = "s",
) -> InteractionRecord:
    return InteractionRecord(
        id=0,
        created_at=created_at,
        sender_id=sender,
        channel=channel,
        action=action,
        intent="ask",
        question=question,
        outcome=outcome,
        codes=list(codes),
        chosen_option=None,
        chosen_code=None,
        feedback=None,
        action_ms=50,
        turn_ms=turn_ms,
    )


def seed(db_path=None) -> None:
    d1, d3, d5, d7 = DAYS_WITH_QUESTIONS
    rows = [
        _row(at(d1), "rest", "answered", "làm giấy khai sinh cần gì", [BIRTH], 800),
        _row(at(d1, 11), "rest", "answered", "khai sinh cho con", [BIRTH], 1200),
        _row(at(d1, 12), "zalo", "answered", "làm căn cước", [ID_CARD], 2000),
        _row(at(d3), "rest", "not_in_catalogue", "xin giấy phép nuôi rồng", [], 500, "action_check_scope"),
        _row(at(d3, 11), "rest", "abstained", "Xin giay phep nuoi rong!", [], 700),
        _row(at(d3, 12), "zalo", "asked_back", "đăng ký", [BIRTH, MARRIAGE], 900),
        _row(
            at(d3, 12, 1),
            "zalo",
            "answered",
            '/choose_option{"option_index":"1"}',
            [BIRTH],
            300,
            "action_choose_option",
        ),
        _row(at(d3, 12, 2), "zalo", "feedback", "cảm ơn", [], 200, "action_store_feedback"),
        _row(at(d3, 12, 3), "zalo", "small_talk", "xin chào", [], 200, "action_small_talk"),
        _row(at(d5), "zalo", "off_topic", "thời tiết hôm nay", [], 3000, "action_check_scope"),
        _row(
            at(d5, 11),
            "rest",
            "abstained",
            f"xây nhà cần giấy gì <b>gấp</b> {PHONE}",
            [BUILDING],
            400,
            "action_default_fallback",
        ),
        _row(at(d5, 12), "rest", "handed_off", "cho gặp cán bộ", [], 600, "action_handoff"),
        _row(at(d7, 23, 30), "rest", "answered", "đăng ký kết hôn", [MARRIAGE], None),
        _row(at(SINCE - timedelta(days=1), 23, 30), "rest", "answered", "ngoài khoảng", [MARRIAGE], 99999),
    ]
    for row in rows:
        interaction_log.save(row, db_path)
    ratings = [("good", at(d1, 13)), ("good", at(d3, 13)), ("bad", at(d5, 13)), ("bad", at(UNTIL + timedelta(days=1)))]
    for rating, created_at in ratings:
        record_id = conversation_log.store_feedback("s", rating, "hỏi", "đáp", channel="rest", db_path=db_path)
        with closing(conversation_log.connect(db_path)) as connection, connection:
            connection.execute("UPDATE feedback SET created_at = ? WHERE id = ?", (created_at, record_id))
