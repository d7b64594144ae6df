"""Turn Rasa replies (text, buttons, links) into Zalo OA "cs" message objects.

Zalo rejects text over 2,000 characters (error -210) instead of truncating it and limits a
button title to 100 characters. A text with buttons is one message whose `attachment` is a
`template` holding only `buttons` (no `template_type`). An `oa.query.show` button, when tapped,
appears in the chat as the citizen's own message with the button's payload as its text, and comes
back as a `user_send_text` event with that text. So the payload we send is the button's title
(the citizen sees "Đăng ký khai sinh" appear, never `/choose_option{"option_index":"2"}`), and
the channel remembers which Rasa payload each title stands for (`query_payloads`, kept in the
store) to hand Rasa the payload when the title comes back. We show at most 5 buttons (the assistant
never offers more choices at once); any further ones stay readable as a numbered list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from assistant.core.reply import split_text

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


def _is_link(button: dict[str, Any]) -> bool:
    return bool(button.get("url")) or button.get("type") == "web_url"


def button_title(button: dict[str, Any], number: int = 1) -> str:
    """What the citizen reads on the button (and, for a query button, sees sent when tapping it).
    A Rasa intent payload ("/intent{…}") is never shown: without a title the button is numbered."""
    title = button.get("title") or (button.get("url") if _is_link(button) else "")
    payload = str(button.get("payload") or "")
    if not title and payload and not payload.startswith("/"):
        title = payload
    return _short_title(title or f"Lựa chọn {number}")


def zalo_button(button: dict[str, Any], number: int = 1) -> dict[str, Any]:
    """One Rasa button as a Zalo button: links open the URL, others send their title back."""
    title = button_title(button, number)
    if _is_link(button):
        return {
            "title": title,
            "type": URL_BUTTON,
            "payload": {"url": str(button.get("url") or button.get("payload", ""))},
        }
    return {"title": title, "type": QUERY_BUTTON, "payload": title}


def with_site_links(buttons: list[dict[str, Any]] | None, public_url: str) -> list[dict[str, Any]]:
    """Link buttons to the app's own pages ("/checklist/<code>") made absolute with the site's public origin;
    without one they are left out (Zalo opens only absolute http(s) links)."""
    shown = []
    for button in buttons or []:
        url = str(button.get("url") or "") if _is_link(button) else ""
        if url.startswith("/"):
            if not public_url:
                continue
            button = {**button, "url": public_url.rstrip("/") + url}
            button.pop("payload", None)
        shown.append(button)
    return shown


def query_payloads(buttons: list[dict[str, Any]] | None) -> dict[str, str]:
    """Title → Rasa payload of the query buttons `build_messages` shows (the channel stores it)."""
    shown = list(buttons or [])[:MAX_BUTTONS]
    return {
        button_title(b, n): str(b.get("payload") or b.get("title") or "")
        for n, b in enumerate(shown, start=1)
        if not _is_link(b)
    }


def _numbered_lines(buttons: Iterable[dict[str, Any]], start: int) -> str:
    """Buttons beyond Zalo's limit, kept readable as a numbered list."""
    lines = []
    for number, button in enumerate(buttons, start=start):
        label = " ".join(button_title(button, number).split())
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
            "payload": {"buttons": [zalo_button(b, n) for n, b in enumerate(shown, start=1)]},
        }
    return messages


def request_body(user_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of `POST /v3.0/oa/message/cs`."""
    return {"recipient": {"user_id": user_id}, "message": message}
