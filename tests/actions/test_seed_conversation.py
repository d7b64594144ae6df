"""The actions over the shipped seed catalogue (the default on a fresh machine), BM25 index."""

from __future__ import annotations

from assistant.app.actions.procedures import ActionAnswerProcedure

answer = ActionAnswerProcedure()


def test_documents_then_fee_follow_up_then_another_procedure(seed, chat):
    chat.turn(answer, "Đăng ký khai sinh cần những giấy tờ gì?", "ask_documents")
    birth = seed.get(chat.slots["procedure_code"])
    assert birth is not None and "khai sinh" in birth.title.lower()
    assert all(f"☐ {d.name.strip()}" in chat.text for d in birth.documents[:3])
    assert birth.source_url in chat.text

    chat.turn(answer, "còn lệ phí thì sao?", "ask_fee")
    assert chat.slots["procedure_code"] == birth.code
    assert chat.text.startswith(f"Dạ, phí, lệ phí của «{birth.title}»")

    chat.turn(answer, "thế còn cấp phiếu lý lịch tư pháp thì mất bao lâu", "ask_processing_time")
    switched = seed.get(chat.slots["procedure_code"]) if chat.slots["procedure_code"] else None
    offered = [seed.get(code).title.lower() for code in chat.slots["candidate_codes"] or []]
    assert (switched and "lý lịch tư pháp" in switched.title.lower()) or (
        chat.buttons and all("lý lịch tư pháp" in title for title in offered)
    )
