"""Lexicon audit: how often each everyday-vocabulary entry and each variant cue is used.

A lexicon entry or a cue that only one dev question uses is a parameter fitted to that question, not
general language (issue 11). This prints, for every entry of knowledge_base/data/abbreviations.yml
(sections abbreviations, everyday_names, chat) and every cue of knowledge_base/variants.py
VARIANT_MARKERS:

- dev / tune / holdout / citizen: how many questions of knowledge_base/devset/dev.jsonl (and of its
  splits) and of citizen.jsonl contain it, matched as knowledge_base/text.py matches (the folded
  syllables of the entry as a phrase of the question's folded syllables) for entries, and as
  knowledge_base/variants.py looks cues up (in the prepared question, folded when typed without
  diacritics) for cues;
- fires: of those dev + citizen questions, in how many the entry actually changes the expansion
  (longest match first, a syllable typed with diacritics must agree: "hỏng" is not "hông");
- titles: how many catalogue record titles contain the expansion (folded phrase; for a cue, the
  titles whose main clause carries its marker).

Only the repository's own dev and check sets are read; measure-only sets (../shared/data/citizen-questions)
are never read here.

Usage:
    .venv/bin/python scripts/lexicon_audit.py                    # seed catalogue (knowledge_base/catalog)
    .venv/bin/python scripts/lexicon_audit.py --catalog-dir /work/var-full   # an imported index (kb/catalog.jsonl)
    .venv/bin/python scripts/lexicon_audit.py --max-dev 1 --ids  # entries in at most one dev question, with ids
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_base.evaluation import read_questions  # noqa: E402
from knowledge_base.importers import load_catalog  # noqa: E402
from knowledge_base.schema import Procedure  # noqa: E402
from knowledge_base.text import (  # noqa: E402
    ABBREVIATIONS_FILE,
    Abbreviations,
    fold,
    normalize,
    prepare_query,
    syllables,
    typed_with_diacritics,
)
from knowledge_base.variants import VARIANT_MARKERS, question_text, title_markers  # noqa: E402

DEVSET = ROOT / "knowledge_base" / "devset"
SECTIONS = ("abbreviations", "everyday_names", "chat")


def read_procedures(path: Path | None) -> list[Procedure]:
    """The seed catalogue, an index data directory (kb/catalog.jsonl), a catalog.jsonl or an importable path."""
    if path is None:
        return load_catalog(ROOT / "knowledge_base" / "catalog").procedures
    jsonl = path / "kb" / "catalog.jsonl" if (path / "kb" / "catalog.jsonl").is_file() else path
    if jsonl.suffix == ".jsonl" and jsonl.is_file():
        with jsonl.open(encoding="utf-8") as handle:
            return [Procedure.model_validate_json(line) for line in handle if line.strip()]
    return load_catalog(path).procedures


def contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def key_of(surface: str) -> tuple[str, ...]:
    """An entry's key as text.py builds it: the folded syllables of its normalized surface form."""
    return tuple(syllables(normalize(surface)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--catalog-dir",
        type=Path,
        help="index data dir (with kb/catalog.jsonl), catalog.jsonl or "
        "an importable catalogue; default: the seed catalogue",
    )
    parser.add_argument("--max-dev", type=int, help="only rows used by at most this many dev questions")
    parser.add_argument("--ids", action="store_true", help="list the ids of the questions each row occurs in")
    parser.add_argument("--json", action="store_true", help="one JSON object per row instead of a table")
    args = parser.parse_args()

    sets = {"dev": read_questions(DEVSET / "dev.jsonl"), "citizen": read_questions(DEVSET / "citizen.jsonl")}
    questions = [(name, q) for name, qs in sets.items() for q in qs]
    folded = {q.id: tuple(syllables(normalize(q.question))) for _, q in questions}
    full = Abbreviations.load()
    expanded = {q.id: full.expand(normalize(q.question)) for _, q in questions}
    cue_text = {}
    for _, q in questions:
        literal = typed_with_diacritics(normalize(q.question))
        cue_text[q.id] = (question_text(prepare_query(q.question), literal), literal)

    procedures = read_procedures(args.catalog_dir)
    title_keys = [tuple(syllables(normalize(p.title))) for p in procedures]
    marker_titles = {m: 0 for m in VARIANT_MARKERS}
    for p in procedures:
        for marker in title_markers(p.title):
            marker_titles[marker] += 1

    def usage(hits: list) -> dict:
        dev = [q for name, q in hits if name == "dev"]
        return {
            "dev": len(dev),
            "tune": sum(q.split == "tune" for q in dev),
            "holdout": sum(q.split == "holdout" for q in dev),
            "citizen": sum(name == "citizen" for name, _ in hits),
            "ids": [str(q.id) for _, q in hits],
        }

    rows = []
    data = yaml.safe_load(ABBREVIATIONS_FILE.read_text(encoding="utf-8")) or {}
    for section in SECTIONS:
        for surface, expansion in (data.get(section) or {}).items():
            key = key_of(str(surface))
            hits = [(name, q) for name, q in questions if contains(folded[q.id], key)]
            # fires: dropping the entry changes the expansion of the question
            without = copy.copy(full)
            without.table = {k: v for k, v in full.table.items() if k != key}
            fires = sum(without.expand(normalize(q.question)) != expanded[q.id] for _, q in hits)
            target = key_of(str(expansion))
            titles = sum(contains(t, target) for t in title_keys)
            rows.append(
                {"kind": section, "entry": f"{surface} → {expansion}", **usage(hits), "fires": fires, "titles": titles}
            )
    for marker, cues in VARIANT_MARKERS.items():
        for cue in cues:
            hits = [
                (name, q)
                for name, q in questions
                if f" {cue if cue_text[q.id][1] else fold(cue)} " in cue_text[q.id][0]
            ]
            rows.append(
                {
                    "kind": "cue",
                    "entry": f"{marker} ← {cue}",
                    **usage(hits),
                    "fires": None,
                    "titles": marker_titles[marker],
                }
            )

    if args.max_dev is not None:
        rows = [r for r in rows if r["dev"] <= args.max_dev]
    if args.json:
        for row in rows:
            print(json.dumps(row if args.ids else {k: v for k, v in row.items() if k != "ids"}, ensure_ascii=False))
        return 0
    print(f"{len(sets['dev'])} dev + {len(sets['citizen'])} citizen questions; {len(procedures)} catalogue records")
    print(f"{'kind':<15} {'entry':<58} {'dev':>4} {'tune':>4} {'hold':>4} {'cit':>4} {'fire':>4} {'titles':>6}")
    for r in rows:
        fires = "" if r["fires"] is None else r["fires"]
        line = (
            f"{r['kind']:<15} {r['entry'][:58]:<58} {r['dev']:>4} {r['tune']:>4} {r['holdout']:>4} "
            f"{r['citizen']:>4} {fires:>4} {r['titles']:>6}"
        )
        print(line + (f"  {' '.join(r['ids'])}" if args.ids and r["ids"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
