"""Train small models from the real training data and check what they understand.

- `rasa data validate` is clean;
- a tiny model (production config, fewer epochs) passes every conversation test in
  tests/test_conversations.yml, and answers small talk through the response selector;
- NLU intent accuracy on a held-out 20 % split is reported and must stay above a floor.
Slow (a few minutes): two trainings on this 2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from rasa_cli import PROJECT_ROOT, rasa_env, run_rasa, tail, tiny_config

pytestmark = pytest.mark.rasa

# A regression guard, not the goal: the tiny model measured 0.902 on this split (seed 7, 468 test examples)
# with ~2,340 examples and word bigrams (0.887 with ~1,590 examples, 0.784 before that). The target is the
# cross-validated macro F1 of the production config (scripts/nlu_cross_validation.sh). Raise the floor as the data
# improves.
HELD_OUT_ACCURACY_FLOOR = 0.85


def test_training_data_is_nfc():
    # Annotated entity offsets are only valid if the tokenizer never has to rewrite training text.
    for path in sorted((PROJECT_ROOT / "nlu_data").rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        assert text == unicodedata.normalize("NFC", text), f"{path} is not NFC"


def test_every_intent_has_25_examples():
    counts: dict[str, int] = {}
    for path in (PROJECT_ROOT / "nlu_data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                intent = block["intent"].split("/")[0]
                counts[intent] = counts.get(intent, 0) + block["examples"].count("\n- ") + 1
    domain_intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"]
    assert set(counts) == set(domain_intents)
    assert {intent: n for intent, n in counts.items() if n < 25} == {}


def test_data_validate_is_clean():
    result = run_rasa(
        "data",
        "validate",
        "--fail-on-warnings",
        "--data",
        "nlu_data",
        "--domain",
        "domain.yml",
        "--config",
        "config.yml",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, tail(result)
    assert "Issue found" not in output and " WARNING " not in output, tail(result, 60)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tiny")
    config = tiny_config(work / "config.yml")
    result = run_rasa(
        "train",
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--data",
        "nlu_data",
        "--out",
        str(work),
        "--fixed-model-name",
        "tiny",
        "--force",
    )
    assert result.returncode == 0, tail(result)
    return work / "tiny.tar.gz"


def test_conversation_tests_pass(tiny_model, tmp_path):
    result = run_rasa(
        "test",
        "core",
        "--model",
        str(tiny_model),
        "--stories",
        "tests/test_conversations.yml",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8") if failed.exists() else tail(result)
    assert result.returncode == 0, details
    stories = yaml.safe_load((PROJECT_ROOT / "tests" / "test_conversations.yml").read_text(encoding="utf-8"))
    assert len(stories["stories"]) >= 30


def test_small_talk_gets_a_selected_response_and_questions_skip_the_selector(tiny_model):
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(str(tiny_model))
    small_talk = asyncio.run(agent.parse_message("bạn tên là gì vậy"))
    assert small_talk["intent"]["name"] == "chitchat"
    assert small_talk["response_selector"]["chitchat"]["response"]["intent_response_key"] == "chitchat/ask_name"
    question = asyncio.run(agent.parse_message("làm căn cước cần giấy tờ gì"))
    assert question["intent"]["name"] == "ask_documents"
    assert "chitchat" not in question.get("response_selector", {})


def test_held_out_intent_accuracy(tmp_path):
    split = run_rasa(
        "data",
        "split",
        "nlu",
        "--nlu",
        "nlu_data/nlu",
        "--training-fraction",
        "0.8",
        "--random-seed",
        "7",
        "--out",
        str(tmp_path / "split"),
    )
    assert split.returncode == 0, tail(split)
    config = tiny_config(tmp_path / "config.yml")
    train = run_rasa(
        "train",
        "nlu",
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--nlu",
        str(tmp_path / "split" / "training_data.yml"),
        "--out",
        str(tmp_path),
        "--fixed-model-name",
        "heldout",
    )
    assert train.returncode == 0, tail(train)
    test = run_rasa(
        "test",
        "nlu",
        "--model",
        str(tmp_path / "heldout.tar.gz"),
        "--nlu",
        str(tmp_path / "split" / "test_data.yml"),
        "--out",
        str(tmp_path / "results"),
    )
    assert test.returncode == 0, tail(test)
    report = json.loads((tmp_path / "results" / "intent_report.json").read_text(encoding="utf-8"))
    accuracy, macro_f1 = report["accuracy"], report["macro avg"]["f1-score"]
    print(
        f"held-out NLU intent accuracy {accuracy:.3f}, macro F1 {macro_f1:.3f} "
        f"({report['macro avg']['support']} test examples)"
    )
    assert accuracy >= HELD_OUT_ACCURACY_FLOOR


def test_the_model_loads_without_a_training_step_and_understands_the_same(tiny_model, tmp_path):
    """The entry's load patch: no one-example fit, and every parse (intent ranking, entities, selected
    response) exactly as Rasa's own load gives it (scripts/rasa_model_load.py, each way in a fresh process)."""
    texts = [
        "làm căn cước cần giấy tờ gì",
        "lệ phí đăng ký kết hôn bao nhiêu",
        "nộp hồ sơ khai sinh ở đâu",
        "không phải thủ tục này",
        "thời tiết hôm nay thế nào",
        "lam giay phep xay dung mat bao lau",
    ]
    question_file = tmp_path / "questions.jsonl"
    question_file.write_text("".join(json.dumps({"question": t}, ensure_ascii=False) + "\n" for t in texts), "utf-8")
    result = subprocess.run(
        [sys.executable, "scripts/rasa_model_load.py", str(tiny_model), "--questions", str(question_file), "--json"],
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, tail(result)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["rasa"]["fits"], "Rasa's own load trains on one example (what the patch removes)"
    assert report["patched"]["fits"] == []
    assert report["messages"] > len(texts) and report["parses_identical"] is True
    print({variant: report[variant]["rss_anon_after_load_mb"] for variant in ("rasa", "patched")}, "MB RssAnon")
