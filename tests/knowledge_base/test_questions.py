"""Training-question generator: deterministic, covers every record, phrased like citizens, not like titles."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from knowledge_base.importers import load_catalog
from knowledge_base.questions import ASPECTS, STYLES, GeneratedQuestion, generate, rule_questions
from knowledge_base.text import Abbreviations, fold, normalize
from knowledge_base.variants import VARIANT_MARKERS, title_markers

ROOT = Path(__file__).resolve().parents[2]
FULL_CATALOG = ROOT.parent / "shared" / "data" / "dvc-procedures"


@pytest.fixture(scope="module")
def questions(seed_procedures) -> list[GeneratedQuestion]:
    return generate(seed_procedures)


def test_same_catalogue_and_seed_give_the_same_questions(seed_procedures, questions):
    assert generate(seed_procedures) == questions
    other = generate(seed_procedures, seed=14)
    assert other != questions
    assert len({q.text for q in other} & {q.text for q in questions}) < len(questions) / 2


def test_a_record_s_questions_do_not_depend_on_the_other_records(seed_procedures, questions):
    alone = generate(seed_procedures[3:4])
    assert alone == [q for q in questions if q.code == seed_procedures[3].code]


def test_every_record_is_covered_with_per_record_on_average(seed_procedures, questions):
    by_code = Counter(q.code for q in questions)
    assert set(by_code) == {p.code for p in seed_procedures}
    assert len(questions) == pytest.approx(6 * len(seed_procedures), rel=0.05)
    assert all(len({q.text for q in questions if q.code == code}) == n for code, n in by_code.items())
    assert all(q.group == p.field for p in seed_procedures for q in questions if q.code == p.code)
    assert Counter(q.code for q in generate(seed_procedures, per_record=1)) == Counter(p.code for p in seed_procedures)


def test_aspects_and_styles_are_all_used_and_known(questions):
    assert {q.aspect for q in questions} == set(ASPECTS)
    assert {q.style for q in questions} == set(STYLES)
    assert all(q.text and q.text == q.text.strip() and "  " not in q.text for q in questions)


def test_questions_without_diacritics_are_present(questions):
    folded = [q for q in questions if q.text == fold(q.text)]
    assert len(folded) >= 0.2 * len(questions)
    assert all(q.text == fold(q.text) for q in questions if q.style == "folded")


def test_abbreviations_and_everyday_names_are_used(seed_procedures, questions):
    table = Abbreviations.load(sections=("abbreviations", "everyday_names"))
    surfaces = {" ".join(fold(w) for w in surface) for forms in table.surfaces.values() for surface in forms}
    surfaces |= {fold(normalize(k)) for p in seed_procedures for k in p.keywords}

    def names_one(text: str) -> bool:
        padded = f" {' '.join(fold(normalize(text)).replace('?', ' ').replace(',', ' ').split())} "
        return any(f" {s} " in padded for s in surfaces)

    styled = [q for q in questions if q.style in ("abbrev", "everyday")]
    assert styled and all(names_one(q.text) for q in styled)
    id_card = [fold(q.text.lower()) for q in questions if q.code == "1.014061"]
    assert any("cccd" in t or "can cuoc cong dan" in t or "lam can cuoc" in t for t in id_card)


def test_variant_records_get_questions_naming_the_variant(seed_procedures, questions):
    reissued = [p for p in seed_procedures if "lại" in title_markers(p.title)]
    assert reissued
    cues = [fold(c) for c in VARIANT_MARKERS["lại"]]
    for p in reissued:
        siblings = [q for q in questions if q.code == p.code and q.style == "sibling"]
        assert siblings, p.title
        assert all(any(f" {c} " in f" {fold(q.text.rstrip('?'))} " for c in cues) for q in siblings), p.title
    # only variants get sibling questions
    plain = {p.code for p in seed_procedures if not title_markers(p.title)}
    assert not [q for q in questions if q.style == "sibling" and q.code in plain]


def test_titles_are_rarely_copied_verbatim(seed_procedures, questions):
    titles = {normalize(p.title).strip(" .?") for p in seed_procedures}
    titles |= {t.removeprefix("thủ tục ") for t in titles}
    verbatim = [q for q in questions if normalize(q.text).strip(" .?") in titles]
    assert len(verbatim) <= 0.03 * len(questions)


def test_stories_and_polite_questions_are_sentences(questions):
    stories = [q.text for q in questions if q.style == "story"]
    polite = [q.text for q in questions if q.style == "polite"]
    assert stories and all(t.count(".") + t.count("?") >= 2 for t in stories)
    assert polite and all(t.startswith(("Kính gửi", "Xin chào", "Chào")) for t in polite)


def test_rule_questions_are_no_answer_and_deterministic(seed_procedures):
    rules = rule_questions(seed_procedures, 40)
    assert len(rules) == 40 and len({q.text for q in rules}) == 40
    assert all(q.code == "" and q.style.startswith("rule_") and q.aspect in ASPECTS for q in rules)
    assert {q.group for q in rules} <= {p.field for p in seed_procedures}
    assert rule_questions(seed_procedures, 40) == rules
    assert rule_questions(seed_procedures, 40, seed=1) != rules
    assert rule_questions([], 5) == [] and rule_questions(seed_procedures, 0) == []


def test_cli_writes_the_eval_format(capsys, tmp_path):
    from assistant.cli import main
    from knowledge_base.evaluation import read_questions

    out = tmp_path / "generated.jsonl"
    seed_dir = ROOT / "knowledge_base" / "catalog"
    code = main(
        ["kb", "questions", "--catalog-dir", str(seed_dir), "--per-record", "2", "--rules", "5", "--out", str(out)]
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(set(row) == {"id", "question", "gold", "aspect", "style", "group"} for row in rows)
    assert sum(1 for row in rows if row["gold"] == []) == 5
    assert len(read_questions(out)) == len(rows)
    assert "questions from" in capsys.readouterr().err


@pytest.mark.full_catalog
@pytest.mark.skipif(not FULL_CATALOG.is_dir(), reason=f"full catalogue not found at {FULL_CATALOG}")
def test_full_catalogue_is_covered_quickly():
    procedures = load_catalog(FULL_CATALOG).procedures
    started = time.perf_counter()
    generated = generate(procedures, per_record=6)
    elapsed = time.perf_counter() - started
    assert elapsed < 10
    assert {q.code for q in generated} == {p.code for p in procedures}
    assert {q.style for q in generated} == set(STYLES) and {q.aspect for q in generated} == set(ASPECTS)
    titles = {normalize(p.title).strip(" .?") for p in procedures}
    assert sum(normalize(q.text).strip(" .?") in titles for q in generated) <= 0.03 * len(generated)
