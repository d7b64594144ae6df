"""Catalogue importers. `load_catalog` is the single entry point: it detects the input format.

- a directory of national-portal records (`<agency>/<code>.json`, see importers.national), or
- the seed catalogue: a YAML file or a directory of YAML files (see importers.seed).

Unusable input raises KnowledgeBaseError with a one-line message naming the fix.
"""
from __future__ import annotations

from pathlib import Path

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers.report import ImportReport
from knowledge_base.importers.seed import YAML_SUFFIXES, load_seed

__all__ = ["ImportReport", "load_catalog"]


def _json_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.json"))


def load_catalog(path: Path) -> ImportReport:
    """Import a catalogue from `path` (national JSON directory, seed YAML directory or YAML file)."""
    path = Path(path)
    if not path.exists():
        raise KnowledgeBaseError(f"catalogue path {path} does not exist; pass a national-format directory or a seed YAML file/directory")
    if path.is_file():
        if path.suffix not in YAML_SUFFIXES:
            raise KnowledgeBaseError(f"{path} is not a YAML file; pass a seed .yaml file or a directory of national-format .json records")
        report = load_seed(path)
    else:
        has_yaml = any(p.suffix in YAML_SUFFIXES for p in path.iterdir() if p.is_file())
        json_files = [] if has_yaml else _json_files(path)
        if has_yaml:
            report = load_seed(path)
        elif json_files:
            from knowledge_base.importers.national import load_national

            report = load_national(path, json_files)
        else:
            raise KnowledgeBaseError(f"{path} holds no .json records or .yaml files; point to the national records directory (<agency>/<code>.json) or to knowledge_base/catalog")
    if report.total == 0:
        raise KnowledgeBaseError(f"{path} contains no procedure records; add records or point to another catalogue")
    return report
