"""`tthc zalo outbox`: what the Zalo connector could not deliver yet, and a way to retry dead replies.

The Rasa server's flusher re-sends waiting replies by itself; replies that failed too often are
parked as dead (kept, not retried) until an operator fixes the cause and revives them here.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from assistant.core.errors import SetupError
from assistant.core.settings import get_settings
from connectors.zalo.logs import user_ref
from connectors.zalo.store import ZaloStore


def open_outbox(path_arg: str | None) -> ZaloStore:
    if not path_arg and get_settings().deployment.scale_out:
        return ZaloStore(get_settings().zalo_store)  # PostgreSQL, shared by every node
    path = Path(path_arg) if path_arg else get_settings().zalo_outbox_path
    if not path.is_file():
        raise SetupError(
            f"no Zalo outbox at {path} (the Zalo channel has not run with its secrets yet); "
            "pass --path with the outbox_path from credentials.yml"
        )
    return ZaloStore(path)


def outbox(args: argparse.Namespace) -> int:
    store = open_outbox(args.path)
    try:
        if args.revive_dead:
            print(
                f"Revived {store.revive_dead()} dead repl(ies); the running Rasa server re-sends them "
                "at its next outbox flush"
            )
        items = store.all_items(limit=args.limit)
        print(f"Zalo outbox {store.where}: {store.pending_count()} waiting, {store.dead_count()} dead")
        now = time.time()
        for item in items:
            state = "dead" if item.dead else "waiting"
            age_minutes = int((now - item.created_at) // 60)
            print(
                f"#{item.id} {state} user {user_ref(item.user_id)} age {age_minutes} min, "
                f"{item.attempts} flush attempt(s), last error: {item.last_error}"
            )
    finally:
        store.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("zalo", help="Zalo Official Account channel")
    commands = parser.add_subparsers(dest="zalo_command", metavar="COMMAND")
    outbox_parser = commands.add_parser("outbox", help="list replies waiting in the Zalo outbox")
    outbox_parser.add_argument("--path", help="outbox database (default: <catalog.data_dir>/zalo_outbox.sqlite)")
    outbox_parser.add_argument("--limit", type=int, default=50, help="list at most this many replies")
    outbox_parser.add_argument(
        "--revive-dead", action="store_true", help="give replies parked as dead a new attempt budget"
    )
    outbox_parser.set_defaults(handler=outbox)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 0)
