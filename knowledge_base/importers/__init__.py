"""Catalogue importers. `load_catalog` is the single entry point: it detects the input format.

- a directory of national-portal records (`<agency>/<code>.json`, see importers.national), or one such record;
- the seed catalogue: a YAML file or a directory of YAML files (see importers.seed);
then the province's own facts over them when a facts file is given (see importers.local_facts).

Unusable input raises KnowledgeBaseError with a one-line message naming the fix.
"""

from __future__ import annotations

from pathlib import Path

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers.local_facts import apply_local_facts
from knowledge_base.importers.national import load_national
from knowledge_base.importers.report import ImportReport
from knowledge_base.importers.seed import YAML_SUFFIXES, load_seed

__all__ = ["ImportReport", "load_catalog"]


def _load_file(path: Path) -> ImportReport:
    if path.suffix == ".json":
        return load_national(path.parent, [path])
    if path.suffix in YAML_SUFFIXES:
        return load_seed(path)
    raise KnowledgeBaseError(
        f"{path} is neither YAML nor JSON; pass a seed .yaml file, a national .json record or a directory of them"
    )


def _load_directory(path: Path) -> ImportReport:
    if any(p.is_file() and p.suffix in YAML_SUFFIXES for p in path.iterdir()):
        return load_seed(path)
    json_files = sorted(path.rglob("*.json"))
    if json_files:
        return load_national(path, json_files)
    raise KnowledgeBaseError(
        f"{path} holds no .json records or .yaml files; point to the national records directory "
        "(<agency>/<code>.json) or to knowledge_base/catalog"
    )


def load_catalog(path: Path, local_facts: Path | None = None) -> ImportReport:
    """Import a catalogue from `path`: a national-format directory or record, or seed YAML (file or directory).

    `local_facts`: the province's facts file (settings `province.local_facts`), merged over the records
    (knowledge_base.importers.local_facts); the report lists what it replaced."""
    path = Path(path)
    if not path.exists():
        raise KnowledgeBaseError(
            f"catalogue path {path} does not exist; pass a national-format directory or a seed YAML file/directory"
        )
    report = _load_file(path) if path.is_file() else _load_directory(path)
    if report.total == 0:
        raise KnowledgeBaseError(f"{path} contains no procedure records; add records or point to another catalogue")
    if local_facts is not None and str(local_facts).strip():
        apply_local_facts(report, Path(local_facts))
    return report
