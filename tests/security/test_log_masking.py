"""Every log record, from any logger and through any handler, has ID and phone numbers masked."""

from __future__ import annotations

import logging

import pytest

from assistant.core import logging_setup
from assistant.core.logging_setup import PiiMaskingFilter, install_pii_log_masking, mask_record

CCCD = "079203012345"
PHONE = "0912 345 678"


@pytest.fixture
def restore_record_factory():
    factory = logging.getLogRecordFactory()
    installed = logging_setup._installed
    logging_setup._installed = False
    yield
    logging.setLogRecordFactory(factory)
    logging_setup._installed = installed


def test_installed_factory_masks_args_and_message(restore_record_factory, caplog):
    install_pii_log_masking()
    install_pii_log_masking()  # idempotent: no double wrapping
    logger = logging.getLogger("tthc.test.masking")
    with caplog.at_level(logging.INFO, logger="tthc.test.masking"):
        logger.info("user said: %s", f"CCCD của tôi là {CCCD}, gọi {PHONE} nhé")
        logger.warning(f"inline {CCCD}")
    text = caplog.text
    assert CCCD not in text and PHONE not in text
    assert "gọi" in text and "[số CCCD đã ẩn]" in text and "[SĐT đã ẩn]" in text


def test_exception_text_is_masked(restore_record_factory, caplog):
    install_pii_log_masking()
    logger = logging.getLogger("tthc.test.masking")
    with caplog.at_level(logging.ERROR, logger="tthc.test.masking"):
        try:
            raise ValueError(f"bad input {CCCD}")
        except ValueError:
            logger.exception("failed")
    assert CCCD not in caplog.text
    assert "ValueError" in caplog.text


def test_filter_for_existing_handlers_masks_in_place():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "CMND %s", ("290123456",), None)
    assert PiiMaskingFilter().filter(record) is True
    assert record.getMessage() == "CMND [số CMND đã ẩn]"


def test_broken_format_string_is_left_for_logging_to_report():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("not a number",), None)
    assert mask_record(record).args == ("not a number",)


def test_ordinary_numbers_are_kept(restore_record_factory, caplog):
    install_pii_log_masking()
    logger = logging.getLogger("tthc.test.masking")
    with caplog.at_level(logging.INFO, logger="tthc.test.masking"):
        logger.info("lệ phí %s đồng, thủ tục %s, ngày %s", "100.000", "1.001234", "12/03/2025")
    assert "100.000 đồng, thủ tục 1.001234, ngày 12/03/2025" in caplog.text
