"""Import a catalogue without building an index: print the import report, the parse coverage and the time taken.

Usage (from the repo root, in .venv):
    python scripts/import_report.py                          # ../shared/data/dvc-procedures
    python scripts/import_report.py knowledge_base/catalog   # the seed catalogue
The coverage lines count, among imported records whose page text has the table, those that got it parsed.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge_base.errors import KnowledgeBaseError  # noqa: E402
from knowledge_base.importers import load_catalog  # noqa: E402


def main(argv: list[str]) -> int:
    path = (
        Path(argv[0]) if argv else Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dvc-procedures"
    )
    started = time.perf_counter()
    try:
        report = load_catalog(path)
    except KnowledgeBaseError as exc:
        print(f"import_report: error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(report.render())
    online = Counter(p.online.value for p in report.procedures)
    print("Online availability: " + ", ".join(f"{key}={value}" for key, value in sorted(online.items())))
    print(
        f"Documents: {sum(len(p.documents) for p in report.procedures)}, "
        f"channels: {sum(len(p.channels) for p in report.procedures)}, "
        f"legal documents: {sum(len(p.legal_basis) for p in report.procedures)}"
    )
    print(f"Import time: {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
