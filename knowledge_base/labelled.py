"""Real citizen questions labelled by the catalogue team: training examples and an evaluation set.

The app (assistant/app/question_labels.py) keeps the labels in its database and rewrites
`<data_dir>/labels/labelled.jsonl` whenever one changes. This module only reads that file: the knowledge
base never imports the app. One JSON object per line, the question-file format of `tthc kb eval`
(knowledge_base/evaluation.py) with a few more keys:

    {"id": "label-12", "question": "...", "gold": ["1.001193"], "label": "procedure",
     "style": "labelled", "labelled_at": "2026-12-07T20:00:00+00:00"}

- `question`: what the citizen typed, personal data masked by the app;
- `gold`: the procedure's code for `label` "procedure"; [] for "not_in_catalogue" (an administrative
  question whose procedure the catalogue does not hold) and "not_procedure" (not an administrative
  question at all);
- `style`: "labelled", "not_in_catalog" or "offtopic", as in devset/abstention_train.jsonl (the
  trainer's no-answer file), so the no-answer labels can join it as they are.

Functions:
- `labelled_path(data_dir) -> Path`
- `read_labelled(data_dir, required=False) -> list[LabelledQuestion]`: [] when there is no file (unless
  `required`); a malformed line raises KnowledgeBaseError naming the file, the line and the fix.
- `training_examples(labelled, known_codes) -> LabelledTraining`: what a trainer adds to its own data;
  `generated_questions(training, procedures)` turns its answerable pairs into `GeneratedQuestion`s.
- `evaluation_questions(labelled) -> list[evaluation.Question]`: for `evaluate()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.errors import KnowledgeBaseError

LABELS_DIR = "labels"
LABELLED_FILE = "labelled.jsonl"
KINDS = ("procedure", "not_in_catalogue", "not_procedure")
STYLES = {"procedure": "labelled", "not_in_catalogue": "not_in_catalog", "not_procedure": "offtopic"}
ANSWERABLE_STYLE = STYLES["procedure"]  # the GeneratedQuestion.style of an answerable label (the trainer's mark)


@dataclass(frozen=True)
class LabelledQuestion:
    id: str
    question: str
    gold: list[str]  # [code] for a procedure label, [] for the two no-answer labels
    label: str  # one of KINDS

    @property
    def answerable(self) -> bool:
        return self.label == "procedure"


@dataclass
class LabelledTraining:
    """Labelled questions sorted the way the trainer's own data is.

    - `answerable`: (question, code) pairs, as a generated question with its record's code;
    - `other_sector`: administrative questions the catalogue does not hold (no answer, like the
      other-sector questions of devset/abstention_train.jsonl);
    - `chat`: questions that are not about a procedure (no answer, like everyday chat);
    - `unknown_code`: labels whose procedure is not in this catalogue (a re-import dropped or renamed
      it): left out of training, listed so the trainer can say how many.
    """

    answerable: list[tuple[str, str]] = field(default_factory=list)
    other_sector: list[str] = field(default_factory=list)
    chat: list[str] = field(default_factory=list)
    unknown_code: list[LabelledQuestion] = field(default_factory=list)


def labelled_path(data_dir: Path) -> Path:
    return Path(data_dir) / LABELS_DIR / LABELLED_FILE


def _fix(path: Path) -> str:
    return f"relabel the question on the staff page (Câu hỏi đã gán nhãn) to rewrite {path}, or delete the line"


def _parse(line: str, path: Path, number: int) -> LabelledQuestion:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise KnowledgeBaseError(f"{path}:{number}: not JSON ({exc.msg}); {_fix(path)}") from None
    if not isinstance(item, dict):
        raise KnowledgeBaseError(f"{path}:{number}: expected a JSON object, got {type(item).__name__}; {_fix(path)}")
    question, gold, label = (
        item.get("question"),
        item.get("gold"),
        item.get("label", "procedure" if item.get("gold") else None),
    )
    if not isinstance(question, str) or not question.strip():
        raise KnowledgeBaseError(f'{path}:{number}: "question" must be a non-empty string; {_fix(path)}')
    if not isinstance(gold, list) or not all(isinstance(code, str) and code.strip() for code in gold):
        raise KnowledgeBaseError(
            f'{path}:{number}: "gold" must be a list of procedure codes ([] for no answer); {_fix(path)}'
        )
    if label not in KINDS:
        raise KnowledgeBaseError(
            f'{path}:{number}: "label" must be one of {", ".join(KINDS)}, got {label!r}; {_fix(path)}'
        )
    if (label == "procedure") != bool(gold):
        raise KnowledgeBaseError(
            f"{path}:{number}: label {label!r} with gold {gold}: a procedure label needs its code, "
            f"the others an empty gold; {_fix(path)}"
        )
    return LabelledQuestion(
        id=str(item.get("id") or f"label-line-{number}"),
        question=question.strip(),
        gold=[code.strip() for code in gold],
        label=label,
    )


def read_labelled(data_dir: Path, required: bool = False) -> list[LabelledQuestion]:
    """The labelled questions of the catalogue in `data_dir`, in file order.

    No file yet (nobody labelled anything) → [] or, with `required`, a KnowledgeBaseError saying how to
    make one. A later line with the same question replaces an earlier one (a correction)."""
    path = labelled_path(data_dir)
    if not path.is_file():
        if required:
            raise KnowledgeBaseError(
                f"no labelled questions at {path}: label questions on the staff page "
                '(/staff, "Câu hỏi chưa được trả lời"), then run this again'
            )
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"cannot read {path} ({exc}); {_fix(path)}") from None
    by_question: dict[str, LabelledQuestion] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            labelled = _parse(line, path, number)
            by_question.pop(labelled.question, None)
            by_question[labelled.question] = labelled
    if required and not by_question:
        raise KnowledgeBaseError(f"{path} holds no labelled question: label questions on the staff page first")
    return list(by_question.values())


def training_examples(labelled: list[LabelledQuestion], known_codes: set[str] | frozenset[str]) -> LabelledTraining:
    """Sort labelled questions into the trainer's kinds of data (see LabelledTraining)."""
    training = LabelledTraining()
    for item in labelled:
        if item.label == "not_procedure":
            training.chat.append(item.question)
        elif item.label == "not_in_catalogue":
            training.other_sector.append(item.question)
        elif all(code in known_codes for code in item.gold):
            training.answerable.extend((item.question, code) for code in item.gold)
        else:
            training.unknown_code.append(item)
    return training


def generated_questions(training: LabelledTraining, procedures) -> list:
    """The answerable labels as `questions.GeneratedQuestion`s (aspect "general", style "labelled", group the
    record's field), to append to the trainer's generated questions; procedures: the catalogue's records."""
    from knowledge_base.questions import GeneratedQuestion

    fields = {p.code: p.field for p in procedures}
    return [
        GeneratedQuestion(text=text, code=code, aspect="general", style=ANSWERABLE_STYLE, group=fields.get(code, ""))
        for text, code in training.answerable
        if code in fields
    ]


def evaluation_questions(labelled: list[LabelledQuestion]):
    """The labelled questions as `evaluation.Question`s (gold [] = no answer expected)."""
    from knowledge_base.evaluation import Question

    return [Question(id=item.id, question=item.question, gold=item.gold, split="labelled") for item in labelled]
