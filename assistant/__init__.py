"""Trợ lý TTHC, one room per runtime: `core/` (shared), `rasa_process/` (the Rasa process), `app/` (the app server),
`cli/` (the `tthc` command). docs/architecture.md, "Layout", says who may import whom."""
