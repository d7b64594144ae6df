"""PII masking and the SQLite hand-off/feedback log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from assistant.app import conversation_log
from assistant.core.privacy import mask_pii


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CCCD 079203001234 ạ", "CCCD [số CCCD đã ẩn] ạ"),
        ("cmnd cũ 212345678", "cmnd cũ [số CMND đã ẩn]"),
        ("gọi em 0912.345.678 nhé", "gọi em [SĐT đã ẩn] nhé"),
        ("sđt +84 912 345 678", "sđt [SĐT đã ẩn]"),
        ("bàn 0276 3822 111", "bàn [SĐT đã ẩn]"),
    ],
)
def test_identity_and_phone_numbers_are_masked(text, expected):
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "lệ phí 100000 đồng",
        "ngày 12/03/2025",
        "mã hồ sơ 000.00.12.H59-250101-0001",
        "mã thủ tục 1.001193",
        "trẻ 14 tuổi",
    ],
)
def test_other_numbers_are_kept(text):
    assert mask_pii(text) == text


def test_log_round_trip_masks_and_lists_newest_first(tmp_path):
    db = tmp_path / "app.db"
    conversation_log.flag_handoff("u1", "zalo", [{"sender": "user", "text": "sđt 0912345678"}], db_path=db)
    conversation_log.flag_handoff("u2", "rest", [{"sender": "user", "text": "xin gặp cán bộ"}], db_path=db)
    first, second = conversation_log.list_handoffs(db_path=db)
    assert (first.sender_id, second.sender_id) == ("u2", "u1")
    assert second.messages == [{"sender": "user", "text": "sđt [SĐT đã ẩn]"}]
    assert second.as_dict()["channel"] == "zalo"
    assert len(conversation_log.list_handoffs(limit=1, db_path=db)) == 1


def test_feedback_rating_is_validated(tmp_path):
    with pytest.raises(ValueError, match="rating must be one of"):
        conversation_log.store_feedback("u1", "meh", "q", "a", db_path=tmp_path / "app.db")
    with pytest.raises(ValueError, match="rating must be one of"):
        conversation_log.list_feedback(rating="meh", db_path=tmp_path / "app.db")


def test_purge_deletes_only_older_records(tmp_path):
    db = tmp_path / "app.db"
    conversation_log.store_feedback("u1", "good", "q", "a", db_path=db)
    conversation_log.flag_handoff("u1", "rest", [], db_path=db)
    conversation_log.record_missing_procedure("thủ tục cấp giấy phép karaoke", "rest", db_path=db)
    now = datetime.now(timezone.utc)
    assert conversation_log.purge_older_than(now - timedelta(days=1), db_path=db) == {
        "handoffs": 0,
        "feedback": 0,
        "missing_procedures": 0,
    }
    assert conversation_log.purge_older_than(now + timedelta(seconds=2), db_path=db) == {
        "handoffs": 1,
        "feedback": 1,
        "missing_procedures": 1,
    }
    assert conversation_log.list_feedback(db_path=db) == [] and conversation_log.list_handoffs(db_path=db) == []
    assert conversation_log.list_missing_procedures(db_path=db) == []


def test_missing_procedure_record_is_masked_short_and_has_no_sender(tmp_path):
    db = tmp_path / "app.db"
    question = "xin giấy phép karaoke, sđt 0912345678 " + "rất dài " * 200
    record_id = conversation_log.record_missing_procedure(question, "zalo", db_path=db)
    conversation_log.record_missing_procedure("xin học bổng cho con", "", db_path=db)
    newest, first = conversation_log.list_missing_procedures(db_path=db)
    assert first.id == record_id and first.channel == "zalo"
    assert "0912345678" not in first.question and first.question.startswith("xin giấy phép karaoke")
    assert len(first.question) <= conversation_log.MAX_QUESTION_CHARS + 20
    assert newest.question == "xin học bổng cho con" and newest.channel == ""
    assert set(first.as_dict()) == {"id", "channel", "created_at", "question"}
    assert first.created_at[:4].isdigit()
