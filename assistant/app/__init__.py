"""The app server (.venv, Python 3.11): FastAPI web layer, custom actions and the answering modules.

Imports assistant.core, knowledge_base and the connectors' Zalo delivery; never the Rasa room or the CLI.
"""
