"""`tthc privacy purge`: apply the retention period to stored conversations, hand-offs, feedback and the
recorded questions (interactions)."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.app.retention import cutoff_for, purge_app_records, purge_tracker_store
from assistant.core import storage
from assistant.core.settings import get_settings


def default_tracker_db() -> Path | str:
    """The tracker store `tthc up` gives Rasa: its SQLite file, or PostgreSQL on the scale-out profile."""
    return get_settings().tracker_database


def purge(args: argparse.Namespace) -> int:
    settings = get_settings()
    days = args.days if args.days is not None else settings.privacy.retention_days
    cutoff = cutoff_for(days)
    tracker_db = args.tracker_db or default_tracker_db()
    verb = "would delete" if args.dry_run else "deleted"
    conversations = purge_tracker_store(tracker_db, cutoff, dry_run=args.dry_run)
    print(
        f"Retention {days} days (before {cutoff:%Y-%m-%d %H:%M} UTC): {verb} {conversations} "
        f"conversation(s) from {storage.describe(tracker_db)}"
    )
    if args.dry_run:
        print("Hand-offs, feedback and recorded questions: not counted in a dry run")
        return 0
    app_counts = purge_app_records(cutoff, args.app_db or None)
    unlinked = app_counts.pop("question_labels_unlinked", 0)
    print("App records: " + ", ".join(f"{verb} {n} {table}" for table, n in app_counts.items()))
    print(f"Labels: all kept (masked text only); {unlinked} unlinked from the purged questions")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("privacy", help="personal-data retention")
    commands = parser.add_subparsers(dest="privacy_command", metavar="COMMAND")
    purge_parser = commands.add_parser(
        "purge",
        help="delete conversations, hand-offs, feedback and recorded questions older than privacy.retention_days",
    )
    purge_parser.add_argument("--days", type=int, help="override privacy.retention_days")
    purge_parser.add_argument(
        "--tracker-db", help="Rasa's tracker store: SQLite file or postgresql:// URL (default: the one `tthc up` uses)"
    )
    purge_parser.add_argument(
        "--app-db",
        help=(
            "app database: hand-offs, feedback, recorded questions "
            "(default: <catalog.data_dir>/app.db, or PostgreSQL on the scale-out profile)"
        ),
    )
    purge_parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    purge_parser.set_defaults(handler=purge)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 0)
