"""Zalo Official Account channel for Rasa (`connectors.zalo.channel.ZaloInput`); see docs/zalo.md."""
