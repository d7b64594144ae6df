"""One voice (issue 15, item 7; docs/conversation-contract.md, "Voice"): every text a citizen reads calls the
assistant "tôi" (never "em", "mình", "bot"), the staff "cán bộ" (never "nhân viên"), the citizen "Anh/Chị",
and answers open with "Dạ"."""

from __future__ import annotations

import inspect
import re

import yaml

from assistant.app import answers
from assistant.core.settings import PROJECT_ROOT
from connectors import fallback_replies

WRONG_WORDS = re.compile(r"(?<!\w)(?:em|mình|bot|nhân viên|anh chị|bạn)(?!\w)", re.IGNORECASE)


def domain_texts() -> dict[str, list[str]]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: [variation["text"] for variation in variations] for name, variations in domain["responses"].items()}


def citizen_texts_in_source(path) -> list[str]:
    """The Vietnamese string literals of a source file (code and comments are English)."""
    text = path.read_text(encoding="utf-8")
    return [s for s in re.findall(r'"((?:[^"\\\n]|\\.)*)"', text) if re.search(r"[À-ỹ]", s)]


def test_domain_responses_speak_with_one_voice():
    for name, texts in domain_texts().items():
        for text in texts:
            assert not WRONG_WORDS.search(text), f"{name}: {text}"
            assert "Anh/Chị" in text or name == "utter_goodbye", f"{name}: {text}"


def test_domain_answers_open_with_da():
    questions = {"utter_anything_else"}  # asks a question back: no "Dạ" needed
    for name, texts in domain_texts().items():
        if name not in questions:
            assert all(text.startswith("Dạ") for text in texts), name


def test_replies_composed_in_code_speak_with_one_voice():
    sources = [
        inspect.getsourcefile(answers),
        inspect.getsourcefile(fallback_replies),
        PROJECT_ROOT / "connectors" / "zalo" / "channel.py",
        PROJECT_ROOT / "connectors" / "webchat" / "static" / "widget.js",
    ]
    for source in sources:
        for text in citizen_texts_in_source(PROJECT_ROOT / source):
            assert not WRONG_WORDS.search(text), f"{source}: {text}"
