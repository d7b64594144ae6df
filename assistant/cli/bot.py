"""`tthc bot eval`: measure the running assistant end to end, each question asked by a new citizen."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.core.errors import SetupError
from assistant.core.settings import get_settings


def register(subparsers) -> None:
    bot = subparsers.add_parser("bot", help="the running assistant: evaluate it end to end")
    bot_sub = bot.add_subparsers(dest="bot_command", metavar="BOT_COMMAND")
    bot.set_defaults(handler=lambda args: (bot.print_help(), 0)[1])

    ev = bot_sub.add_parser(
        "eval",
        help="ask a JSONL question set through the Rasa REST channel and score the replies",
        description="Each question is sent by a fresh sender id; the first reply is classified as naming a "
        "procedure, asking back (one gold button is clicked) or declining. See "
        "assistant/cli/bot_evaluation.py for how each outcome is judged.",
    )
    ev.add_argument("file", type=Path, help='JSONL: {"id", "question", "gold": [codes], "aspect"?} per line')
    ev.add_argument("--json", action="store_true", help="machine-readable output")
    ev.add_argument("--rasa-url", help="Rasa server base URL (default: server.rasa_url setting)")
    ev.add_argument(
        "--data-dir",
        type=Path,
        help="catalogue index whose titles and links the bot answers with (default: catalog.data_dir setting)",
    )
    ev.add_argument("--details", type=Path, help="write one JSON line per question to this file")
    ev.add_argument("--concurrency", type=int, default=1, help="questions in flight at once (default 1)")
    ev.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a turn counts as a timeout (default 60)"
    )
    ev.set_defaults(handler=eval_command)


def eval_command(args: argparse.Namespace) -> int:
    # Imported here so `tthc --help` stays fast.
    from assistant.cli.bot_evaluation import evaluate_bot, write_details
    from knowledge_base.evaluation import read_questions
    from knowledge_base.store import KnowledgeBase

    questions = read_questions(args.file)
    if args.details is not None and not args.details.parent.is_dir():
        raise SetupError(
            f"--details {args.details}: directory {args.details.parent} does not exist; create it or pick another path"
        )
    settings = get_settings()
    # Titles and links only: no embedding model is loaded.
    kb = KnowledgeBase.open(args.data_dir or settings.data_dir)
    report, records = evaluate_bot(
        questions,
        kb.procedures(),
        args.rasa_url or settings.server.rasa_url,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
    )
    if args.details is not None:
        write_details(args.details, records)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0
