"""Loader for the seed catalogue: YAML files with a top-level `procedures:` list of Procedure records.

The seed (knowledge_base/catalog/*.yaml) is written by hand from the national records, so a record
that does not validate or repeats a code is a bug in the catalogue: it is reported and skipped,
never silently dropped.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import yaml
from pydantic import ValidationError

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers.report import ImportReport
from knowledge_base.schema import Procedure

YAML_SUFFIXES = (".yaml", ".yml")


def seed_files(path: Path) -> list[Path]:
    """The YAML files a seed path stands for (one file, or every YAML file of a directory)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES)


def _nfc(value):
    """NFC-normalize every string: hand-edited YAML may hold decomposed Vietnamese, which degrades search."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(item) for item in value]
    if isinstance(value, dict):
        return {_nfc(key): _nfc(item) for key, item in value.items()}
    return value


def _records_of(file: Path) -> list:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise KnowledgeBaseError(f"{file} is not valid YAML ({first_line}); fix the file or remove it") from None
    if isinstance(data, dict) and isinstance(data.get("procedures"), list):
        return _nfc(data["procedures"])
    raise KnowledgeBaseError(f"{file} has no 'procedures:' list; write the records under a top-level 'procedures:' key")


def _short_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"invalid field '{where}': {first['msg']} ({exc.error_count()} error(s))"


def load_seed(path: Path) -> ImportReport:
    report = ImportReport(source=str(path), format="seed")
    seen: dict[str, str] = {}
    for file in seed_files(path):
        for index, record in enumerate(_records_of(file)):
            report.total += 1
            where = f"{file.name}#{index + 1}"
            try:
                procedure = Procedure.model_validate(record)
            except ValidationError as exc:
                report.skip(where, _short_error(exc))
                continue
            if procedure.code in seen:
                report.skip(where, f"duplicate code {procedure.code} (first in {seen[procedure.code]})")
                continue
            seen[procedure.code] = where
            report.procedures.append(procedure)
    return report
