"""Replies composed from every real national-portal record stay short and state only published facts."""

from __future__ import annotations

import re

import pytest

from assistant.app import answers
from assistant.core.settings import load_settings

pytestmark = pytest.mark.full_catalog
MAX_REPLY_CHARS = 3300  # body (checklist capped at ~2,500) plus the links


@pytest.fixture(scope="module")
def real_procedures(national_catalog):
    from knowledge_base.importers import load_catalog

    return load_catalog(national_catalog).procedures


def _published_fee_text(procedure) -> str:
    parts = []
    for channel in procedure.channels:
        parts.append(channel.fee.text)
        if channel.fee.amount_vnd is not None:
            parts.append(f"{channel.fee.amount_vnd:,}".replace(",", "."))
    return " ".join(parts)


def test_every_aspect_of_every_record_fits_a_short_reply(real_procedures):
    settings = load_settings(environ={})
    too_long = [
        (p.code, aspect, len(text))
        for p in real_procedures
        for aspect in answers.ASPECTS
        if len(text := answers.answer(p, aspect, settings).full_text()) > MAX_REPLY_CHARS
    ]
    assert len(real_procedures) > 2000
    assert too_long == []


def test_fee_replies_quote_only_published_amounts(real_procedures):
    settings = load_settings(environ={})
    invented = []
    for procedure in real_procedures:
        text = answers.answer(procedure, "fee", settings).text
        published = _published_fee_text(procedure)
        stated = any(
            c.fee.text.strip() or c.fee.amount_vnd is not None or c.fee.free is not None for c in procedure.channels
        )
        if ("không nêu phí, lệ phí" in text) == stated:
            invented.append((procedure.code, "stated/not-stated mismatch"))
        for amount in re.findall(r"(\d[\d.]*) ?đồng", text):
            if amount not in published:
                invented.append((procedure.code, amount))
    assert invented == []
