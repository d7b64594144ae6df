"""The shared core: settings, storage, errors, replies, rate limits, input cleaning, logging and PII masking.

Imported by both runtimes (the Rasa process on Python 3.10 and the app server on 3.11), the connectors and
the CLI; imports neither runtime room, nor Rasa or FastAPI (docs/architecture.md, "Layout").
"""
