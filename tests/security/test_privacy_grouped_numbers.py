"""Issue 12: ID and phone numbers typed in groups ("079 203 001 234", "0909.123.456") are masked like
the contiguous ones, while amounts, dates and receipt codes stay readable for staff."""

from __future__ import annotations

import logging

import pytest

from assistant.core.privacy import CCCD_MASK, CMND_MASK, PHONE_MASK, mask_pii


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CCCD 079 203 001 234 nhé", f"CCCD {CCCD_MASK} nhé"),
        ("số 079.203.001.234", f"số {CCCD_MASK}"),
        ("079-203-001-234 bị mất", f"{CCCD_MASK} bị mất"),
        ("CCCD: 0792 0300 1234", f"CCCD: {CCCD_MASK}"),
        ("căn cước số 079203001234 bị mất", f"căn cước số {CCCD_MASK} bị mất"),
        ("CCCD 079 203 001 234 5 bản", f"CCCD {CCCD_MASK} 5 bản"),
        ("CMND 123 456 789", f"CMND {CMND_MASK}"),
        ("CMND 123-456-789", f"CMND {CMND_MASK}"),
        ("cmnd: 123.456.789 và sđt 0909 123 456", f"cmnd: {CMND_MASK} và sđt {PHONE_MASK}"),
        ("chứng minh nhân dân số 12.345.6789", f"chứng minh nhân dân số {CMND_MASK}"),
        ("sđt 0909.123.456", f"sđt {PHONE_MASK}"),
        ("gọi 0909 123 456 hoặc 0912-345-678", f"gọi {PHONE_MASK} hoặc {PHONE_MASK}"),
        ("+84 909 123 456", PHONE_MASK),
        ("máy bàn 0276 3822 123", f"máy bàn {PHONE_MASK}"),
    ],
)
def test_grouped_and_dotted_numbers_are_masked(text, expected):
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "lệ phí 150.000.000 đồng",
        "phí 1.200.000 đồng",
        "giá 100.000 200.000",
        "ngày 12.03.2024",
        "mã hồ sơ 000.00.12.H57-240101-0001",
        "năm 2024 2025 2026",
        "căn cước cần 2 ảnh 3x4 và 1 bản sao",
        "CCCD hết hạn năm 2025 thì sao",
    ],
)
def test_amounts_dates_and_codes_stay(text):
    assert mask_pii(text) == text


def test_grouped_numbers_are_masked_in_log_records(caplog):
    from assistant.core.logging_setup import PiiMaskingFilter

    logger = logging.getLogger("tthc.test.grouped")
    logger.addFilter(PiiMaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="tthc.test.grouped"):
            logger.info("citizen wrote: %s", "CCCD 079 203 001 234, sđt 0909.123.456")
    finally:
        logger.filters.clear()
    assert "079 203" not in caplog.text and "0909.123" not in caplog.text
    assert CCCD_MASK in caplog.text and PHONE_MASK in caplog.text
