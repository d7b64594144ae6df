"""What the citizen sees after a guide card in the web chat: the next-step quick replies, in order.

Written out here once, as the expected order (not read from the code under test), for the tests of the
actions, the reply model, the conversation through Rasa and the page in Chromium."""

from __future__ import annotations

WEB_CHAT_NEXT_STEPS = [
    "Các bước",
    "Giấy tờ",
    "Nộp trực tuyến",
    "Nơi nộp",
    "Lệ phí",
    "Thời gian",
    "Gửi danh sách giấy tờ",
    "Gặp cán bộ",
]
