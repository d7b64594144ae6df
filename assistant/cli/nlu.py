"""`tthc nlu …`: Rasa training-data tasks that run in the app environment (no Rasa import)."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.core.settings import PROJECT_ROOT, get_settings
from knowledge_base.schema import Procedure


def _display(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _procedures(catalog: Path | None) -> tuple[list[Procedure], str]:
    """The procedures to name: --catalog if given, else the active index, else the seed catalogue."""
    from knowledge_base.importers import load_catalog
    from knowledge_base.store import KnowledgeBase

    settings = get_settings()
    if catalog is None:
        data_dir = settings.data_dir
        if KnowledgeBase.exists(data_dir):
            return KnowledgeBase.open(data_dir).procedures(), f"the active index in {_display(data_dir)}"
        catalog = settings.catalog.seed_path
    catalog = settings.resolve(Path(catalog))
    return load_catalog(catalog).procedures, _display(catalog)


def _generate(args: argparse.Namespace) -> int:
    from assistant.cli.nlu_generation import GENERATED_LOOKUPS, write_lookups

    procedures, source = _procedures(args.catalog)
    out = get_settings().resolve(Path(args.out or GENERATED_LOOKUPS))
    entries, synonyms = write_lookups(procedures, out, source_label=source)
    print(
        f"Wrote {_display(out)}: {entries} lookup entries, {synonyms} synonyms "
        f"from {len(procedures)} procedures ({source})"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    nlu = subparsers.add_parser("nlu", help="Rasa training-data tasks")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", metavar="NLU_COMMAND")
    nlu.set_defaults(handler=lambda args: nlu.print_help() or 0)
    generate = nlu_commands.add_parser(
        "generate", help="write nlu_data/nlu/generated_lookups.yml (procedure names) from the catalogue"
    )
    generate.add_argument(
        "--catalog",
        type=Path,
        default=None,
        help="catalogue to read (seed YAML or national JSON directory); "
        "default: the active index, or catalog.seed_path when none is built",
    )
    generate.add_argument(
        "--out", type=Path, default=None, help="output file; default: nlu_data/nlu/generated_lookups.yml"
    )
    generate.set_defaults(handler=_generate)
