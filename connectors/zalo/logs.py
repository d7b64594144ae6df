"""Logging for the Zalo connector: personal numbers masked, Zalo user ids pseudonymised.

Masking uses the project's one PII masker (`assistant.core.logging_setup`), attached to the
connector's loggers so their lines are masked even before the process-wide masking is installed.
Zalo user ids are not typed by citizens but still identify one; log lines carry a short stable
hash instead, enough to follow one conversation through the log.
"""

from __future__ import annotations

import hashlib
import logging

from assistant.core.logging_setup import PiiMaskingFilter


def connector_logger(name: str) -> logging.Logger:
    """A module logger whose records are masked."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, PiiMaskingFilter) for f in logger.filters):
        logger.addFilter(PiiMaskingFilter())
    return logger


def user_ref(user_id: str) -> str:
    """A short, stable stand-in for a Zalo user id in log lines."""
    return "zu-" + hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:10]
