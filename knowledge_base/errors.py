"""Errors the knowledge base reports to people: the message names the fix."""


class KnowledgeBaseError(Exception):
    """Unusable input or state (missing index, bad catalogue path, …). str() is a one-line message."""
