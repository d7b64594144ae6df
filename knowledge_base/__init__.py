"""Catalogue of administrative procedures: schema, importers, index and search. Must not import Rasa."""
