"""Mask personal numbers (phone, CCCD/CMND, Zalo user ids) before they reach a log line.

Citizens type ID and phone numbers into chats, and Zalo user ids identify a person, so every
log record of the connector passes through `MaskingFilter`.
"""
from __future__ import annotations

import logging
import re

# 9+ digits, optionally separated by spaces, dots or dashes (e.g. "0912 345 678", "+84 912.345.678").
_NUMBER_RUN = re.compile(r"\+?\d(?:[ .\-]?\d){8,}")
KEEP_LAST_DIGITS = 3


def mask_numbers(text: str) -> str:
    """Replace every run of 9 or more digits by asterisks, keeping its last 3 digits."""

    def _mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "*" * (len(digits) - KEEP_LAST_DIGITS) + digits[-KEEP_LAST_DIGITS:]

    return _NUMBER_RUN.sub(_mask, text)


class MaskingFilter(logging.Filter):
    """Rewrites a record's rendered message with `mask_numbers` (args are folded in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_numbers(record.getMessage())
        record.args = ()
        return True


def masked_logger(name: str) -> logging.Logger:
    """A module logger that masks personal numbers in every record it emits."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, MaskingFilter) for f in logger.filters):
        logger.addFilter(MaskingFilter())
    return logger
