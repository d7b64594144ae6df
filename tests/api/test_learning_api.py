"""Unanswered questions (grouped, filtered, CSV) and the catalogue team's labels, through the API
(assistant/app/server/routers/learning.py) on the sample catalogue (BM25 only: lexical grouping)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from assistant.app import conversation_log, interaction_log, question_labels, unanswered
from knowledge_base.evaluation import read_questions
from knowledge_base.labelled import labelled_path, read_labelled

STAFF = {"X-Admin-Token": "test-staff-token"}
NOW = datetime.now(timezone.utc)
CHOOSE_FIRST = '/choose_option{"option_index":"1"}'


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def add(
    sender: str,
    question: str,
    outcome: str,
    when: datetime,
    codes=(),
    action="action_answer_procedure",
    channel="rest",
    chosen_code=None,
    feedback=None,
    intent="ask_documents",
) -> None:
    """One recorded action call, saved the way the action endpoint saves it (choices and ratings update
    the rows they belong to)."""
    interaction_log.save(
        interaction_log.InteractionRecord(
            id=0,
            created_at=stamp(when),
            sender_id=sender,
            channel=channel,
            action=action,
            intent=intent,
            question=question,
            outcome=outcome,
            codes=list(codes),
            chosen_option=1 if chosen_code else None,
            chosen_code=chosen_code,
            feedback=feedback,
            action_ms=10,
            turn_ms=None,
        )
    )


def rate_bad(sender: str, when: datetime) -> None:
    add(
        sender, "/feedback_bad", "feedback", when, action="action_store_feedback", feedback="bad", intent="feedback_bad"
    )


@pytest.fixture
def conversations(client):
    """A day of conversations: what should and should not count as unanswered."""
    day = NOW - timedelta(days=1)
    add("a", "tro cap that nghiep lam the nao", "not_in_catalogue", day, action="action_check_scope")
    add(
        "b",
        "xin trợ cấp thất nghiệp làm thế nào",
        "not_in_catalogue",
        day + timedelta(minutes=5),
        action="action_check_scope",
        channel="zalo",
    )
    add("c", "cấp phép bay flycam", "abstained", day, action="action_default_fallback")
    add("d", "khai sinh", "asked_back", NOW - timedelta(hours=2), codes=["1.001193", "1.000894"])  # abandoned
    add("e", "kết hôn", "asked_back", NOW - timedelta(minutes=1), codes=["1.000894"])  # may still pick one
    add("f", "đăng ký khai sinh", "asked_back", day, codes=["1.001193", "1.000894"])
    add("f", CHOOSE_FIRST, "answered", day, codes=["1.001193"], action="action_choose_option", chosen_code="1.001193")
    add("g", "hộ chiếu", "asked_back", day, codes=["1.010385", "1.014061"])
    add("g", "mất hộ chiếu thì báo ở đâu", "answered", day, codes=["1.010385"])  # typed again, answered
    add("h", "lệ phí xây nhà", "answered", day, codes=["2.002000"])
    rate_bad("h", day)
    add("i", "làm giấy tờ cho con", "asked_back", day, codes=["1.001193", "1.000894"])
    add("i", CHOOSE_FIRST, "answered", day, codes=["1.001193"], action="action_choose_option", chosen_code="1.001193")
    rate_bad("i", day)  # rates the picked answer: counts for the question asked back
    add("j", "làm căn cước", "answered", day, codes=["1.014061"])
    add("j", "/feedback_good", "feedback", day, action="action_store_feedback", feedback="good", intent="feedback_good")
    add("k", "hát cho tôi nghe", "off_topic", day, action="action_check_scope")
    add("l", '/ask_procedure{"procedure_code":"1.001193"}', "abstained", day, action="action_default_fallback")
    return client


def report(client, **params) -> dict:
    response = client.get("/api/staff/unanswered", params=params, headers=STAFF)
    assert response.status_code == 200, response.text
    return response.json()


def by_question(data: dict) -> dict[str, dict]:
    return {variant["question"]: variant for group in data["groups"] for variant in group["variants"]}


def test_unanswered_are_the_declined_abstained_abandoned_and_badly_rated_questions(conversations):
    data = report(conversations)
    variants = by_question(data)
    assert {q: v["reasons"] for q, v in variants.items()} == {
        "tro cap that nghiep lam the nao": {"declined": 1},
        "xin trợ cấp thất nghiệp làm thế nào": {"declined": 1},
        "cấp phép bay flycam": {"abstained": 1},
        "khai sinh": {"abandoned": 1},
        "lệ phí xây nhà": {"rated_bad": 1},
        "làm giấy tờ cho con": {"rated_bad": 1},
    }
    assert data["questions"] == 6 and data["distinct"] == 6 and data["grouping"] == "lexical"
    assert not data["truncated"]


def test_similar_questions_are_one_group_with_counts_channels_and_dates(conversations):
    data = report(conversations)
    first = data["groups"][0]  # the largest group first
    assert first["count"] == 2 and first["labelled"] == 0
    assert {v["question"] for v in first["variants"]} == {
        "tro cap that nghiep lam the nao",
        "xin trợ cấp thất nghiệp làm thế nào",
    }
    assert first["channels"] == {"rest": 1, "zalo": 1} and first["reasons"] == {"declined": 2}
    assert first["first_at"] < first["last_at"]
    assert [g["count"] for g in data["groups"]] == [2, 1, 1, 1, 1]
    abandoned = next(g for g in data["groups"] if g["question"] == "khai sinh")
    assert abandoned["codes"] == ["1.001193", "1.000894"]  # what the citizen was offered


def test_filters_by_reason_channel_and_date(conversations):
    assert set(by_question(report(conversations, reason="abandoned"))) == {"khai sinh"}
    assert set(by_question(report(conversations, reason=["declined", "abstained"]))) == {
        "tro cap that nghiep lam the nao",
        "xin trợ cấp thất nghiệp làm thế nào",
        "cấp phép bay flycam",
    }
    assert set(by_question(report(conversations, channel="zalo"))) == {"xin trợ cấp thất nghiệp làm thế nào"}
    tomorrow = (NOW + timedelta(days=2)).date().isoformat()
    assert report(conversations, since=tomorrow)["groups"] == []
    old = (NOW - timedelta(days=30)).date().isoformat()
    assert report(conversations, until=old)["questions"] == 0
    assert report(conversations, limit=2)["truncated"] is True


def test_bad_filters_get_a_clear_4xx(conversations):
    response = conversations.get(
        "/api/staff/unanswered", params={"since": "2026-12-07", "until": "2026-12-01"}, headers=STAFF
    )
    assert response.status_code == 400 and "since" in response.json()["detail"]
    assert conversations.get("/api/staff/unanswered", params={"reason": "bored"}, headers=STAFF).status_code == 422
    assert conversations.get("/api/staff/unanswered", params={"limit": 0}, headers=STAFF).status_code == 422


def test_csv_has_one_row_per_question_and_never_a_formula(client):
    add("x", '=HYPERLINK("http://evil","bấm")', "abstained", NOW - timedelta(hours=1))
    add("y", "giấy phép bay flycam", "not_in_catalogue", NOW - timedelta(hours=1), action="action_check_scope")
    response = client.get("/api/staff/unanswered.csv", headers=STAFF)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")  # Excel opens UTF-8 with the BOM
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == unanswered.CSV_HEADER
    questions = {row[3] for row in rows[1:]}
    assert questions == {'\'=HYPERLINK("http://evil","bấm")', "giấy phép bay flycam"}
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_labelling_stores_corrects_and_removes_and_rewrites_the_file(conversations, tmp_path):
    response = conversations.post(
        "/api/staff/labels",
        headers=STAFF,
        json={
            "questions": ["tro cap that nghiep lam the nao", "xin trợ cấp thất nghiệp làm thế nào"],
            "kind": "not_in_catalogue",
        },
    )
    assert response.status_code == 200, response.text
    saved = response.json()
    assert [label["kind"] for label in saved] == ["not_in_catalogue", "not_in_catalogue"]
    assert saved[0]["asked_at"] < saved[0]["created_at"]  # when the citizen asked, for retention
    group = report(conversations)["groups"][0]
    assert group["labelled"] == 2 and group["variants"][0]["label"]["kind"] == "not_in_catalogue"
    # The same question typed with other spacing and capitals is the same variant, with its label.
    add(
        "m",
        "  Tro cap   that nghiep lam the nao ",
        "not_in_catalogue",
        NOW - timedelta(hours=3),
        action="action_check_scope",
    )
    variant = by_question(report(conversations))["tro cap that nghiep lam the nao"]
    assert variant["count"] == 2 and variant["label"]["kind"] == "not_in_catalogue"
    assert report(conversations, unlabelled="true")["groups"][0]["question"] != group["question"]

    khai_sinh = conversations.post(
        "/api/staff/labels", headers=STAFF, json={"questions": ["khai sinh"], "kind": "procedure", "code": "1.001193"}
    ).json()[0]
    assert khai_sinh["title"] == "Thủ tục đăng ký khai sinh"
    assert [(q.question, q.gold, q.label) for q in read_labelled(tmp_path)] == [
        ("tro cap that nghiep lam the nao", [], "not_in_catalogue"),
        ("xin trợ cấp thất nghiệp làm thế nào", [], "not_in_catalogue"),
        ("khai sinh", ["1.001193"], "procedure"),
    ]

    # Correct: labelling the same question again, or PUT on its id; the row stays one.
    again = conversations.post(
        "/api/staff/labels", headers=STAFF, json={"questions": ["khai sinh"], "kind": "procedure", "code": "1.000894"}
    ).json()[0]
    assert again["id"] == khai_sinh["id"] and again["code"] == "1.000894"
    corrected = conversations.put(f"/api/staff/labels/{khai_sinh['id']}", headers=STAFF, json={"kind": "not_procedure"})
    assert corrected.status_code == 200 and corrected.json()["code"] is None
    assert read_labelled(tmp_path)[-1].label == "not_procedure"

    assert conversations.delete(f"/api/staff/labels/{khai_sinh['id']}", headers=STAFF).status_code == 204
    assert [q.question for q in read_labelled(tmp_path)] == [
        "tro cap that nghiep lam the nao",
        "xin trợ cấp thất nghiệp làm thế nào",
    ]
    listed = conversations.get("/api/staff/labels", headers=STAFF).json()
    assert len(listed) == 2
    one = conversations.get("/api/staff/labels", params={"limit": 1}, headers=STAFF)
    assert len(one.json()) == 1 and one.headers["X-Total-Count"] == "2"
    # The file is a question file of `tthc kb eval` and `tthc bot eval` as it is.
    assert [(q.id, q.gold) for q in read_questions(labelled_path(tmp_path))] == [
        (f"label-{label['id']}", []) for label in saved
    ]
    exported = conversations.get("/api/staff/labels.jsonl", headers=STAFF)
    assert exported.status_code == 200
    assert [json.loads(line)["question"] for line in exported.text.splitlines()] == [
        label["question"] for label in saved
    ]
    for method, status in (("put", 404), ("delete", 404)):
        response = conversations.request(
            method.upper(),
            "/api/staff/labels/999999",
            headers=STAFF,
            json={"kind": "not_procedure"} if method == "put" else None,
        )
        assert response.status_code == status and "999999" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fix"),
    [
        ({"questions": ["khai sinh"], "kind": "procedure"}, "cần mã thủ tục"),
        ({"questions": ["khai sinh"], "kind": "procedure", "code": "8.888888"}, "chọn thủ tục bằng ô tìm kiếm"),
        ({"questions": ["   "], "kind": "not_procedure"}, "ít nhất một câu hỏi"),
    ],
)
def test_label_errors_name_the_fix(client, body, fix):
    response = client.post("/api/staff/labels", headers=STAFF, json=body)
    assert response.status_code == 422 and fix in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"questions": [], "kind": "not_procedure"},
        {"questions": ["x"] * 201, "kind": "not_procedure"},
        {"questions": ["x" * 501], "kind": "not_procedure"},
        {"questions": ["x"], "kind": "maybe"},
        {"questions": ["x"], "kind": "procedure", "code": "1.001193; DROP TABLE"},
    ],
)
def test_malformed_label_requests_are_422(client, body):
    assert client.post("/api/staff/labels", headers=STAFF, json=body).status_code == 422


def test_how_the_assistant_answers_each_labelled_question_now(client):
    cases = [
        ("dang ky khai sinh cho con", "procedure", "1.001193", "answer", "correct"),
        ("làm căn cước", "procedure", "1.001193", "answer", "wrong"),
        ("giấy tờ cho con mới sinh", "procedure", "1.001193", "abstain", "declines"),
        ("nấu phở bò thế nào cho ngon", "not_procedure", None, "abstain", "correct"),
        ("đăng ký kết hôn cần gì", "not_in_catalogue", None, "answer", "wrong"),
    ]
    for question, kind, code, _, _ in cases:
        body = {"questions": [question], "kind": kind, **({"code": code} if code else {})}
        assert client.post("/api/staff/labels", headers=STAFF, json=body).status_code == 200
    now = {label["question"]: label["now"] for label in client.get("/api/staff/labels", headers=STAFF).json()}
    for question, _, _, decision, verdict in cases:
        assert (now[question]["decision"], now[question]["verdict"]) == (decision, verdict), question
    assert now["dang ky khai sinh cho con"]["results"] == [{"code": "1.001193", "title": "Thủ tục đăng ký khai sinh"}]
    assert now["giấy tờ cho con mới sinh"]["results"] == []


def test_nothing_unmasked_is_stored_or_leaves_the_database(client, tmp_path):
    typed = "tôi tên Lan, số 0912345678, cccd 079123456789, hỏi làm giấy khai sinh"
    saved = client.post(
        "/api/staff/labels", headers=STAFF, json={"questions": [typed], "kind": "procedure", "code": "1.001193"}
    ).json()[0]
    for text in (
        saved["question"],
        labelled_path(tmp_path).read_text(encoding="utf-8"),
        client.get("/api/staff/labels.jsonl", headers=STAFF).text,
        json.dumps(client.get("/api/staff/labels", headers=STAFF).json(), ensure_ascii=False),
    ):
        assert "0912345678" not in text and "079123456789" not in text
        assert "[SĐT đã ẩn]" in text
    with sqlite3.connect(conversation_log.default_db_path()) as connection:
        stored = [row[0] for row in connection.execute("SELECT question FROM question_labels")]
    assert stored == [question_labels.clean_question(typed)] and "0912345678" not in stored[0]


def test_retention_purge_keeps_labels_masked_and_unlinked_from_the_purged_conversations(client, tmp_path):
    from assistant.app.retention import purge_app_records

    zalo_user, phone = "8512345678901234567", "0912 345 678"
    typed = f"xin cấp phép bay flycam, gọi {phone}"
    add(zalo_user, question_labels.clean_question(typed), "abstained", NOW - timedelta(days=200), channel="zalo")
    add("web-new", "giấy phép bay flycam", "abstained", NOW - timedelta(days=1))
    add("web-new", "giấy phép bay flycam", "abstained", NOW - timedelta(days=120))
    client.post(
        "/api/staff/labels", headers=STAFF, json={"questions": [typed], "kind": "procedure", "code": "1.001193"}
    )
    client.post(
        "/api/staff/labels", headers=STAFF, json={"questions": ["giấy phép bay flycam"], "kind": "not_in_catalogue"}
    )
    before = {label.question: label for label in question_labels.list_labels()}

    counts = purge_app_records(NOW - timedelta(days=90))
    assert counts["interactions"] == 2 and counts["question_labels_unlinked"] == 2
    after = {label.question: label for label in question_labels.list_labels()}
    masked = question_labels.clean_question(typed)
    # Every label stays, with its masked text, kind and procedure; the evaluation set keeps both.
    assert set(after) == set(before) == {masked, "giấy phép bay flycam"}
    assert (after[masked].kind, after[masked].code, after[masked].id) == ("procedure", "1.001193", before[masked].id)
    assert [q.question for q in read_labelled(tmp_path)] == [masked, "giấy phép bay flycam"]
    # Nothing ties them to the purged interactions any more: the time of the first asking goes to the earliest
    # one still kept, or is cleared; no sender, channel or conversation is stored with a label.
    assert after[masked].asked_at == "" and after["giấy phép bay flycam"].asked_at == stamp(NOW - timedelta(days=1))
    with sqlite3.connect(conversation_log.default_db_path()) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(question_labels)")]
        assert columns == ["id", "question", "kind", "code", "asked_at", "created_at", "updated_at"]
        assert (
            connection.execute("SELECT COUNT(*) FROM interactions WHERE sender_id = ?", (zalo_user,)).fetchone()[0] == 0
        )
    raw = conversation_log.default_db_path().read_bytes()
    assert zalo_user.encode() not in raw and phone.encode() not in raw and phone.replace(" ", "").encode() not in raw
    listed = client.get("/api/staff/labels", headers=STAFF).text + labelled_path(tmp_path).read_text(encoding="utf-8")
    assert zalo_user not in listed and phone not in listed and "[SĐT đã ẩn]" in listed
    # A second purge has nothing left to unlink; only staff delete a label.
    assert purge_app_records(NOW - timedelta(days=90))["question_labels_unlinked"] == 0
    assert client.delete(f"/api/staff/labels/{after[masked].id}", headers=STAFF).status_code == 204
    assert [label.question for label in question_labels.list_labels()] == ["giấy phép bay flycam"]
