"""The app server: custom-action endpoint for Rasa, knowledge-base API and web pages."""
