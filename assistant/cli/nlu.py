"""`tthc nlu …`: Rasa training-data tasks that run in the app environment (no Rasa import)."""
from __future__ import annotations

import argparse
from pathlib import Path

from assistant.settings import PROJECT_ROOT, get_settings


def _resolve(path: Path) -> Path:
    return path if path.is_absolute() else PROJECT_ROOT / path


def _display(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _generate(args: argparse.Namespace) -> int:
    from assistant.nlu_generation import GENERATED_LOOKUPS, generate

    catalog = _resolve(args.catalog or get_settings().catalog.seed_path)
    out = _resolve(args.out or GENERATED_LOOKUPS)
    entries, synonyms = generate(catalog, out, source_label=_display(catalog))
    print(f"Wrote {_display(out)}: {entries} lookup entries, {synonyms} synonyms (from {_display(catalog)})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    nlu = subparsers.add_parser("nlu", help="Rasa training-data tasks")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", metavar="NLU_COMMAND")
    nlu.set_defaults(handler=lambda args: nlu.print_help() or 0)
    generate = nlu_commands.add_parser(
        "generate", help="write nlu_data/nlu/generated_lookups.yml (procedure names) from the catalogue")
    generate.add_argument("--catalog", type=Path, default=None,
                          help="catalogue to read (seed YAML or national JSON directory); default: catalog.seed_path")
    generate.add_argument("--out", type=Path, default=None, help="output file; default: nlu_data/nlu/generated_lookups.yml")
    generate.set_defaults(handler=_generate)
