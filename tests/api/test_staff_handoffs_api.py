"""Hand-offs for staff (issue 14 item 6) over the API: open and handled lists, marking handled, a reply to a Zalo
citizen queued in the Zalo connector's outbox (the store the Zalo channel delivers from), masked storage."""

from __future__ import annotations

import pytest

from assistant.app import conversation_log, handoff_desk
from connectors.zalo.store import ZaloStore
from tests.api.conftest import STAFF_TOKEN

ZALO_USER = "8512345678901234567"
PHONE = "0912 345 678"
STAFF = {"X-Admin-Token": STAFF_TOKEN}


@pytest.fixture()
def cases(client, outbox):
    """A Zalo hand-off and a web-chat one (newest first in the lists)."""
    zalo = conversation_log.flag_handoff(
        ZALO_USER,
        "zalo",
        [
            {"sender": "user", "text": f"cho tôi gặp cán bộ, sđt {PHONE}"},
            {"sender": "bot", "text": "Dạ, tôi đã chuyển cuộc trò chuyện này tới cán bộ tiếp nhận."},
        ],
    )
    web = conversation_log.flag_handoff("web-5b1c", "rest", [{"sender": "user", "text": "gặp nhân viên"}])
    return {"zalo": zalo, "web": web}


def test_open_hand_offs_are_listed_masked_without_the_zalo_user_id(client, cases):
    response = client.get("/api/staff/handoff-cases", headers=STAFF)
    assert response.status_code == 200
    body = response.json()
    assert [(case["id"], case["channel"], case["can_reply"], case["status"]) for case in body] == [
        (cases["web"], "rest", False, "open"),
        (cases["zalo"], "zalo", True, "open"),
    ]
    zalo = body[1]
    assert zalo["conversation"].startswith("zu-") and ZALO_USER not in response.text
    assert zalo["messages"][0] == {"sender": "user", "text": "cho tôi gặp cán bộ, sđt [SĐT đã ẩn]"}
    assert PHONE not in response.text and zalo["replies"] == [] and zalo["handled_at"] is None


def test_mark_handled_moves_a_hand_off_to_the_handled_list_and_back(client, cases):
    response = client.post(f"/api/staff/handoff-cases/{cases['web']}/handled", headers=STAFF)
    assert response.status_code == 200 and response.json()["status"] == "handled"
    handled_at = response.json()["handled_at"]
    again = client.post(f"/api/staff/handoff-cases/{cases['web']}/handled", json={"handled": True}, headers=STAFF)
    assert again.json()["handled_at"] == handled_at  # marking twice keeps the first time
    assert [c["id"] for c in client.get("/api/staff/handoff-cases", headers=STAFF).json()] == [cases["zalo"]]
    assert [c["id"] for c in client.get("/api/staff/handoff-cases?status=handled", headers=STAFF).json()] == [
        cases["web"]
    ]
    assert len(client.get("/api/staff/handoff-cases?status=all", headers=STAFF).json()) == 2

    reopened = client.post(f"/api/staff/handoff-cases/{cases['web']}/handled", json={"handled": False}, headers=STAFF)
    assert reopened.json()["status"] == "open" and reopened.json()["handled_at"] is None
    assert client.get("/api/staff/handoff-cases?status=handled", headers=STAFF).json() == []


def test_reply_to_a_zalo_citizen_goes_to_the_outbox_and_its_delivery_is_reported(client, cases, outbox):
    text = f"Dạ, Anh/Chị mang CCCD tới bộ phận một cửa; cần gì gọi {PHONE} ạ."
    response = client.post(f"/api/staff/handoff-cases/{cases['zalo']}/replies", json={"text": text}, headers=STAFF)
    assert response.status_code == 201, response.text
    reply = response.json()
    assert reply["delivery"] == "waiting" and reply["text"] == text.replace(PHONE, "[SĐT đã ẩn]")

    store = ZaloStore(outbox)
    [item] = store.pending()
    assert item.user_id == ZALO_USER  # the citizen gets exactly what the staff member wrote
    assert item.message == {"text": handoff_desk.REPLY_PREFIX + text}

    store.failed(item.id, f"Zalo error -213: user {PHONE} has not interacted", dead=False)
    [case] = [c for c in client.get("/api/staff/handoff-cases", headers=STAFF).json() if c["id"] == cases["zalo"]]
    assert case["replies"][0]["delivery"] == "waiting"
    assert case["replies"][0]["delivery_error"] == "Zalo error -213: user [SĐT đã ẩn] has not interacted"
    store.failed(item.id, "Zalo error -213", dead=True)
    assert client.get("/api/staff/handoff-cases", headers=STAFF).json()[1]["replies"][0]["delivery"] == "failed"
    store.delivered(item.id)  # what the Zalo channel does once the OA API accepted it
    assert client.get("/api/staff/handoff-cases", headers=STAFF).json()[1]["replies"][0]["delivery"] == "sent"
    assert PHONE not in client.get("/api/staff/handoff-cases", headers=STAFF).text


def test_a_reply_queues_behind_replies_the_citizen_is_still_waiting_for(client, cases, outbox):
    store = ZaloStore(outbox)
    earlier = store.enqueue(ZALO_USER, {"text": "Câu trả lời của trợ lý"}, "HTTP 503 from Zalo")
    long_text = "Dạ. " + "Hồ sơ gồm tờ khai và giấy tờ tùy thân. " * 60  # over one Zalo message: split
    response = client.post(
        f"/api/staff/handoff-cases/{cases['zalo']}/replies", json={"text": long_text[:2000]}, headers=STAFF
    )
    assert response.status_code == 201
    items = store.pending()
    assert items[0].id == earlier and len(items) == 3  # the bot's reply first, then the staff reply in two parts
    assert all(len(item.message["text"]) <= 2000 for item in items)


def test_replies_that_cannot_be_sent_are_refused_with_the_reason(client, cases, outbox):
    web = client.post(f"/api/staff/handoff-cases/{cases['web']}/replies", json={"text": "Dạ"}, headers=STAFF)
    assert web.status_code == 409 and "ẩn danh" in web.json()["detail"]
    blank = client.post(f"/api/staff/handoff-cases/{cases['zalo']}/replies", json={"text": "   "}, headers=STAFF)
    assert blank.status_code == 400 and blank.json()["detail"].startswith("Nội dung trả lời trống")
    too_long = client.post(
        f"/api/staff/handoff-cases/{cases['zalo']}/replies", json={"text": "a" * 2001}, headers=STAFF
    )
    assert too_long.status_code == 422
    missing = client.post("/api/staff/handoff-cases/999/replies", json={"text": "Dạ"}, headers=STAFF)
    assert missing.status_code == 404 and "999" in missing.json()["detail"]
    assert client.post("/api/staff/handoff-cases/999/handled", headers=STAFF).status_code == 404
    assert client.get("/api/staff/handoff-cases?status=closed", headers=STAFF).status_code == 422
    assert not outbox.exists() or ZaloStore(outbox).pending() == []


def test_state_changes_from_another_site_are_refused(client, cases):
    """The browser adds the staff member's Basic credentials to any request to this origin, also one a
    hostile page makes: the POSTs accept only the staff page's own origin."""
    url = f"/api/staff/handoff-cases/{cases['zalo']}/handled"
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post(url, headers={**STAFF, **headers})
        assert response.status_code == 403 and "trang web khác" in response.json()["detail"]
    assert (
        client.post(url, headers={**STAFF, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}).status_code
        == 200
    )
    # Behind nginx the Host header has no port while the browser's Origin has the public one.
    assert client.post(url, headers={**STAFF, "Origin": "https://testserver:8443"}).status_code == 200
    assert client.post(url, headers={**STAFF, "Origin": "https://testserver.evil.example"}).status_code == 403
    assert client.get("/api/staff/handoff-cases?status=handled", headers=STAFF).json()[0]["id"] == cases["zalo"]


def test_an_outbox_that_cannot_be_written_is_a_503_naming_it(client, cases, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    monkeypatch.setattr(handoff_desk, "default_outbox", lambda: blocked / "zalo_outbox.sqlite")
    response = client.post(f"/api/staff/handoff-cases/{cases['zalo']}/replies", json={"text": "Dạ"}, headers=STAFF)
    assert response.status_code == 503 and "hàng gửi Zalo" in response.json()["detail"]
    assert client.get("/api/staff/handoff-cases", headers=STAFF).json()[1]["replies"] == []  # nothing half-kept


def test_a_row_written_unmasked_by_older_code_is_masked_on_the_way_out(client, cases):
    from contextlib import closing

    with closing(conversation_log.connect(None)) as connection, connection:
        connection.execute(
            "UPDATE handoffs SET messages = ? WHERE id = ?",
            (f'[{{"sender": "user", "text": "gọi {PHONE}"}}]', cases["zalo"]),
        )
    response = client.get("/api/staff/handoff-cases", headers=STAFF)
    assert PHONE not in response.text and response.json()[1]["messages"][0]["text"] == "gọi [SĐT đã ẩn]"
