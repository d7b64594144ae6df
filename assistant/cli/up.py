"""`tthc up`: build whatever is missing (embedding model, index, Rasa model), then run both servers.

`tthc up --profile scale-out` runs one node of several that share PostgreSQL and Redis (the
`deployment` settings; docs/deploy.md "Scale-out"); the default, single-vm, keeps everything in SQLite
files in catalog.data_dir.

`tthc up --only app|rasa` runs one server in the foreground, in place of this process, with the
command and environment `tthc up` gives it: what the systemd units in deploy/systemd/ start
(docs/deploy.md). It builds nothing (run `tthc up --prepare-only` first) and needs the action token
configured, since the two servers then start apart.
"""

from __future__ import annotations

import argparse
import os
import signal

from assistant.cli.launcher import processes, rasa_model
from assistant.core.errors import SetupError
from assistant.core.settings import ACTION_TOKEN_ENV, PROJECT_ROOT, configured_secret, get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("up", help="set up what is missing and run the assistant (Ctrl-C stops)")
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="build the embedding model, index and Rasa model, but start no server",
    )
    parser.add_argument(
        "--profile",
        choices=("single-vm", "scale-out"),
        help="where shared state lives (default: deployment.profile in settings.yml, single-vm); "
        "scale-out: PostgreSQL and Redis from the deployment settings, for several nodes",
    )
    parser.add_argument(
        "--only",
        choices=("app", "rasa"),
        help="run only this server in the foreground (for a service manager such as systemd); "
        "builds nothing and needs TTHC_ACTION_TOKEN",
    )
    parser.set_defaults(handler=run)


def prepare(settings) -> None:
    # Imported here: torch and the index load only when there is work to do, not for `tthc --help`.
    from assistant.cli.launcher.catalog import ensure_embedding_model, ensure_index

    rasa_model.rasa_executable()  # fail early with the fix when the Rasa env is missing
    ensure_embedding_model(settings)
    ensure_index(settings)
    rasa_model.ensure_model(settings.resolve(settings.rasa.model_dir))


def only_server(settings, which: str) -> processes.Server:
    """The one server `tthc up` would start, checked to be runnable on its own."""
    if not configured_secret(ACTION_TOKEN_ENV, settings.security.action_token):
        raise SetupError(
            f"--only starts the two servers apart, so they need the same action token: set "
            f"{ACTION_TOKEN_ENV}=<long random string> for both (e.g. in /etc/tthc/tthc.env)"
        )
    processes.ensure_data_dir_writable(settings)
    server = settings.server
    log_dir = settings.data_dir / "logs"
    if which == "app":
        from knowledge_base.store import KnowledgeBase

        if not KnowledgeBase.exists(settings.data_dir):
            raise SetupError(f"no catalogue index in {settings.data_dir}; run 'tthc up --prepare-only' first")
        processes.ensure_port_free(server.host, server.app_port, "app server", "TTHC_SERVER__APP_PORT")
        return processes.app_server(settings, log_dir)
    model = rasa_model.model_path(settings.resolve(settings.rasa.model_dir))
    if not model.exists():
        raise SetupError(f"no trained Rasa model at {model}; run 'tthc up --prepare-only' first")
    processes.ensure_port_free(server.host, server.rasa_port, "Rasa server", "TTHC_SERVER__RASA_PORT")
    return processes.rasa_server(settings, model, log_dir)


def exec_server(server: processes.Server) -> None:
    """Become the server (same pid), so the service manager signals and watches it directly and its
    output goes where ours goes (the journal under systemd)."""
    print(f"==> Starting the {server.name}: {' '.join(server.command[:4])} …", flush=True)
    os.chdir(PROJECT_ROOT)
    os.execve(server.command[0], server.command, server.env)


def use_profile(profile: str | None) -> None:
    """`--profile X` is TTHC_DEPLOYMENT__PROFILE=X for this run and both servers it starts."""
    if profile:
        os.environ["TTHC_DEPLOYMENT__PROFILE"] = profile
        get_settings.cache_clear()


def run(args: argparse.Namespace) -> int:
    use_profile(getattr(args, "profile", None))
    settings = get_settings()
    server = settings.server
    if args.only:
        if args.prepare_only:
            raise SetupError(
                "--only and --prepare-only do not go together; run 'tthc up --prepare-only' first, "
                "then 'tthc up --only app' and 'tthc up --only rasa'"
            )
        processes.check_shared_services(settings)
        exec_server(only_server(settings, args.only))
        return 0  # not reached: exec replaced this process
    if not args.prepare_only:  # fail in a second, not after minutes of set-up
        processes.ensure_port_free(server.host, server.app_port, "app server", "TTHC_SERVER__APP_PORT")
        processes.ensure_port_free(server.host, server.rasa_port, "Rasa server", "TTHC_SERVER__RASA_PORT")
        processes.check_shared_services(settings)
    processes.ensure_data_dir_writable(settings)
    prepare(settings)
    if args.prepare_only:
        print("==> Everything is built.")
        return 0
    log_dir = settings.data_dir / "logs"
    model = rasa_model.model_path(settings.resolve(settings.rasa.model_dir))
    servers = [processes.app_server(settings, log_dir), processes.rasa_server(settings, model, log_dir)]
    # `kill` stops the children too, exactly like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    profile = " (scale-out: PostgreSQL and Redis shared with the other nodes)" if settings.deployment.scale_out else ""
    print(f"==> Starting the app server and the Rasa server{profile} …", flush=True)
    processes.start_all(servers)
    print(
        "\nTrợ lý TTHC is running:\n"
        f"  Citizen chat:      {server.app_url}/chat\n"
        f"  Counter staff:     {server.app_url}/staff\n"
        f"  API docs:          {server.app_url}/docs\n"
        f"  Rasa server:       {server.rasa_url}\n"
        f"  Logs:              {log_dir}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        exited = processes.wait_until_one_exits(servers)
        print(f"tthc: error: the {exited.name} stopped unexpectedly; see {exited.log_path}")
        return 1
    except KeyboardInterrupt:
        print("\n==> Stopping …", flush=True)
        return 0
    finally:
        processes.stop_all(servers)
