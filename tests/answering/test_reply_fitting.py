"""Splitting replies to channel limits and degrading buttons (assistant.core.reply)."""

from __future__ import annotations

import pytest

from assistant.core.reply import Button, Link, Reply, fit_to_channel, split_text

CHECKLIST = "\n".join(f"☐ Giấy tờ số {n}: bản sao có chứng thực — 1 bản" for n in range(1, 40))


def test_split_respects_the_limit_and_keeps_lines_whole():
    chunks = split_text(CHECKLIST, 300)
    assert len(chunks) > 1
    assert all(len(chunk) <= 300 for chunk in chunks)
    assert "\n".join(chunks).splitlines() == CHECKLIST.splitlines()


def test_split_cuts_inside_a_word_only_when_one_word_is_longer_than_the_limit():
    url = "https://dichvucong.gov.vn/" + "x" * 120
    chunks = split_text(f"Xem {url} nhé", 50)
    assert all(len(chunk) <= 50 for chunk in chunks)
    assert "".join(chunks).replace(" ", "") == f"Xem{url}nhé"


def test_split_rejects_a_non_positive_limit():
    with pytest.raises(ValueError):
        split_text("abc", 0)


def test_buttons_stay_on_the_last_message_where_the_channel_has_them():
    reply = Reply(
        "Anh/Chị muốn hỏi thủ tục nào?",
        [Button(f"Thủ tục {n}", f"/choose_option{n}") for n in range(1, 8)],
        [Link("Cổng", "https://dichvucong.gov.vn")],
    )
    messages = fit_to_channel(reply, max_chars=2000, supports_buttons=True, max_buttons=5)
    assert len(messages) == 1
    assert [b.title for b in messages[0].buttons] == [f"Thủ tục {n}" for n in range(1, 6)]
    assert "Cổng: https://dichvucong.gov.vn" in messages[0].text


def test_buttons_become_a_numbered_list_without_button_support():
    reply = Reply(CHECKLIST, [Button("Đăng ký khai sinh", "/a"), Button("Đăng ký khai sinh lưu động", "/b")])
    messages = fit_to_channel(reply, max_chars=500, supports_buttons=False)
    assert all(not m.buttons for m in messages)
    assert all(len(m.text) <= 500 for m in messages)
    assert messages[-1].text.endswith(
        "1. Đăng ký khai sinh\n2. Đăng ký khai sinh lưu động\n(Anh/Chị trả lời bằng số thứ tự.)"
    )
