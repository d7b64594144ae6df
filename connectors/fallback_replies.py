"""Fixed replies a channel sends when the bot could not answer (no Rasa import: the load test reads them)."""

# A turn that produced no bot message (action server down, an exception in Rasa).
SILENCE_REPLY = (
    "Dạ, xin lỗi Anh/Chị, hệ thống đang gặp sự cố nên tôi chưa trả lời được câu hỏi này. "
    "Anh/Chị vui lòng thử lại sau ít phút, hoặc tra cứu thủ tục tại https://dichvucong.gov.vn."
)
