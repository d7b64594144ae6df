"""Errors shown to the operator as one line naming the fix (no traceback)."""


class SetupError(Exception):
    """A missing or broken prerequisite (Python 3.10, a port in use, a stale model …)."""
