"""The Rasa environment (pydantic 1, no pydantic-settings) reads the same settings fields from the same files."""

from __future__ import annotations

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa environment: .venv-rasa/bin/python -m pytest tests/rasa_env")

from assistant.core.settings import SettingsError, load_settings  # noqa: E402


def test_settings_load_with_environment_overrides():
    settings = load_settings(environ={"TTHC_SERVER__APP_PORT": "8123", "TTHC_PROVINCE__HOTLINE": "0276 1"})
    assert settings.server.app_port == 8123
    assert settings.province.hotline == "0276 1"
    assert settings.server.rasa_port == 5005  # from settings.yml / the defaults


def test_a_bad_value_is_one_line_naming_the_key():
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"TTHC_SERVER__APP_PORT": "abc"})
    assert "\n" not in str(caught.value) and "TTHC_SERVER__APP_PORT" in str(caught.value)
