"""Mask personal data (ID card and phone numbers) in every log record of the process.

Citizens type CCCD/CMND and phone numbers into the chat, and libraries (Rasa, uvicorn, our
actions) log user text. Masking at record creation, via the log-record factory, covers every
logger and every handler, including ones configured later by Rasa or uvicorn; masking in a
single handler or logger filter would miss records that bypass it.

Framework-free (stdlib + assistant.core.privacy) so the Rasa process (Python 3.10) can use it too.
"""

from __future__ import annotations

import logging

from assistant.core.privacy import mask_pii

_installed = False


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replace the record's message (and exception text) by its masked form, in place."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: let logging report it as it normally would
        return record
    record.msg = mask_pii(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_pii(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask_pii(record.exc_text)
    return record


class PiiMaskingFilter(logging.Filter):
    """For handlers that must mask on their own (e.g. set up before `install_pii_log_masking`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install_pii_log_masking() -> None:
    """Make every log record created from now on carry a masked message. Idempotent."""
    global _installed
    if _installed:
        return
    previous_factory = logging.getLogRecordFactory()

    def masking_factory(*args, **kwargs) -> logging.LogRecord:
        return mask_record(previous_factory(*args, **kwargs))

    logging.setLogRecordFactory(masking_factory)
    _installed = True
