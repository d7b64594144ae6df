from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from assistant.core.errors import SetupError
from assistant.core.settings import PROJECT_ROOT, SettingsError, load_settings


def test_defaults_come_from_settings_yml():
    settings = load_settings(environ={})
    assert settings.server.app_port == 8000
    assert settings.province.name == "Tây Ninh"
    assert settings.resolve(settings.catalog.seed_path) == PROJECT_ROOT / "knowledge_base" / "catalog"


def test_env_vars_override_nested_keys_with_typed_values():
    settings = load_settings(
        environ={
            "TTHC_SERVER__APP_PORT": "8123",
            "TTHC_PROVINCE__HOTLINE": "0276 123 456",
            "TTHC_SERVER__ALLOWED_ORIGINS": '["https://tayninh.gov.vn"]',
            "UNRELATED": "x",
        }
    )
    assert settings.server.app_port == 8123
    assert settings.province.hotline == "0276 123 456"
    assert settings.server.allowed_origins == ["https://tayninh.gov.vn"]


def test_config_file_can_be_replaced(tmp_path: Path):
    config = tmp_path / "other.yml"
    config.write_text("province:\n  name: Long An\nserver:\n  rasa_port: 5999\n", encoding="utf-8")
    settings = load_settings(environ={"TTHC_CONFIG": str(config)}, root=tmp_path)
    assert settings.province.name == "Long An"
    assert settings.server.rasa_port == 5999
    assert settings.server.app_port == 8000  # unset keys keep their defaults


def test_settings_are_a_pydantic_settings_object():
    assert isinstance(load_settings(environ={}), BaseSettings)


def test_the_process_environment_is_read_only_when_no_environ_is_given(monkeypatch):
    monkeypatch.setenv("TTHC_SERVER__APP_PORT", "8124")
    assert load_settings().server.app_port == 8124
    assert load_settings(environ={}).server.app_port == 8000


def test_a_bad_value_is_one_line_naming_the_key_and_the_fix():
    with pytest.raises(SetupError) as caught:
        load_settings(environ={"TTHC_SERVER__APP_PORT": "abc"})
    message = str(caught.value)
    assert "\n" not in message
    assert "server.app_port" in message and "TTHC_SERVER__APP_PORT" in message


def test_a_broken_settings_file_is_one_line(tmp_path: Path):
    config = tmp_path / "broken.yml"
    config.write_text("server: [unclosed\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"TTHC_CONFIG": str(config)}, root=tmp_path)
    assert "\n" not in str(caught.value) and str(config) in str(caught.value)
