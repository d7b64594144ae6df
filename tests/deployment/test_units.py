"""The single-VM units (deploy/systemd/) run what `tthc up` runs, and `tthc up --only` does that.

`tthc up --only app|rasa` is the command the two service units start: it must become the very
server `tthc up` would start (same command and environment), refuse to start the two servers apart
without a shared action token, and build nothing. The unit files are checked with
`systemd-analyze verify` (paths pointed at this checkout) and for the hardening they promise.

    .venv/bin/python -m pytest tests/deployment/test_units.py -q
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from assistant.cli import main, up
from assistant.cli.launcher import processes, rasa_model
from assistant.core.errors import SetupError
from assistant.core.settings import ACTION_TOKEN_ENV, PROJECT_ROOT, load_settings
from tests.support.ports import free_port

UNITS = PROJECT_ROOT / "deploy" / "systemd"
TTHC = PROJECT_ROOT / ".venv" / "bin" / "tthc"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "ReadWritePaths": "/srv/tthc/var",
    "CapabilityBoundingSet": "",
    "User": "tthc",
}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(UNITS / name, encoding="utf-8")
    return parser


class Exec(Exception):
    """Raised instead of replacing the test process."""


@pytest.fixture
def captured_exec(monkeypatch):
    calls = []

    def fake_execve(path, argv, env):
        calls.append((path, list(argv), dict(env), os.getcwd()))
        raise Exec()

    monkeypatch.setattr(up.os, "execve", fake_execve)
    monkeypatch.setattr(up.os, "chdir", lambda path: None)
    return calls


@pytest.mark.parametrize("which", ["app", "rasa"])
def test_only_runs_the_command_and_environment_tthc_up_gives_that_server(which, captured_exec, monkeypatch, tmp_path):
    model = rasa_model.model_path(PROJECT_ROOT / "models" / "rasa")
    if which == "rasa" and not model.exists():
        pytest.fail(f"no trained Rasa model at {model}; run '.venv/bin/tthc up --prepare-only'")
    monkeypatch.setenv(ACTION_TOKEN_ENV, "unit-test-action-token")
    monkeypatch.setenv("TTHC_SERVER__APP_PORT", str(free_port()))
    monkeypatch.setenv("TTHC_SERVER__RASA_PORT", str(free_port()))
    settings = load_settings()
    monkeypatch.setattr(up, "get_settings", lambda: settings)
    if which == "app":
        monkeypatch.setattr("knowledge_base.store.KnowledgeBase.exists", staticmethod(lambda data_dir: True))
    with pytest.raises(Exec):
        up.run(up_args(only=which))
    ((path, argv, env, _),) = captured_exec
    log_dir = settings.data_dir / "logs"
    expected = (
        processes.app_server(settings, log_dir) if which == "app" else processes.rasa_server(settings, model, log_dir)
    )
    assert argv == expected.command and path == expected.command[0]
    assert env == expected.env
    assert env[ACTION_TOKEN_ENV] == "unit-test-action-token"


def test_only_refuses_without_a_shared_action_token(monkeypatch, captured_exec):
    monkeypatch.delenv(ACTION_TOKEN_ENV, raising=False)
    monkeypatch.delenv("TTHC_SECURITY__ACTION_TOKEN", raising=False)
    settings = load_settings()
    monkeypatch.setattr(up, "get_settings", lambda: settings)
    if settings.security.action_token:
        pytest.fail("settings.local.yml sets security.action_token; this test needs it unset")
    for which in ("app", "rasa"):
        with pytest.raises(SetupError, match=f"set {ACTION_TOKEN_ENV}="):
            up.run(up_args(only=which))
    assert captured_exec == []


@pytest.mark.parametrize("which", ["app", "rasa"])
def test_only_with_an_unwritable_data_dir_is_one_line_naming_it(which, monkeypatch, tmp_path, capsys, captured_exec):
    # Tests may run as root, whom no permission bit stops: a regular file where var/'s parent should be does.
    (tmp_path / "not-a-directory").write_text("")
    monkeypatch.setenv(ACTION_TOKEN_ENV, "unit-test-action-token")
    monkeypatch.setenv("TTHC_CATALOG__DATA_DIR", str(tmp_path / "not-a-directory" / "var"))
    monkeypatch.setenv("TTHC_SERVER__APP_PORT", str(free_port()))
    monkeypatch.setenv("TTHC_SERVER__RASA_PORT", str(free_port()))
    settings = load_settings()
    monkeypatch.setattr(up, "get_settings", lambda: settings)
    assert main(["up", "--only", which]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "is not a writable directory" in err and "TTHC_CATALOG__DATA_DIR" in err
    assert captured_exec == []


def test_only_builds_nothing_and_names_the_fix(monkeypatch, tmp_path, captured_exec):
    monkeypatch.setenv(ACTION_TOKEN_ENV, "unit-test-action-token")
    monkeypatch.setenv("TTHC_CATALOG__DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("TTHC_RASA__MODEL_DIR", str(tmp_path / "no-model"))
    settings = load_settings()
    monkeypatch.setattr(up, "get_settings", lambda: settings)
    monkeypatch.setattr(up, "prepare", lambda *_: pytest.fail("--only must not build anything"))
    with pytest.raises(SetupError, match="no catalogue index .*tthc up --prepare-only"):
        up.run(up_args(only="app"))
    with pytest.raises(SetupError, match="no trained Rasa model .*tthc up --prepare-only"):
        up.run(up_args(only="rasa"))
    with pytest.raises(SetupError, match="do not go together"):
        up.run(up_args(only="app", prepare_only=True))
    assert captured_exec == []


def test_only_app_really_serves_in_place_of_the_cli(tmp_path):
    """The unit's command for real: `tthc up --only app` answers /health and stops on SIGTERM."""
    port = free_port()
    env = dict(
        os.environ,
        TTHC_SERVER__APP_PORT=str(port),
        TTHC_SERVER__RASA_PORT=str(free_port()),
        **{ACTION_TOKEN_ENV: "unit-test-action-token"},
    )
    from knowledge_base.store import KnowledgeBase

    if not KnowledgeBase.exists(load_settings().data_dir):
        pytest.fail("no catalogue index in var/; run '.venv/bin/tthc up --prepare-only'")
    log = (tmp_path / "app.log").open("wb")
    process = subprocess.Popen(
        [str(TTHC), "up", "--only", "app"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "app.log").read_text()[-2000:]
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("tthc up --only app did not answer /health within 180 s")
        assert response.status_code == 200 and response.json()["status"] == "ok"
        # The CLI process became uvicorn: the same pid serves.
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert b"uvicorn" in cmdline, cmdline
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode in (0, -15), (tmp_path / "app.log").read_text()[-2000:]


@pytest.mark.parametrize("name, only", [("tthc-app.service", "app"), ("tthc-rasa.service", "rasa")])
def test_server_units_run_tthc_up_only_with_hardening(name, only):
    service = unit(name)["Service"]
    assert service["ExecStart"] == f"/srv/tthc/.venv/bin/tthc up --only {only}"
    assert service["WorkingDirectory"] == "/srv/tthc"
    assert service["EnvironmentFile"] == "/etc/tthc/tthc.env"
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{name}: {key}={service.get(key)!r}, want {value!r}"
    if only == "app":  # X-Forwarded-For only from nginx on this machine (tests/deployment/test_reverse_proxy.py)
        assert "Environment=FORWARDED_ALLOW_IPS=127.0.0.1" in (UNITS / name).read_text().splitlines()


def test_purge_timer_runs_the_purge_daily_as_the_service_user():
    service = unit("tthc-privacy-purge.service")["Service"]
    assert service["ExecStart"] == "/srv/tthc/.venv/bin/tthc privacy purge"
    assert service["Type"] == "oneshot"
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"purge: {key}={service.get(key)!r}"
    timer = unit("tthc-privacy-purge.timer")["Timer"]
    assert timer["OnCalendar"].endswith("03:15:00") and timer["Persistent"] == "true"


def test_units_pass_systemd_analyze_verify(tmp_path):
    """systemd's own check (unknown keys, bad values, missing executables), the paths pointed here."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing; install it with 'sudo apt-get install -y systemd'")
    (tmp_path / "tthc.env").write_text("")
    user = os.environ.get("USER") or "root"
    names = sorted(path.name for path in UNITS.iterdir())
    for name in names:
        text = (UNITS / name).read_text(encoding="utf-8")
        text = (
            text.replace("/etc/tthc/tthc.env", str(tmp_path / "tthc.env"))
            .replace("/srv/tthc", str(PROJECT_ROOT))
            .replace("User=tthc", f"User={user}")
            .replace("Group=tthc", f"Group={user}")
        )
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", *[str(tmp_path / name) for name in names]], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "Unknown" in line]
    assert result.returncode == 0 and not problems, result.stderr


def up_args(only=None, prepare_only=False):
    import argparse

    return argparse.Namespace(only=only, prepare_only=prepare_only)
