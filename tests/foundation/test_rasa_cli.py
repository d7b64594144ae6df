"""`tthc rasa …`: Rasa's own commands from the project root, with the project's paths and `tthc up`'s ${VAR}s."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from assistant.cli import main as tthc_main
from assistant.cli import rasa as rasa_cli
from assistant.core.settings import PROJECT_ROOT, get_settings

TTHC = PROJECT_ROOT / ".venv" / "bin" / "tthc"
needs_rasa_env = pytest.mark.skipif(
    not (PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa").exists(), reason="needs the Rasa environment .venv-rasa"
)


def tthc_rasa(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TTHC_CATALOG__DATA_DIR=str(data_dir), RASA_TELEMETRY_ENABLED="false")
    return subprocess.run(
        [str(TTHC), "rasa", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@needs_rasa_env
def test_data_validate_checks_the_projects_data(tmp_path: Path):
    result = tthc_rasa("data", "validate", data_dir=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "Validating intents" in output and "No story structure conflicts found" in output
    assert "does not exist" not in output  # nlu_data/ and domain.yml found, no fall-back to Rasa's data/


@needs_rasa_env
def test_arguments_go_to_rasa_unchanged(tmp_path: Path):
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\n', encoding="utf-8")
    (tmp_path / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - chào\n'
        "- intent: hoi_le_phi\n  examples: |\n    - lệ phí bao nhiêu\n",
        encoding="utf-8",
    )
    args = ("data", "validate", "--domain", str(tmp_path / "domain.yml"), "--data", str(tmp_path / "nlu.yml"))
    lenient = tthc_rasa(*args, data_dir=tmp_path)
    assert lenient.returncode == 0, lenient.stderr[-2000:]
    assert "intent 'hoi_le_phi'" in lenient.stderr  # Rasa read our files, not the project's
    strict = tthc_rasa(*args, "--fail-on-warnings", data_dir=tmp_path)
    assert strict.returncode == 1  # and took the flag
    version = tthc_rasa("--version", data_dir=tmp_path)  # options tthc itself does not know reach Rasa too
    assert version.returncode == 0 and re.search(r"Rasa Version\s*:\s*3\.6\.21", version.stdout)


def endpoint_variables() -> set[str]:
    text = "".join((PROJECT_ROOT / name).read_text(encoding="utf-8") for name in ("endpoints.yml", "credentials.yml"))
    # the ${VAR}s Rasa substitutes (comments mention ${VAR} and ${VARS} as words)
    return set(re.findall(r":\s*\$\{(\w+)\}", text))


@pytest.fixture
def captured(monkeypatch, tmp_path: Path):
    """`tthc rasa …` in-process, recording the Rasa command it runs and the app server it starts."""
    calls: dict = {"started": [], "stopped": []}
    monkeypatch.setenv("TTHC_CATALOG__DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TTHC_ACTION_TOKEN", raising=False)
    get_settings.cache_clear()

    def run(command, cwd, env):
        calls.update(command=command, cwd=cwd, env=env)
        return subprocess.CompletedProcess(command, 3)

    def start_action_server(settings):
        calls["started"].append(settings.server.app_url)
        return "app server"

    monkeypatch.setattr(rasa_cli.subprocess, "run", run)
    monkeypatch.setattr(rasa_cli, "start_action_server", start_action_server)
    monkeypatch.setattr(rasa_cli.processes, "stop_all", lambda servers: calls["stopped"].extend(servers))
    yield calls
    get_settings.cache_clear()


@needs_rasa_env
def test_rasa_runs_from_the_root_in_the_rasa_env_with_every_variable_tthc_up_fills(captured, tmp_path: Path):
    assert tthc_main(["rasa", "train", "--debug", "--fixed-model-name", "x"]) == 3  # Rasa's exit code
    command = captured["command"]
    assert command[0] == str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python")
    assert command[1:] == [
        "-m",
        "assistant.rasa_process.entry",
        "--project-defaults",
        "train",
        "--debug",
        "--fixed-model-name",
        "x",
    ]
    assert captured["cwd"] == PROJECT_ROOT
    env = captured["env"]
    variables = endpoint_variables()
    assert {"TTHC_ACTION_ENDPOINT_URL", "TTHC_ACTION_TOKEN", "TTHC_TRACKER_DB", "ZALO_APP_ID"} <= variables
    assert variables <= set(env), f"not filled: {variables - set(env)}"
    assert env["TTHC_TRACKER_DB"] == str(tmp_path / "rasa_tracker.db")
    assert env["TTHC_ACTION_ENDPOINT_URL"].endswith("/webhook") and len(env["TTHC_ACTION_TOKEN"]) >= 40
    assert captured["started"] == []  # training runs no custom action


@needs_rasa_env
def test_shell_gets_an_app_server_for_its_actions_and_stops_it(captured):
    assert tthc_main(["rasa", "shell", "--debug"]) == 3
    assert len(captured["started"]) == 1 and captured["stopped"] == ["app server"]
    captured["started"].clear()
    tthc_main(["rasa", "shell", "--help"])
    tthc_main(["rasa", "shell", "nlu"])
    assert captured["started"] == []


def test_a_running_app_server_with_its_own_token_is_one_line_naming_the_fix(monkeypatch, tmp_path: Path):
    from assistant.core.errors import SetupError
    from assistant.core.settings import load_settings

    monkeypatch.setattr(rasa_cli, "_app_server_answers", lambda settings: True)
    monkeypatch.delenv("TTHC_ACTION_TOKEN", raising=False)
    settings = load_settings({"TTHC_CATALOG__DATA_DIR": str(tmp_path)})
    with pytest.raises(SetupError, match="already runs at .* stop it .* or set TTHC_ACTION_TOKEN for both"):
        rasa_cli.start_action_server(settings)
    configured = load_settings({"TTHC_CATALOG__DATA_DIR": str(tmp_path), "TTHC_SECURITY__ACTION_TOKEN": "shared"})
    assert rasa_cli.start_action_server(configured) is None  # same token on both sides: use it
