"""The catalogue team's labels on real questions (issue 14, item 3).

A member of the catalogue team marks a question "thuộc thủ tục X" (kind `procedure`, with the code),
"không có trong danh mục" (`not_in_catalogue`) or "không phải câu hỏi thủ tục" (`not_procedure`). Labels
live in the app database (table `question_labels`, one row per masked question text: labelling the same
question again corrects it) and, after every change, the whole set is written to
`<data_dir>/labels/labelled.jsonl` (knowledge_base/labelled.py reads it: the trainer and
`tthc kb eval --labelled`; `tthc bot eval` runs on the file as it is). `data_dir` is the directory of the
app database (`<catalog.data_dir>`).

Masking: the question is masked by `privacy.mask_pii` before it is stored and the file is written from the
stored rows only, so nothing unmasked leaves the database.

Retention (docs/security.md, "Labels"): a label is the catalogue team's work, not a citizen's record, and
is what the growing evaluation set is made of, so it is kept until staff delete it. It holds only the masked
question text, the label and the staff's times: no sender id, channel or conversation. Its one tie to the
citizens' records is `asked_at`, when the question was first asked (the earliest recorded interaction with
that text, else the labelling time). `tthc privacy purge` keeps the labels and cuts that tie
(`unlink_older_than`): an `asked_at` before the cutoff, whose interactions are purged, becomes the earliest
interaction with that text still kept, or "" when none is.

Functions (all take an optional `db_path`; default: the app database):
- `set_labels(questions, kind, code=None, db_path=None) -> list[LabelRecord]` (insert or correct)
- `update_label(label_id, kind, code=None, db_path=None) -> LabelRecord | None`
- `delete_label(label_id, db_path=None) -> bool`
- `list_labels(limit=100, db_path=None) -> list[LabelRecord]` (newest change first)
- `labels_for(questions, db_path=None) -> dict[str, LabelRecord]`
- `export(db_path=None) -> Path` (rewrites the JSONL file; called by every change)
- `unlink_older_than(cutoff, db_path=None) -> int`
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.app import conversation_log, interaction_log
from assistant.core.privacy import mask_pii
from knowledge_base.labelled import KINDS, STYLES, labelled_path

MAX_QUESTION_CHARS = 500
MAX_QUESTIONS_PER_CALL = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS question_labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question TEXT NOT NULL UNIQUE,  -- masked
    kind TEXT NOT NULL CHECK (kind IN ('procedure', 'not_in_catalogue', 'not_procedure')),
    code TEXT,                      -- the procedure, for kind 'procedure'
    asked_at TEXT NOT NULL,         -- ISO 8601 UTC: when the question was first asked (retention)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS question_labels_asked ON question_labels (asked_at);
"""


class LabelError(ValueError):
    """A label that cannot be stored; str() is a one-line Vietnamese message naming the fix."""


@dataclass(frozen=True)
class LabelRecord:
    id: int
    question: str  # masked
    kind: str  # one of KINDS
    code: str | None
    asked_at: str
    created_at: str
    updated_at: str

    def as_dict(self) -> dict:
        return asdict(self)

    def as_question_line(self) -> dict:
        """The line of labelled.jsonl (knowledge_base/labelled.py, `tthc kb eval` question format)."""
        return {
            "id": f"label-{self.id}",
            "question": self.question,
            "gold": [self.code] if self.code else [],
            "label": self.kind,
            "style": STYLES[self.kind],
            "labelled_at": self.updated_at,
        }


def clean_question(text: str) -> str:
    """How a question is stored and matched: masked, spaces collapsed, at most MAX_QUESTION_CHARS."""
    return mask_pii(re.sub(r"\s+", " ", str(text or "")).strip()[:MAX_QUESTION_CHARS])


def _data_dir(db_path: Path | str | None) -> Path:
    """Where labels/labelled.jsonl goes: beside a SQLite app database, else the catalogue's data dir."""
    if db_path and "://" not in str(db_path):
        return Path(db_path).parent
    return conversation_log.default_db_path().parent


def _connect(db_path: Path | None):
    # The interactions table too: a label looks up when its question was first asked.
    return conversation_log.connect(db_path, _SCHEMA + interaction_log._SCHEMA)


def _record(row) -> LabelRecord:
    return LabelRecord(**{key: row[key] for key in row.keys()})


def _first_asked(connection, question: str, fallback: str) -> str:
    """When the question was first recorded (interactions), else `fallback`."""
    row = connection.execute("SELECT MIN(created_at) FROM interactions WHERE question = ?", (question,)).fetchone()
    return row[0] or fallback


def _check(kind: str, code: str | None) -> str | None:
    if kind not in KINDS:
        raise LabelError(f"Loại nhãn không hợp lệ: {kind!r}; chọn một trong {', '.join(KINDS)}.")
    code = (code or "").strip() or None
    if kind == "procedure" and not code:
        raise LabelError("Nhãn «thuộc thủ tục» cần mã thủ tục: tìm và chọn thủ tục trước khi lưu.")
    return code if kind == "procedure" else None


def set_labels(
    questions: Iterable[str], kind: str, code: str | None = None, db_path: Path | None = None
) -> list[LabelRecord]:
    """Label each question (masked first); a question already labelled gets the new label (a correction).
    The code is not checked against the catalogue here (the API does). Rewrites labelled.jsonl."""
    code = _check(kind, code)
    texts = list(dict.fromkeys(t for t in (clean_question(q) for q in questions) if t))
    if not texts:
        raise LabelError("Chưa có câu hỏi nào để gán nhãn: chọn ít nhất một câu hỏi.")
    if len(texts) > MAX_QUESTIONS_PER_CALL:
        raise LabelError(f"Tối đa {MAX_QUESTIONS_PER_CALL} câu hỏi mỗi lần gán nhãn; chia thành nhiều lần.")
    now = conversation_log.utc_now()
    with closing(_connect(db_path)) as connection, connection:
        for text in texts:
            connection.execute(
                "INSERT INTO question_labels (question, kind, code, asked_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (question) DO UPDATE SET "
                "kind = excluded.kind, code = excluded.code, updated_at = excluded.updated_at",
                (text, kind, code, _first_asked(connection, text, now), now, now),
            )
        rows = connection.execute(
            f"SELECT * FROM question_labels WHERE question IN ({', '.join('?' for _ in texts)})", texts
        ).fetchall()
    export(db_path)
    by_text = {row["question"]: _record(row) for row in rows}
    return [by_text[text] for text in texts]


def update_label(label_id: int, kind: str, code: str | None = None, db_path: Path | None = None) -> LabelRecord | None:
    """Correct one label; None when there is no label with that id. Rewrites labelled.jsonl."""
    code = _check(kind, code)
    with closing(_connect(db_path)) as connection, connection:
        changed = connection.execute(
            "UPDATE question_labels SET kind = ?, code = ?, updated_at = ? WHERE id = ?",
            (kind, code, conversation_log.utc_now(), label_id),
        ).rowcount
        row = connection.execute("SELECT * FROM question_labels WHERE id = ?", (label_id,)).fetchone()
    if not changed:
        return None
    export(db_path)
    return _record(row)


def delete_label(label_id: int, db_path: Path | None = None) -> bool:
    with closing(_connect(db_path)) as connection, connection:
        deleted = connection.execute("DELETE FROM question_labels WHERE id = ?", (label_id,)).rowcount
    if deleted:
        export(db_path)
    return bool(deleted)


def list_labels(limit: int = 100, db_path: Path | None = None) -> list[LabelRecord]:
    """Labels, most recently changed first (at most `limit`)."""
    with closing(_connect(db_path)) as connection:
        rows = connection.execute(
            "SELECT * FROM question_labels ORDER BY updated_at DESC, id DESC LIMIT ?", (max(0, limit),)
        ).fetchall()
    return [_record(row) for row in rows]


def count_labels(db_path: Path | None = None) -> int:
    with closing(_connect(db_path)) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM question_labels").fetchone()[0])


def labels_for(questions: Iterable[str], db_path: Path | None = None) -> dict[str, LabelRecord]:
    """The labels of these (stored, masked) question texts, by text."""
    texts = list(dict.fromkeys(questions))
    found: dict[str, LabelRecord] = {}
    with closing(_connect(db_path)) as connection:
        for start in range(0, len(texts), 500):
            chunk = texts[start : start + 500]
            rows = connection.execute(
                f"SELECT * FROM question_labels WHERE question IN ({', '.join('?' for _ in chunk)})", chunk
            ).fetchall()
            found.update((row["question"], _record(row)) for row in rows)
    return found


_export_lock = threading.Lock()  # two changes at once: the later read of the table is written last


def export(db_path: Path | None = None) -> Path:
    """Write every label to <data_dir>/labels/labelled.jsonl (oldest first), atomically; returns the path."""
    path = labelled_path(_data_dir(db_path))
    with _export_lock:
        with closing(_connect(db_path)) as connection:
            rows = connection.execute("SELECT * FROM question_labels ORDER BY id").fetchall()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
        lines = [json.dumps(_record(row).as_question_line(), ensure_ascii=False) for row in rows]
        temporary.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        os.replace(temporary, path)
    return path


def unlink_older_than(cutoff: datetime, db_path: Path | None = None) -> int:
    """Retention: keep every label, and cut its tie to interactions recorded before `cutoff` (run after they are
    purged): `asked_at` becomes the earliest interaction with that text still kept, or "" when none is.
    Returns how many labels were unlinked."""
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware (UTC)")
    limit = cutoff.astimezone(timezone.utc).isoformat(timespec="seconds")
    with closing(_connect(db_path)) as connection, connection:
        return int(
            connection.execute(
                "UPDATE question_labels SET asked_at = COALESCE((SELECT MIN(interactions.created_at) FROM interactions "
                "WHERE interactions.question = question_labels.question AND interactions.created_at >= ?), '') "
                "WHERE asked_at <> '' AND asked_at < ?",
                (limit, limit),
            ).rowcount
        )
