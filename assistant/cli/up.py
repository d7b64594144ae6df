"""`tthc up`: build whatever is missing (embedding model, index, Rasa model), then run both servers."""
from __future__ import annotations

import argparse
import signal

from assistant.launcher import processes, rasa_model
from assistant.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("up", help="set up what is missing and run the assistant (Ctrl-C stops)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="build the embedding model, index and Rasa model, but start no server")
    parser.set_defaults(handler=run)


def prepare(settings) -> None:
    # Imported here: torch and the index load only when there is work to do, not for `tthc --help`.
    from assistant.launcher.catalog import ensure_embedding_model, ensure_index

    rasa_model.rasa_executable()  # fail early with the fix when the Rasa env is missing
    ensure_embedding_model(settings)
    ensure_index(settings)
    rasa_model.ensure_model(settings.resolve(settings.rasa.model_dir))


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    server = settings.server
    if not args.prepare_only:  # fail in a second, not after minutes of set-up
        processes.ensure_port_free(server.host, server.app_port, "app server", "TTHC_SERVER__APP_PORT")
        processes.ensure_port_free(server.host, server.rasa_port, "Rasa server", "TTHC_SERVER__RASA_PORT")
    prepare(settings)
    if args.prepare_only:
        print("==> Everything is built.")
        return 0
    log_dir = settings.data_dir / "logs"
    model = rasa_model.model_path(settings.resolve(settings.rasa.model_dir))
    servers = [processes.app_server(settings, log_dir), processes.rasa_server(settings, model, log_dir)]
    # `kill` stops the children too, exactly like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print("==> Starting the app server and the Rasa server …", flush=True)
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
