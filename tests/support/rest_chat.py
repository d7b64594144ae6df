"""Talking to the live stack's REST channel as a citizen would (one message, the bot's messages back)."""

from __future__ import annotations

import httpx


def ask(stack, sender: str, text: str) -> list[dict]:
    response = httpx.post(stack.rest_webhook(), json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return response.json()


def all_text(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)
