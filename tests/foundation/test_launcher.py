"""Set-up errors are one line naming the fix; the Rasa model retrains only when its inputs change."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pytest

from assistant.cli.launcher import processes, rasa_model
from assistant.core.errors import SetupError
from assistant.core.settings import PROJECT_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "tthc"), *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def test_port_in_use_is_one_line_naming_the_setting():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SetupError, match=f"port {port} .* TTHC_SERVER__APP_PORT"):
            processes.ensure_port_free("127.0.0.1", port, "app server", "TTHC_SERVER__APP_PORT")


def test_tthc_up_with_busy_port_exits_with_one_line(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"TTHC_SERVER__APP_PORT": str(port)}
        result = subprocess.run(
            [str(PROJECT_ROOT / ".venv" / "bin" / "tthc"), "up"],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            timeout=300,
            env={**__import__("os").environ, **env},
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("tthc: error: port")
    assert "Traceback" not in result.stderr


def test_missing_python_version_is_one_line_naming_the_fix(tmp_path: Path):
    script = f"source scripts/bootstrap.sh; ensure_env {tmp_path}/venv 3.99 requirements/app.lock 'a test'"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Python 3.99 not found" in lines[0] and "install" in lines[0]


def test_model_fingerprint_changes_with_any_training_input(tmp_path: Path):
    for name in ("domain.yml", "config.yml"):
        (tmp_path / name).write_text("version: '3.1'\n")
    (tmp_path / "nlu_data" / "nlu").mkdir(parents=True)
    (tmp_path / "nlu_data" / "nlu" / "greet.yml").write_text("nlu: []\n")
    (tmp_path / "assistant" / "rasa_process" / "components").mkdir(parents=True)
    before = rasa_model.fingerprint(tmp_path / "config.yml", root=tmp_path)
    assert before == rasa_model.fingerprint(tmp_path / "config.yml", root=tmp_path)
    (tmp_path / "nlu_data" / "nlu" / "greet.yml").write_text("nlu: [x]\n")
    assert rasa_model.fingerprint(tmp_path / "config.yml", root=tmp_path) != before
    # The tokenizer's text helpers live in knowledge_base/text.py: a change there retrains too.
    changed = rasa_model.fingerprint(tmp_path / "config.yml", root=tmp_path)
    (tmp_path / "knowledge_base").mkdir()
    (tmp_path / "knowledge_base" / "text.py").write_text("def fold(text): return text\n")
    assert rasa_model.fingerprint(tmp_path / "config.yml", root=tmp_path) != changed


def test_model_is_current_only_with_matching_stamp(tmp_path: Path):
    config = PROJECT_ROOT / "config.yml"
    if not config.exists():
        pytest.skip("config.yml not written yet")
    assert not rasa_model.is_current(tmp_path, config)
    rasa_model.model_path(tmp_path).write_bytes(b"model")
    (tmp_path / "tthc.fingerprint").write_text("stale")
    assert not rasa_model.is_current(tmp_path, config)
    (tmp_path / "tthc.fingerprint").write_text(rasa_model.fingerprint(config))
    assert rasa_model.is_current(tmp_path, config)


def test_help_lists_subcommands():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "up" in result.stdout


def test_an_index_built_by_an_older_version_is_rebuilt_at_start(tmp_path: Path, capsys):
    from assistant.cli.launcher.catalog import ensure_index
    from assistant.core.settings import CatalogSettings, Settings
    from knowledge_base.store import KnowledgeBase, index_dir

    settings = Settings(catalog=CatalogSettings(data_dir=tmp_path))
    if not settings.embedding_model_path.exists():
        pytest.skip("the embedding model is converted by set-up (./start or ./run-tests)")
    ensure_index(settings)  # fresh machine: the seed catalogue
    first = index_dir(tmp_path).resolve()
    ensure_index(settings)  # current: left alone
    assert index_dir(tmp_path).resolve() == first
    manifest = first / "manifest.json"
    manifest.write_text(re.sub(r'"format": \d+', '"format": 1', manifest.read_text(encoding="utf-8")), encoding="utf-8")
    ensure_index(settings)
    assert "built by an older version" in capsys.readouterr().out
    assert KnowledgeBase.is_current(tmp_path) and index_dir(tmp_path).resolve() != first
    assert (
        len(KnowledgeBase.open(tmp_path).procedures()) == json.loads(manifest.read_text(encoding="utf-8"))["procedures"]
    )


def test_both_servers_share_one_action_token_and_rasa_runs_without_its_api(monkeypatch, tmp_path: Path):
    """Issue 12: the action endpoint's secret is generated for the run (or configured) and given to both
    servers; Rasa's HTTP API stays off, and Rasa gets no admin token."""
    from assistant.core.settings import load_settings

    for name in ("TTHC_ACTION_TOKEN", "TTHC_SECURITY__ACTION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TTHC_ADMIN_TOKEN", "admin-secret")
    monkeypatch.setattr(processes, "_generated_action_token", "")
    settings = load_settings({"TTHC_CATALOG__DATA_DIR": str(tmp_path)})
    app, rasa = (
        processes.app_server(settings, tmp_path),
        processes.rasa_server(settings, tmp_path / "m.tar.gz", tmp_path),
    )
    token = app.env["TTHC_ACTION_TOKEN"]
    assert len(token) >= 40 and rasa.env["TTHC_ACTION_TOKEN"] == token
    assert "--enable-api" not in rasa.command and not rasa.ready_url.endswith("/status")
    assert "TTHC_ADMIN_TOKEN" not in rasa.env
    assert rasa.env["TTHC_RATE_LIMIT_DB"] == str(tmp_path / "rate_limits.sqlite")  # shared by Rasa's workers
    monkeypatch.setattr(processes, "_generated_action_token", "")
    assert processes.action_token(settings) != token  # a new one per run, never stored
    monkeypatch.setenv("TTHC_ACTION_TOKEN", "from-the-environment")
    assert (
        processes.rasa_server(settings, tmp_path / "m.tar.gz", tmp_path).env["TTHC_ACTION_TOKEN"]
        == "from-the-environment"
    )


def test_app_server_runs_with_two_malloc_arenas_unless_the_environment_says_otherwise(monkeypatch, tmp_path: Path):
    """Issue 13 item 4: the app server's searches run in up to 40 worker threads; with glibc's default arenas (8 per
    core) its resident memory after the 50-user load was higher (docs/benchmarks.md, "Issue 13, the app server's
    memory on the full catalogue"). tthc up (and so the systemd unit) gives it MALLOC_ARENA_MAX=2; a value in the
    environment wins, and Rasa's environment is not touched."""
    from assistant.core.settings import load_settings

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setenv("TTHC_ACTION_TOKEN", "x" * 40)
    settings = load_settings({"TTHC_CATALOG__DATA_DIR": str(tmp_path)})
    assert processes.app_server(settings, tmp_path).env["MALLOC_ARENA_MAX"] == "2"
    assert "MALLOC_ARENA_MAX" not in processes.rasa_server(settings, tmp_path / "m.tar.gz", tmp_path).env
    monkeypatch.setenv("MALLOC_ARENA_MAX", "16")
    assert processes.app_server(settings, tmp_path).env["MALLOC_ARENA_MAX"] == "16"


def test_rasa_gets_a_conversation_lock_lifetime_shorter_than_a_client_waits(monkeypatch, tmp_path: Path):
    """A Rasa killed in a turn leaves its conversation's lock behind; Rasa's default lifetime (60 s) would keep
    the conversation's next message waiting a minute on the other node (tests/deployment/test_scale_out.py)."""
    from assistant.core.settings import load_settings

    settings = load_settings({"TTHC_CATALOG__DATA_DIR": str(tmp_path)})
    monkeypatch.delenv("TICKET_LOCK_LIFETIME", raising=False)
    assert processes.rasa_server(settings, tmp_path / "m.tar.gz", tmp_path).env["TICKET_LOCK_LIFETIME"] == "6"
    monkeypatch.setenv("TICKET_LOCK_LIFETIME", "15")  # the operator's value (tthc.env) wins
    assert processes.rasa_server(settings, tmp_path / "m.tar.gz", tmp_path).env["TICKET_LOCK_LIFETIME"] == "15"
    for bad in ("6.5", "0", "six"):
        monkeypatch.setenv("TICKET_LOCK_LIFETIME", bad)
        with pytest.raises(SetupError, match="whole number of seconds") as error:
            processes.rasa_server(settings, tmp_path / "m.tar.gz", tmp_path)
        assert "\n" not in str(error.value)
