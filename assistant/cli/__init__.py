"""`tthc` command line: each area registers its own subcommands."""

from __future__ import annotations

import argparse
import sys

from assistant.core.errors import SetupError
from knowledge_base.errors import KnowledgeBaseError

# Modules exposing `register(subparsers)`; each owns one subcommand group.
SUBCOMMAND_MODULES = (
    "assistant.cli.up",
    "assistant.cli.kb",
    "assistant.cli.bot",
    "assistant.cli.nlu",
    "assistant.cli.privacy",
    "assistant.cli.zalo",
    "assistant.cli.rasa",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tthc", description="Trợ lý TTHC: administrative-procedure assistant")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv[:1] == ["rasa"]:  # everything after `rasa` is Rasa's, options included
        from assistant.cli import rasa

        args = argparse.Namespace(command="rasa", handler=rasa.run, rasa_args=argv[1:])
    else:
        args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except (SetupError, KnowledgeBaseError) as exc:
        print(f"tthc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
