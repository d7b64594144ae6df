"""Trợ lý TTHC: Rasa components, custom actions, app server, settings and the `tthc` CLI."""
