"""mask_pii beyond ID and phone numbers: e-mails and street addresses with a house number, while
the question around them and ordinary numbers stay readable for staff."""

from __future__ import annotations

import pytest

from assistant.core.privacy import ADDRESS_MASK, EMAIL_MASK, mask_pii


@pytest.mark.parametrize(
    "text, expected",
    [
        ("email em là nguyen.van.a+tthc@gmail.com nhé", f"email em là {EMAIL_MASK} nhé"),
        ("nhà em ở 123 đường Nguyễn Huệ cần làm gì", f"nhà em ở {ADDRESS_MASK} cần làm gì"),
        ("số 45/2 hẻm 7 Trần Hưng Đạo, phường 1", f"{ADDRESS_MASK}, phường 1"),
        ("địa chỉ 12A Đường 30/4 thì nộp ở đâu", f"địa chỉ {ADDRESS_MASK} thì nộp ở đâu"),
        ("tôi ở số nhà 12B xin hỏi", f"tôi ở {ADDRESS_MASK} xin hỏi"),
        ("12 ngõ 5 phố Huế", f"{ADDRESS_MASK}"),
        ("nha o 77 duong Le Loi", f"nha o {ADDRESS_MASK}"),
        ("so 9 duong le loi", f"{ADDRESS_MASK} le loi"),
    ],
)
def test_emails_and_street_addresses_are_masked(text, expected):
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "đường dây nóng hỗ trợ",
        "mất 15 ngày làm việc",
        "có 3 đường nộp hồ sơ",  # no house number: a count, not an address
        "lệ phí 1.000.000 đồng, nộp tại Phòng 3",
        "Nghị định 123/2015/NĐ-CP",
        "trẻ 14 tuổi làm căn cước",
    ],
)
def test_ordinary_text_is_kept(text):
    assert mask_pii(text) == text


def test_everything_at_once():
    text = "CCCD 079203001234, sđt 0912345678, mail a@b.vn, nhà 5 đường Lê Lợi"
    masked = mask_pii(text)
    for secret in ("079203001234", "0912345678", "a@b.vn", "Lê Lợi"):
        assert secret not in masked
