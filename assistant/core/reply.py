"""Channel-neutral bot replies, and fitting them to what a channel can show.

The actions compose a `Reply` (text + buttons + links + the `ReplyOutcome` it stands for); connectors call
`fit_to_channel` to split long text at their length limit (`split_text`) and to turn buttons into a numbered
list where the channel has no buttons. Nothing here knows about procedures or about a specific channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class ReplyOutcome(str, Enum):
    """What a bot turn did for the citizen: the one list of outcome names (the interaction log, the dashboard,
    /metrics). Each reply states its own (`Reply.outcome`), so rewording a reply never changes the figures."""

    answered = "answered"  # a procedure was answered
    asked_back = "asked_back"  # several procedures fit, or which one is meant: the citizen is asked
    not_in_catalogue = "not_in_catalogue"  # an administrative question the catalogue does not hold: declined
    off_topic = "off_topic"  # not an administrative question (utter_out_of_scope)
    abstained = "abstained"  # nothing fits: "không tìm thấy", the fallback's suggestions
    handed_off = "handed_off"  # the citizen asked for a human
    small_talk = "small_talk"
    feedback = "feedback"
    dossier_tracking = "dossier_tracking"
    unavailable = "unavailable"  # the catalogue could not be opened
    other = "other"  # a reply that states no outcome


# The key a custom action's message carries its outcome under, from the action to the app server's action
# endpoint; the endpoint takes it off before the message goes back to Rasa (assistant/app/server/routers/actions.py).
OUTCOME_KEY = "tthc_outcome"


@dataclass(frozen=True)
class Button:
    """A quick reply: `payload` is sent back as the citizen's message (an intent, docs/conversation-contract.md);
    a link button (`url` set) opens the page instead. A `url` starting with "/" is a page of the app server
    (e.g. /checklist/<code>): the web widget resolves it against its own origin, the Zalo connector against
    its configured `public_url`."""

    title: str
    payload: str = ""
    url: str = ""

    def as_rasa(self) -> dict[str, str]:
        if self.url:
            return {"title": self.title, "type": "web_url", "url": self.url, "payload": self.url}
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass
class Reply:
    """One bot turn: body text, optional buttons, optional links (rendered after the body), and what the turn
    did (`outcome`: stated by the function that composes the reply, e.g. `assistant.app.answers.abstain`)."""

    text: str
    buttons: list[Button] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    outcome: ReplyOutcome = ReplyOutcome.other

    def full_text(self) -> str:
        """Body followed by one line per link, for channels that show plain text."""
        lines = [self.text.strip()] if self.text.strip() else []
        if self.links:
            lines.append("\n".join(f"{link.title}: {link.url}" for link in self.links))
        return "\n\n".join(lines)


@dataclass(frozen=True)
class ChannelMessage:
    """A piece of a reply that fits one channel message."""

    text: str
    buttons: tuple[Button, ...] = ()


_SENTENCE_END = re.compile(r"[.!?…;:](?=\s)")


def _cut_position(text: str, limit: int) -> int:
    """Where to cut `text` (longer than limit).

    The coarsest boundary (paragraph, line, sentence end) in the second half of the window, so no
    chunk is left less than half full; failing those, the last space; inside a word only when the
    first word alone is longer than the limit.
    """
    window = text[: limit + 1]
    floor = limit // 2
    for boundary in ("\n\n", "\n"):
        at = window.rfind(boundary)
        if at >= floor:
            return at
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() >= floor]
    if sentence_ends:
        return sentence_ends[-1]
    at = window.rfind(" ")
    return at if at > 0 else limit


def split_text(text: str, limit: int) -> list[str]:
    """Split text into chunks of at most `limit` characters, at paragraph, line, sentence or word boundaries.

    The one splitter for every channel (the actions' `fit_to_channel` and the Zalo connector), so a
    checklist line is rarely broken. Always at least one chunk (`[""]` for blank text), so a reply
    made only of buttons still has a message to carry them.
    """
    if limit <= 0:
        raise ValueError("limit must be a positive number of characters")
    chunks: list[str] = []
    remaining = text.strip()
    while len(remaining) > limit:
        cut = _cut_position(remaining, limit)
        chunk = remaining[:cut].rstrip()
        if chunk:
            chunks.append(chunk)
        remaining = remaining[cut:].lstrip()
    if remaining or not chunks:
        chunks.append(remaining)
    return chunks


def numbered_options(buttons: list[Button] | tuple[Button, ...]) -> str:
    """Buttons as a numbered list; the numbers match the option_index the user can type back (a link
    button shows its address)."""
    return "\n".join(
        f"{number}. {button.title}" + (f": {button.url}" if button.url else "")
        for number, button in enumerate(buttons, start=1)
    )


def fit_to_channel(
    reply: Reply, max_chars: int, supports_buttons: bool = True, max_buttons: int = 5
) -> list[ChannelMessage]:
    """Render a reply as one or more channel messages.

    Buttons stay on the last message when the channel has them (at most `max_buttons`);
    otherwise they become a numbered list in the text (the user replies with the number).
    """
    text = reply.full_text()
    buttons = tuple(reply.buttons[:max_buttons]) if supports_buttons else ()
    if reply.buttons and not supports_buttons:
        text = f"{text}\n\n{numbered_options(reply.buttons)}\n(Anh/Chị trả lời bằng số thứ tự.)"
    chunks = split_text(text, max_chars)
    messages = [ChannelMessage(chunk) for chunk in chunks[:-1]]
    messages.append(ChannelMessage(chunks[-1], buttons))
    return messages
