"""`tthc kb` CLI: output contracts and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from knowledge_base.store import KnowledgeBase


@pytest.fixture
def data_dir(seed_procedures, tmp_path):
    KnowledgeBase.build(seed_procedures, tmp_path, None, progress=False)
    return tmp_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_json_contract(capsys, data_dir):
    code, out, _ = run(
        capsys, "kb", "--data-dir", str(data_dir), "search", "lam can cuoc", "--top", "3", "--json", "--system", "bm25"
    )
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {"query", "abstained", "decision", "scope", "results"}
    assert payload["query"] == "lam can cuoc" and payload["abstained"] is False
    assert 1 <= len(payload["results"]) <= 3
    assert set(payload["results"][0]) == {"code", "title", "score"}
    assert "căn cước" in payload["results"][0]["title"]


def test_eval_json_keys_and_values_on_a_tiny_set(capsys, data_dir, tmp_path):
    questions = tmp_path / "tiny.jsonl"
    lines = [
        {"id": 1, "question": "đăng ký thường trú", "gold": ["1.004222"]},
        {"id": 2, "question": "dang ky tam tru", "gold": ["1.004194"]},
        {"id": 3, "question": "nấu phở bò thế nào cho ngon", "gold": []},
    ]
    questions.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "kb", "--data-dir", str(data_dir), "eval", str(questions), "--json", "--system", "bm25")
    assert code == 0
    metrics = json.loads(out)
    assert list(metrics) == [
        "n",
        "answerable",
        "hit@1",
        "recall@5",
        "mrr@10",
        "abstain_recall",
        "false_abstain_rate",
        "p50_ms",
        "p95_ms",
    ]
    assert metrics["n"] == 3 and metrics["answerable"] == 2
    assert metrics["hit@1"] == 1.0 and metrics["recall@5"] == 1.0 and metrics["mrr@10"] == 1.0
    assert metrics["abstain_recall"] == 1.0 and metrics["false_abstain_rate"] == 0.0
    assert 0 <= metrics["p50_ms"] <= metrics["p95_ms"]


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["search", "căn cước"], "tthc kb import"),  # no index yet
        (["eval", "missing.jsonl", "--json"], "JSONL"),
        (["import", "does/not/exist"], "does not exist"),
    ],
)
def test_errors_are_one_line_naming_the_fix(capsys, tmp_path, argv, fix):
    code, out, err = run(capsys, "kb", "--data-dir", str(tmp_path / "empty"), *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("tthc: error:")
    assert fix in err
    assert "Traceback" not in err


def test_malformed_eval_line_names_the_line(capsys, data_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "x", "gold": []}\nnot json\n', encoding="utf-8")
    code, _, err = run(capsys, "kb", "--data-dir", str(data_dir), "eval", str(bad), "--json")
    assert code == 2 and f"{bad}:2" in err and err.count("\n") == 1


def test_status_reports_the_active_index(capsys, data_dir):
    code, out, _ = run(capsys, "kb", "--data-dir", str(data_dir), "status")
    assert code == 0 and "procedures:" in out


def test_import_reports_and_says_how_the_bot_learns_the_new_names(capsys, tmp_path):
    seed_catalog = Path(__file__).resolve().parents[2] / "knowledge_base" / "catalog"
    code, out, err = run(capsys, "kb", "--data-dir", str(tmp_path), "import", str(seed_catalog), "--no-dense")
    assert code == 0, err
    assert "Index: " in out and "dense=no" in out
    assert "`tthc nlu generate`" in out.splitlines()[-1]
    assert KnowledgeBase.open(tmp_path).procedures()
