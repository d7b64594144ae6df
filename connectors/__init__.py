"""Channels (web chat, Zalo OA). They know channels, not procedures."""
