"""Custom Rasa NLU components (loaded by Rasa from the project directory; no torch, no knowledge_base)."""
