"""knowledge_base/labelled.py: the labelled questions the app writes, read for training and evaluation;
`tthc kb eval --labelled` on them."""

from __future__ import annotations

import json

import pytest

from assistant.cli import main
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.labelled import (
    evaluation_questions,
    generated_questions,
    labelled_path,
    read_labelled,
    training_examples,
)
from knowledge_base.store import KnowledgeBase


def write(data_dir, *lines) -> None:
    path = labelled_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines),
        encoding="utf-8",
    )


LINES = [
    {
        "id": "label-1",
        "question": "đăng ký thường trú",
        "gold": ["1.004222"],
        "label": "procedure",
        "style": "labelled",
    },
    {
        "id": "label-2",
        "question": "xin trợ cấp thất nghiệp",
        "gold": [],
        "label": "not_in_catalogue",
        "style": "not_in_catalog",
    },
    {
        "id": "label-3",
        "question": "nấu phở bò thế nào cho ngon",
        "gold": [],
        "label": "not_procedure",
        "style": "offtopic",
    },
    {"id": "label-4", "question": "cấp giấy phép bay flycam", "gold": ["9.999999"], "label": "procedure"},
]


def test_no_file_is_no_label_unless_required(tmp_path):
    assert read_labelled(tmp_path) == []
    with pytest.raises(KnowledgeBaseError, match="label questions on the staff page"):
        read_labelled(tmp_path, required=True)


def test_lines_are_read_and_a_later_line_corrects_an_earlier_one(tmp_path):
    write(
        tmp_path,
        *LINES,
        {"id": "label-1", "question": "đăng ký thường trú", "gold": ["1.004194"], "label": "procedure"},
    )
    labelled = read_labelled(tmp_path)
    assert [item.id for item in labelled] == ["label-2", "label-3", "label-4", "label-1"]
    assert labelled[-1].gold == ["1.004194"] and labelled[-1].answerable
    assert not labelled[0].answerable


def test_training_examples_sort_labels_like_the_trainers_own_data(tmp_path):
    write(tmp_path, *LINES)
    training = training_examples(read_labelled(tmp_path), known_codes={"1.004222", "1.004194"})
    assert training.answerable == [("đăng ký thường trú", "1.004222")]
    assert training.other_sector == ["xin trợ cấp thất nghiệp"]
    assert training.chat == ["nấu phở bò thế nào cho ngon"]
    assert [item.id for item in training.unknown_code] == ["label-4"]  # not in this catalogue: left out


def test_answerable_labels_become_generated_questions_of_their_record(tmp_path, seed_procedures):
    write(tmp_path, *LINES)
    training = training_examples(read_labelled(tmp_path), {p.code for p in seed_procedures})
    [question] = generated_questions(training, seed_procedures)
    record = next(p for p in seed_procedures if p.code == "1.004222")
    assert (question.text, question.code, question.style, question.group) == (
        "đăng ký thường trú",
        "1.004222",
        "labelled",
        record.field,
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('["a list"]', "expected a JSON object"),
        ({"question": "", "gold": [], "label": "not_procedure"}, '"question" must be a non-empty string'),
        ({"question": "x", "gold": "1.0", "label": "procedure"}, '"gold" must be a list'),
        ({"question": "x", "gold": [], "label": "maybe"}, '"label" must be one of'),
        ({"question": "x", "gold": [], "label": "procedure"}, "a procedure label needs its code"),
        ({"question": "x", "gold": ["1.0"], "label": "not_procedure"}, "a procedure label needs its code"),
    ],
)
def test_a_malformed_line_names_the_file_the_line_and_the_fix(tmp_path, line, message):
    write(tmp_path, LINES[0], line)
    with pytest.raises(KnowledgeBaseError) as raised:
        read_labelled(tmp_path)
    text = str(raised.value)
    assert f"{labelled_path(tmp_path)}:2" in text and message in text
    assert "relabel the question on the staff page" in text and "\n" not in text


def test_evaluation_questions_keep_gold_and_no_answer(tmp_path):
    write(tmp_path, *LINES[:3])
    questions = evaluation_questions(read_labelled(tmp_path))
    assert [(q.id, q.gold) for q in questions] == [("label-1", ["1.004222"]), ("label-2", []), ("label-3", [])]


def test_kb_eval_labelled_runs_on_the_labelled_questions(capsys, seed_procedures, tmp_path):
    KnowledgeBase.build(seed_procedures, tmp_path, None, progress=False)
    write(tmp_path, *LINES[:3])
    assert main(["kb", "--data-dir", str(tmp_path), "eval", "--labelled", "--json", "--system", "bm25"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 3 and metrics["answerable"] == 1 and metrics["hit@1"] == 1.0


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["eval", "--labelled"], "label questions on the staff page"),
        (["eval"], "pass one of: a question file"),
        (["eval", "x.jsonl", "--labelled"], "pass one of: a question file"),
    ],
)
def test_kb_eval_labelled_errors_are_one_line_naming_the_fix(capsys, tmp_path, argv, fix):
    assert main(["kb", "--data-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tthc: error:") and err.count("\n") == 1 and fix in err
