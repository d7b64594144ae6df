"""Custom Rasa actions served by the app server at /webhook (rasa-sdk, package `assistant.app.actions`).

The actions are thin: they read the tracker, call plain modules (procedure_context, answers,
conversation_log, dossier_tracking) and turn the result into messages and slot events.
Names follow docs/conversation-contract.md.
"""
