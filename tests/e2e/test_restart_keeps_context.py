"""Nothing lost: both servers restart mid-conversation, and a follow-up question still refers to the
procedure asked about before the restart (Rasa's SQLite tracker store from endpoints.yml)."""
from __future__ import annotations

import httpx
import pytest

from assistant.launcher import processes

pytestmark = pytest.mark.e2e


def ask(stack, sender: str, text: str) -> str:
    response = httpx.post(stack.rest_webhook(), json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return "\n".join(message.get("text", "") for message in response.json()).lower()


def test_follow_up_after_restarting_both_servers_keeps_the_procedure(live_stack):
    assert "khai sinh" in ask(live_stack, "e2e-restart", "làm giấy khai sinh cần những gì")

    processes.stop_all(live_stack.servers)
    processes.start_all(live_stack.servers, timeout=300)  # same data dir: same tracker DB and index

    follow_up = ask(live_stack, "e2e-restart", "còn lệ phí thì sao?")
    assert "phí" in follow_up
    assert "khai sinh" in follow_up, "after the restart the bot forgot which procedure was discussed"
