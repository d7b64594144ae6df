"""The actions through the app server's /webhook, with a tracker payload shaped like Rasa 3.6 sends."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.actions.catalog import HOTLINE, IDENTITY_CARD


def action_call(action: str, text: str, intent: str, slots: dict | None = None) -> dict:
    parse_data = {"text": text, "intent": {"name": intent, "confidence": 0.97}, "entities": []}
    return {
        "next_action": action,
        "sender_id": "web-123",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "web-123",
            "slots": {"procedure_code": None, "candidate_codes": None, "last_aspect": None, **(slots or {})},
            "latest_message": parse_data,
            "latest_event_time": 1764215000.0,
            "followup_action": None,
            "paused": False,
            "events": [
                {"event": "action", "name": "action_listen", "timestamp": 1764214999.0},
                {
                    "event": "user",
                    "text": text,
                    "parse_data": parse_data,
                    "input_channel": "rest",
                    "timestamp": 1764215000.0,
                },
            ],
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture
def client(kb, monkeypatch):
    from assistant.app.server.app import create_app

    monkeypatch.setenv("TTHC_ACTION_TOKEN", "test-action-token")  # only Rasa, with the token, may call /webhook
    with TestClient(create_app(), headers={"X-Action-Token": "test-action-token"}) as test_client:
        yield test_client


def test_webhook_answers_and_sets_slots(client):
    response = client.post(
        "/webhook", json=action_call("action_answer_procedure", "căn cước cần giấy tờ gì", "ask_documents")
    )
    assert response.status_code == 200
    body = response.json()
    slots = {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}
    assert slots["procedure_code"] == IDENTITY_CARD.code and slots["last_aspect"] == "documents"
    assert IDENTITY_CARD.code not in slots["alternative_codes"]  # the other hits, for "không phải thủ tục này"
    [message] = body["responses"]
    assert IDENTITY_CARD.documents[0].name in message["text"]
    assert IDENTITY_CARD.source_url in message["text"]


def test_webhook_follow_up_reads_the_slot_rasa_sends(client):
    call = action_call(
        "action_answer_procedure", "con le phi thi sao", "ask_fee", {"procedure_code": IDENTITY_CARD.code}
    )
    body = client.post("/webhook", json=call).json()
    assert "30.000 đồng" in body["responses"][0]["text"]


def test_webhook_lists_every_contract_action(client):
    names = {item["name"] for item in client.get("/actions").json()}
    assert {
        "action_answer_procedure",
        "action_choose_option",
        "action_handoff",
        "action_store_feedback",
        "action_track_dossier",
        "action_default_fallback",
    } <= names


def test_the_actions_answer_with_the_apps_settings(kb, settings, monkeypatch):
    """create_app(settings) hands its settings to the actions with the knowledge base (the lifespan), so a reply
    names the app's hotline even when the process-wide settings say another; after shut-down they are gone."""
    from assistant.app.actions import common
    from assistant.app.server.app import create_app

    app_hotline = "0999 000 111"
    app_settings = settings.model_copy(
        update={"province": settings.province.model_copy(update={"hotline": app_hotline})}
    )
    monkeypatch.setenv("TTHC_ACTION_TOKEN", "test-action-token")
    with TestClient(create_app(app_settings), headers={"X-Action-Token": "test-action-token"}) as client:
        assert common.app_settings() is app_settings
        body = client.post("/webhook", json=action_call("action_handoff", "cho tôi gặp cán bộ", "request_human")).json()
        reply = body["responses"][0]["text"]
        assert app_hotline in reply and HOTLINE not in reply
    assert common.app_settings() is not app_settings and common.app_settings().province.hotline == HOTLINE
