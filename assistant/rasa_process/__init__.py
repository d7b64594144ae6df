"""Code the Rasa process loads (.venv-rasa, Python 3.10): NLU components, tracker and lock stores, the entry
module with the Rasa patches. Imports assistant.core, connectors and knowledge_base.text/english only.
"""
