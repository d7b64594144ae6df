"""`tthc rasa …`: Rasa's own command line from the project root, set up the way `tthc up` sets Rasa up.

`tthc rasa train`, `shell`, `test`, `interactive`, `data validate`, … run `rasa` in .venv-rasa (through
assistant/rasa_process/entry.py, so with the same fixes as the served Rasa) with:
- Rasa's default paths made the project's: data in nlu_data/, models in models/rasa/, test stories in
  tests/ (`--data`, `--out`, `--model`, … given on the command line win, as in Rasa);
- the `${VAR}`s of endpoints.yml and credentials.yml filled from settings.yml as `tthc up` fills them;
- for the commands that run custom actions (shell, interactive, run): the app server, which answers
  them, started for the session unless one already runs.
Every other argument goes to Rasa unchanged; `tthc rasa train --help` shows Rasa's help with these defaults.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import httpx

from assistant.cli.launcher import processes, rasa_model
from assistant.core.errors import SetupError
from assistant.core.settings import ACTION_TOKEN_ENV, PROJECT_ROOT, Settings, configured_secret, get_settings

# Rasa commands whose bot runs custom actions, so the app server (the action endpoint) must answer.
COMMANDS_WITH_ACTIONS = frozenset({"shell", "interactive", "run"})


def register(subparsers: argparse._SubParsersAction) -> None:
    # `assistant.cli.main` hands `tthc rasa …` over untouched (argparse would take Rasa's options as its own);
    # this entry is for `tthc --help`.
    parser = subparsers.add_parser(
        "rasa",
        add_help=False,
        help="Rasa's CLI (train, shell, test, interactive, data validate, …) with this project's paths and settings",
    )
    parser.add_argument("rasa_args", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=run)


def rasa_command(rasa_args: list[str]) -> list[str]:
    return [*rasa_model.rasa_server_command(), "--project-defaults", *rasa_args]


def runs_actions(rasa_args: list[str]) -> bool:
    if not rasa_args or rasa_args[0] not in COMMANDS_WITH_ACTIONS:
        return False
    return not ({"-h", "--help"} & set(rasa_args)) and rasa_args[1:2] != ["nlu"]  # `rasa shell nlu`: no actions


def _app_server_answers(settings: Settings) -> bool:
    try:
        return httpx.get(f"{settings.server.app_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_action_server(settings: Settings) -> processes.Server | None:
    """Start the app server (Rasa's action endpoint) for this session; None when one already answers."""
    if _app_server_answers(settings):
        if not configured_secret(ACTION_TOKEN_ENV, settings.security.action_token):
            raise SetupError(
                f"an app server already runs at {settings.server.app_url} with an action token of its own, so it "
                f"would refuse this Rasa's action calls; stop it (e.g. `tthc up`) or set {ACTION_TOKEN_ENV} for both"
            )
        return None
    processes.ensure_port_free(settings.server.host, settings.server.app_port, "app server", "TTHC_SERVER__APP_PORT")
    # Imported here: torch and the index load only when an app server is needed.
    from assistant.cli.launcher.catalog import ensure_embedding_model, ensure_index

    ensure_embedding_model(settings)
    ensure_index(settings)
    server = processes.app_server(settings, settings.data_dir / "logs")
    print(
        f"==> Starting the app server for the custom actions at {settings.server.app_url} (log: {server.log_path}) …",
        flush=True,
    )
    processes.start_all([server])
    return server


def run(args: argparse.Namespace) -> int:
    rasa_args = list(args.rasa_args)
    settings = get_settings()
    command = rasa_command(rasa_args)  # fails first, with the fix, when .venv-rasa is missing
    env = processes.rasa_server_env(settings)
    action_server = None
    if runs_actions(rasa_args):
        processes.use_write_ahead_log(Path(env["TTHC_TRACKER_DB"]))  # as `tthc up` does for its Rasa
        action_server = start_action_server(settings)
    try:
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env).returncode
    finally:
        if action_server is not None:
            processes.stop_all([action_server])
