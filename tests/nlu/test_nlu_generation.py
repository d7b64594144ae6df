"""Procedure lookup tables and synonyms are generated from the catalogue (assistant/cli/nlu_generation.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from assistant.cli import main
from assistant.cli.nlu_generation import GENERATED_LOOKUPS, build_lookups, short_names
from knowledge_base.schema import Procedure
from knowledge_base.text import fold

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def procedure(code: str, title: str, keywords: list[str] | None = None) -> Procedure:
    return Procedure(code=code, title=title, keywords=keywords or [])


def test_short_names_drop_the_narrowing_clause_and_generic_verbs():
    names = short_names(procedure("2.001", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên", ["làm CCCD"]))
    assert "cấp thẻ căn cước" in names
    assert "thẻ căn cước" in names
    assert "làm cccd" in names
    assert all(2 <= len(name.split()) <= 10 for name in names)


def test_thu_tuc_prefix_and_parentheses_are_removed():
    names = short_names(procedure("1.001", "Thủ tục đăng ký khai sinh (trẻ em sinh tại Việt Nam)"))
    assert names[0] == "đăng ký khai sinh"
    assert "khai sinh" in names


def test_lookup_has_folded_forms_and_unambiguous_synonyms():
    lookup, synonyms = build_lookups(
        [
            procedure("1", "Đăng ký tạm trú"),
            procedure("2", "Đăng ký kết hôn"),
            # "tạm trụ" folds like "tạm trú": that folded form must not map to either name.
            procedure("3", "Xác nhận tạm trụ", ["tạm trụ"]),
        ]
    )
    assert "dang ky tam tru" in lookup and "đăng ký tạm trú" in lookup
    assert synonyms["đăng ký kết hôn"] == [fold("đăng ký kết hôn")]
    assert "tam tru" in lookup
    assert all("tam tru" not in variants for variants in synonyms.values())


def test_committed_file_matches_the_seed_catalogue(tmp_path):
    out = tmp_path / "generated_lookups.yml"
    assert main(["nlu", "generate", "--catalog", "knowledge_base/catalog", "--out", str(out)]) == 0
    committed = (PROJECT_ROOT / GENERATED_LOOKUPS).read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, "run `tthc nlu generate` and commit the result"
    data = yaml.safe_load(committed)
    lookup = next(block for block in data["nlu"] if block.get("lookup") == "procedure")
    assert len(lookup["examples"].splitlines()) >= 40


def test_bad_catalogue_path_is_a_one_line_error(tmp_path, capsys):
    assert main(["nlu", "generate", "--catalog", str(tmp_path / "missing"), "--out", str(tmp_path / "x.yml")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("tthc: error:") and "\n" not in error
