"""Turn Rasa replies (text, buttons, links) into Zalo OA "cs" message objects.

Zalo rejects text over 2,000 characters (error -210) instead of truncating it and limits a
button title to 100 characters. A text with buttons is one message whose `attachment` is a
`template` holding only `buttons` (no `template_type`); a button click comes back as a
`user_send_text` event carrying the button's payload. We show at most 5 buttons (the assistant
never offers more choices at once); any further ones stay readable as a numbered list.
"""
from __future__ import annotations

from typing import Any, Iterable

from assistant.reply import split_text

MAX_TEXT_CHARS = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE_CHARS = 100
QUERY_BUTTON = "oa.query.show"
URL_BUTTON = "oa.open.url"
DEFAULT_BUTTON_PROMPT = "Anh/Chị vui lòng chọn một mục dưới đây:"

def _short_title(title: Any) -> str:
    text = " ".join(str(title or "").split())
    if len(text) <= MAX_BUTTON_TITLE_CHARS:
        return text
    return text[: MAX_BUTTON_TITLE_CHARS - 1].rstrip() + "…"


def zalo_button(button: dict[str, Any]) -> dict[str, Any]:
    """One Rasa button as a Zalo button: links open the URL, others send their payload back."""
    title = _short_title(button.get("title") or button.get("payload") or button.get("url"))
    url = button.get("url")
    if url or button.get("type") == "web_url":
        return {"title": title, "type": URL_BUTTON, "payload": {"url": str(url or button.get("payload", ""))}}
    return {"title": title, "type": QUERY_BUTTON, "payload": str(button.get("payload") or button.get("title") or "")}


def _numbered_lines(buttons: Iterable[dict[str, Any]], start: int) -> str:
    """Buttons beyond Zalo's limit, kept readable as a numbered list."""
    lines = []
    for number, button in enumerate(buttons, start=start):
        label = " ".join(str(button.get("title") or button.get("payload") or "").split())
        url = button.get("url")
        lines.append(f"{number}. {label}" + (f": {url}" if url else ""))
    return "\n".join(lines)


def build_messages(text: str, buttons: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Zalo `message` objects for one Rasa reply; buttons ride on the last chunk."""
    buttons = list(buttons or [])
    shown, overflow = buttons[:MAX_BUTTONS], buttons[MAX_BUTTONS:]
    if overflow:
        text = f"{text}\n{_numbered_lines(overflow, start=MAX_BUTTONS + 1)}".strip()
    if shown and not text.strip():
        text = DEFAULT_BUTTON_PROMPT
    messages: list[dict[str, Any]] = [{"text": chunk} for chunk in split_text(text, MAX_TEXT_CHARS)]
    if shown:
        messages[-1]["attachment"] = {
            "type": "template",
            "payload": {"buttons": [zalo_button(b) for b in shown]},
        }
    return messages


def request_body(user_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of `POST /v3.0/oa/message/cs`."""
    return {"recipient": {"user_id": user_id}, "message": message}
