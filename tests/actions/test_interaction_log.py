"""Every message handled through the action endpoint is kept with what the assistant did (issue 14 item 1),
and counted for /metrics (item 5): a conversation driven through the app server's real /webhook, with
action calls shaped like Rasa 3.6 sends them, then read back from the app database, the staff API and
/metrics."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.app import conversation_log, interaction_log
from assistant.app.handoff_desk import conversation_ref
from assistant.app.retention import purge_app_records
from assistant.core.reply import OUTCOME_KEY
from tests.actions.catalog import IDENTITY_CARD
from tests.support.prometheus import metric

ACTION_TOKEN = "test-action-token"
ADMIN_TOKEN = "test-admin-token"
STAFF = {"X-Admin-Token": ADMIN_TOKEN}
LOOPBACK = ("127.0.0.1", 40000)
PHONE, CCCD, EMAIL = "0909 123 456", "079203001234", "an.nguyen@gmail.com"


class WebhookConversation:
    """A conversation as Rasa drives it: the tracker (slots, events, latest message) goes to /webhook,
    the returned SlotSet events and bot messages come back into the tracker."""

    def __init__(self, http: TestClient, sender_id: str, channel: str = "rest"):
        self.http = http
        self.sender_id = sender_id
        self.channel = channel
        self.slots: dict[str, Any] = {
            "procedure_code": None,
            "candidate_codes": None,
            "last_aspect": None,
            "alternative_codes": None,
            "handoff_requested": None,
        }
        self.events: list[dict[str, Any]] = []
        self.body: dict[str, Any] = {}

    def turn(self, action: str, text: str, intent: str, **entities: str) -> dict[str, Any]:
        parse_data = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.93},
            "entities": [{"entity": name, "value": value} for name, value in entities.items()],
        }
        self.events += [
            {"event": "action", "name": "action_listen", "timestamp": time.time()},
            {
                "event": "user",
                "text": text,
                "parse_data": parse_data,
                "input_channel": self.channel,
                "timestamp": time.time(),
            },
        ]
        call = {
            "next_action": action,
            "sender_id": self.sender_id,
            "version": "3.6.21",
            "domain": {},
            "tracker": {
                "sender_id": self.sender_id,
                "slots": dict(self.slots),
                "latest_message": parse_data,
                "latest_event_time": time.time(),
                "followup_action": None,
                "paused": False,
                "events": list(self.events),
                "latest_input_channel": self.channel,
                "active_loop": {},
                "latest_action": {"action_name": "action_listen"},
                "latest_action_name": "action_listen",
            },
        }
        response = self.http.post("/webhook", json=call)
        assert response.status_code == 200, response.text
        self.body = response.json()
        for event in self.body["events"]:
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
        self.events += [
            {"event": "bot", "text": m.get("text"), "timestamp": time.time()} for m in self.body["responses"]
        ]
        return self.body


@pytest.fixture
def app(settings, monkeypatch):
    from assistant.app.server.app import create_app

    monkeypatch.setenv("TTHC_ACTION_TOKEN", ACTION_TOKEN)
    monkeypatch.setenv("TTHC_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("TTHC_SECURITY__RATE_LIMIT_PER_MINUTE", "0")
    return create_app()


@pytest.fixture
def http(app):
    with TestClient(app, headers={"X-Action-Token": ACTION_TOKEN}) as client:
        yield client


def rows(settings) -> list[sqlite3.Row]:
    with sqlite3.connect(settings.data_dir / "app.db") as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute("SELECT * FROM interactions ORDER BY id").fetchall()


def scrape(app) -> str:
    with TestClient(app, client=LOOPBACK) as local:
        response = local.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_a_conversation_is_recorded_turn_by_turn_with_outcome_codes_choice_and_rating(kb, settings, app, http):
    before = scrape(app)
    chat = WebhookConversation(http, "web-record-1")
    chat.turn("action_answer_procedure", "thủ tục xin trợ cấp thất nghiệp", "ask_documents")  # nothing fits
    chat.turn("action_check_scope", "tôi đang ở quê, muốn hỏi vụ đăng ký lưu động", "out_of_scope")
    offered = chat.slots["candidate_codes"]
    assert len(offered) >= 2
    chat.turn("action_choose_option", '/choose_option{"option_index":"2"}', "choose_option", option_index="2")
    assert chat.slots["procedure_code"] == offered[1]
    chat.turn("action_store_feedback", "cảm ơn, đúng rồi", "feedback_good")
    chat.turn("action_answer_procedure", f"căn cước cần giấy tờ gì, số tôi {PHONE}, CCCD {CCCD}", "ask_documents")
    chat.turn("action_check_scope", f"hát cho tôi nghe một bài đi, mail {EMAIL}", "out_of_scope")
    chat.turn("action_handoff", "cho tôi gặp cán bộ", "request_human")

    recorded = rows(settings)
    assert [(r["action"], r["outcome"]) for r in recorded] == [
        ("action_answer_procedure", "abstained"),
        ("action_check_scope", "asked_back"),
        ("action_choose_option", "answered"),
        ("action_store_feedback", "feedback"),
        ("action_answer_procedure", "answered"),
        ("action_check_scope", "off_topic"),
        ("action_handoff", "handed_off"),
    ]
    abstained, ask_back, choice, rating, answer, off_topic, handoff = recorded
    assert json.loads(ask_back["codes"]) == offered
    assert interaction_log.list_interactions(outcome="asked_back")[0].codes == offered
    # The option clicked, on the list it was clicked in and on the choice itself; the rating on what it rates.
    assert (ask_back["chosen_option"], ask_back["chosen_code"]) == (2, offered[1])
    assert (choice["chosen_option"], choice["chosen_code"]) == (2, offered[1])
    assert choice["feedback"] == "good" and rating["feedback"] == "good" and ask_back["feedback"] is None
    assert answer["codes"] == f'["{IDENTITY_CARD.code}"]' and answer["intent"] == "ask_documents"
    assert abstained["codes"] == "[]" and off_topic["codes"] == "[]"
    assert {r["channel"] for r in recorded} == {"rest"} and {r["sender_id"] for r in recorded} == {"web-record-1"}
    assert all(r["action_ms"] >= 0 and r["turn_ms"] is not None and 0 <= r["turn_ms"] < 60_000 for r in recorded)
    assert choice["question"] == '/choose_option{"option_index":"2"}'

    # Masked before it is written: the personal data is nowhere in the database file.
    assert "[SĐT đã ẩn]" in answer["question"] and "[số CCCD đã ẩn]" in answer["question"]
    assert "[email đã ẩn]" in off_topic["question"]
    raw = (settings.data_dir / "app.db").read_bytes()
    for secret in (PHONE, PHONE.replace(" ", ""), CCCD, EMAIL):
        assert secret.encode() not in raw

    # Counted for /metrics, by action, outcome and channel, with latencies.
    after = scrape(app)
    for action, outcome, count in [
        ("action_check_scope", "asked_back", 1),
        ("action_answer_procedure", "answered", 1),
        ("action_check_scope", "off_topic", 1),
        ("action_handoff", "handed_off", 1),
    ]:
        labels = {"action": action, "outcome": outcome, "channel": "rest"}
        assert (
            metric(after, "tthc_action_calls_total", **labels) - metric(before, "tthc_action_calls_total", **labels)
            == count
        )
    calls = {"action": "action_answer_procedure"}
    assert (
        metric(after, "tthc_action_duration_seconds_count", **calls)
        - metric(before, "tthc_action_duration_seconds_count", **calls)
        == 2
    )
    assert (
        metric(after, "tthc_reply_duration_seconds_count", channel="rest")
        - metric(before, "tthc_reply_duration_seconds_count", channel="rest")
        == 7
    )
    assert metric(after, "tthc_search_duration_seconds_count", source="chat") > metric(
        before, "tthc_search_duration_seconds_count", source="chat"
    )


def test_a_question_not_in_the_catalogue_is_recorded_as_declined_and_masked(seed, settings, http):
    chat = WebhookConversation(http, "1234567890", channel="zalo")
    body = chat.turn(
        "action_answer_procedure", f"thủ tục xin trợ cấp thất nghiệp, số điện thoại của tôi là {PHONE}", "ask_documents"
    )
    assert body["responses"][0]["text"].startswith("Dạ, thủ tục Anh/Chị hỏi hiện chưa có trong danh mục")
    chat.turn("action_default_fallback", "xyz abc qwe", "nlu_fallback")
    declined, unclear = rows(settings)
    assert (declined["outcome"], declined["channel"], declined["codes"]) == ("not_in_catalogue", "zalo", "[]")
    assert declined["question"] == "thủ tục xin trợ cấp thất nghiệp, số điện thoại của tôi là [SĐT đã ẩn]"
    assert unclear["outcome"] == "abstained"
    raw = (settings.data_dir / "app.db").read_bytes()
    assert PHONE.encode() not in raw and PHONE.replace(" ", "").encode() not in raw
    # The catalogue team's own record of the missing procedure is masked too.
    assert conversation_log.list_missing_procedures()[0].question == declined["question"]


def test_staff_read_the_records_by_outcome_channel_and_day(kb, settings, http):
    WebhookConversation(http, "web-a").turn("action_answer_procedure", "căn cước cần giấy tờ gì", "ask_documents")
    WebhookConversation(http, "4455", channel="zalo").turn("action_check_scope", "hát cho tôi nghe", "out_of_scope")
    assert http.get("/api/staff/interactions").status_code == 401
    assert http.get("/api/staff/interactions", headers={"X-Admin-Token": "wrong"}).status_code == 403

    everything = http.get("/api/staff/interactions", headers=STAFF).json()
    assert [(r["channel"], r["outcome"]) for r in everything] == [("zalo", "off_topic"), ("rest", "answered")]
    assert everything[1]["codes"] == [IDENTITY_CARD.code] and everything[1]["question"] == "căn cước cần giấy tờ gì"
    query = lambda **params: http.get("/api/staff/interactions", params=params, headers=STAFF)  # noqa: E731
    assert [r["conversation"] for r in query(outcome="answered").json()] == [conversation_ref("rest", "web-a")]
    assert [r["conversation"] for r in query(channel="zalo").json()] == [conversation_ref("zalo", "4455")]
    assert "4455" not in query(channel="zalo").text  # the Zalo user id stays in the database
    today = datetime.now(interaction_log.VIETNAM_TIME).date()
    assert len(query(since=today.isoformat(), until=today.isoformat()).json()) == 2
    assert query(until=(today - timedelta(days=1)).isoformat()).json() == []
    assert query(since=(today + timedelta(days=1)).isoformat()).json() == []
    assert len(query(limit=1).json()) == 1
    assert query(outcome="unknown").status_code == 422 and query(limit=0).status_code == 422
    assert query(since="hôm qua").status_code == 422
    assert query(since=date(1, 1, 1).isoformat(), until=date(9999, 12, 31).isoformat()).status_code == 200


def test_the_openapi_document_describes_the_staff_endpoint_and_hides_metrics(kb, http):
    paths = http.get("/openapi.json").json()["paths"]
    assert "/api/staff/interactions" in paths and "/metrics" not in paths
    parameters = {p["name"] for p in paths["/api/staff/interactions"]["get"]["parameters"]}
    assert parameters == {"since", "until", "outcome", "channel", "limit"}


def test_recording_never_costs_the_citizen_the_reply(kb, settings, http, monkeypatch):
    def broken(*_args, **_kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(interaction_log, "save", broken)
    body = WebhookConversation(http, "web-b").turn(
        "action_answer_procedure", "căn cước cần giấy tờ gì", "ask_documents"
    )
    assert IDENTITY_CARD.documents[0].name in body["responses"][0]["text"]


def test_the_retention_purge_deletes_old_records(kb, settings, http):
    chat = WebhookConversation(http, "web-old")
    chat.turn("action_answer_procedure", "căn cước cần giấy tờ gì", "ask_documents")
    chat.turn("action_check_scope", "hát cho tôi nghe", "out_of_scope")
    old = (datetime.now(timezone.utc) - timedelta(days=200)).isoformat(timespec="seconds")
    with sqlite3.connect(settings.data_dir / "app.db") as connection:
        connection.execute("UPDATE interactions SET created_at = ? WHERE outcome = 'answered'", (old,))
    counts = purge_app_records(datetime.now(timezone.utc) - timedelta(days=90))
    assert counts["interactions"] == 1
    assert [r["outcome"] for r in rows(settings)] == ["off_topic"]


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value, "timestamp": None}


def outcomes(settings) -> list[tuple[str, str]]:
    return [(r["action"], r["outcome"]) for r in rows(settings)]


def test_every_outcome_is_logged_from_a_real_action_run(seed, settings, http, monkeypatch):
    from assistant.app.actions import common
    from knowledge_base.errors import KnowledgeBaseError

    chat = WebhookConversation(http, "web-outcomes")
    chat.turn("action_answer_procedure", "đăng ký kết hôn cần giấy tờ gì", "ask_documents")
    chat.turn("action_choose_option", "cái thứ 7", "choose_option", option_index="7")  # no list shown
    chat.turn("action_answer_procedure", "thủ tục xin trợ cấp thất nghiệp", "ask_documents")
    chat.turn("action_default_fallback", "xyz abc qwe", "nlu_fallback")
    chat.turn("action_check_scope", "hát cho tôi nghe một bài đi", "out_of_scope")
    chat.turn("action_small_talk", "bạn làm được gì", "chitchat")
    chat.turn("action_store_feedback", "cảm ơn, hay lắm", "feedback_good")
    chat.turn("action_track_dossier", "tra cứu hồ sơ", "track_dossier")
    chat.turn("action_handoff", "cho tôi gặp cán bộ", "request_human")

    def closed():
        raise KnowledgeBaseError("the index is being rebuilt")

    monkeypatch.setattr(common, "get_knowledge_base", closed)
    chat.turn("action_answer_procedure", "lệ phí đăng ký kết hôn", "ask_fee")
    assert outcomes(settings) == [
        ("action_answer_procedure", "answered"),
        ("action_choose_option", "asked_back"),
        ("action_answer_procedure", "not_in_catalogue"),
        ("action_default_fallback", "abstained"),
        ("action_check_scope", "off_topic"),
        ("action_small_talk", "small_talk"),
        ("action_store_feedback", "feedback"),
        ("action_track_dossier", "dossier_tracking"),
        ("action_handoff", "handed_off"),
        ("action_answer_procedure", "unavailable"),
    ]
    # Every outcome but "other" (a reply that states none) is reached by a real action.
    assert {outcome for _, outcome in outcomes(settings)} == set(interaction_log.OUTCOMES) - {"other"}
    # The outcome is for the log: Rasa (and so the channel) never sees it.
    assert all(OUTCOME_KEY not in message for message in chat.body["responses"])


def test_a_reworded_reply_keeps_its_outcome(seed, settings, http, monkeypatch):
    from assistant.app import answers

    def reworded(compose):
        return lambda *args, **kwargs: dataclasses.replace(compose(*args, **kwargs), text="Dạ, một câu chữ mới.")

    for name in ("not_in_catalogue", "which_procedure", "suggestions", "answer"):
        monkeypatch.setattr(answers, name, reworded(getattr(answers, name)))
    chat = WebhookConversation(http, "web-reworded")
    assert chat.turn("action_answer_procedure", "thủ tục xin trợ cấp thất nghiệp", "ask_documents")["responses"][0][
        "text"
    ].startswith("Dạ, một câu chữ mới.")
    chat.turn("action_answer_procedure", "lệ phí bao nhiêu", "ask_fee")
    chat.turn("action_default_fallback", "xyz abc qwe", "nlu_fallback")
    chat.turn("action_answer_procedure", "đăng ký kết hôn cần giấy tờ gì", "ask_documents")
    assert outcomes(settings) == [
        ("action_answer_procedure", "not_in_catalogue"),
        ("action_answer_procedure", "asked_back"),
        ("action_default_fallback", "abstained"),
        ("action_answer_procedure", "answered"),
    ]


def test_the_codes_offered_with_each_outcome(settings):
    from rasa_sdk.executor import CollectingDispatcher

    from assistant.app import answers
    from assistant.app.actions import common
    from knowledge_base.schema import SearchHit

    def sent(reply) -> dict[str, Any]:
        dispatcher = CollectingDispatcher()
        common.send(dispatcher, reply)
        return dispatcher.messages[0]

    hits = [SearchHit(code=code, title=f"Thủ tục {code}", score=0.0) for code in ("A.1", "B.2")]
    listed = {"slots": {"candidate_codes": ["A.1", "B.2"]}}
    cases = [
        (
            "action_offer_alternatives",
            [slot("candidate_codes", ["B.2"]), slot("procedure_code", None)],
            [sent(answers.offer_alternatives(["B"]))],
            None,
            ("asked_back", ["B.2"]),
        ),
        (
            "action_default_fallback",
            [{"event": "rewind"}],
            [sent(answers.suggestions(hits))],
            None,
            ("abstained", ["A.1", "B.2"]),
        ),
        (
            "action_answer_procedure",
            [slot("last_aspect", "fee")],
            [sent(answers.ask_back(hits))],
            listed,
            ("asked_back", ["A.1", "B.2"]),
        ),
        (
            "action_answer_procedure",
            [slot("last_aspect", "fee")],
            [sent(answers.which_procedure())],
            listed,
            ("asked_back", []),
        ),
        ("action_choose_option", [], [sent(answers.unknown_option(2))], listed, ("asked_back", ["A.1", "B.2"])),
        ("action_something_new", [], [{"text": "một câu không nêu kết quả"}], None, ("other", [])),
        ("action_something_new", [], [{"text": "...", OUTCOME_KEY: "made_up"}], None, ("other", [])),
    ]
    for action, events, messages, tracker, expected in cases:
        verdict = interaction_log.classify(action, events, messages, tracker)
        assert (verdict.outcome, verdict.codes) == expected, (action, messages)
