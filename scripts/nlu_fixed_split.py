"""Fixed-split NLU intent evaluation, for comparing data or config variants without CV's reshuffled folds.

The test part is the seed-11 80/20 split (`rasa data split nlu`) of nlu_data/nlu *as of a fixed commit*
(default 338e626, 1,587 examples -> 318 test texts), so it stays the same while the data grows. The model
is trained on all current examples minus those test texts, then tested on them. Optionally times warm
parses of the trained model (rasa Agent.parse_message, 300 messages after 20 warm-up ones).

Usage (repo root, Rasa env):
  .venv-rasa/bin/python scripts/nlu_fixed_split.py [--config config.yml] [--commit 338e626] [--parse-timing]
Prints macro F1 over the intents, accuracy, training time and the lowest intents.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"


def _run(*args: str) -> None:
    result = subprocess.run(["nice", str(RASA), *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: rasa {args[0]} {args[1]} failed:\n{result.stderr[-2000:]}")


def _test_split(commit: str, work: Path) -> Path:
    """The seed-11 test part of nlu_data/nlu at `commit`."""
    old = work / "old"
    old.mkdir()
    archive = subprocess.run(["git", "archive", commit, "nlu_data/nlu"], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        sys.exit(f"error: commit {commit} not found; pass --commit with a commit of this repository")
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    _run(
        "data",
        "split",
        "nlu",
        "--nlu",
        str(old / "nlu_data" / "nlu"),
        "--training-fraction",
        "0.8",
        "--random-seed",
        "11",
        "--out",
        str(work / "split"),
    )
    return work / "split" / "test_data.yml"


def _parse_timing(model: Path, texts: list[str]) -> str:
    from rasa.core.agent import Agent

    texts = (texts * (300 // len(texts) + 1))[:300]
    agent = Agent.load(str(model))

    async def measure() -> list[float]:
        for text in texts[:20]:
            await agent.parse_message(text)
        times = []
        for text in texts:
            start = time.perf_counter()
            await agent.parse_message(text)
            times.append((time.perf_counter() - start) * 1000)
        return sorted(times)

    times = asyncio.run(measure())
    return f"warm parse: {len(times)} messages, mean {statistics.mean(times):.1f} ms, p95 {times[284]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--commit", default="338e626", help="commit whose data defines the test texts")
    parser.add_argument("--parse-timing", action="store_true", help="also time warm parses of the model")
    args = parser.parse_args()
    os.environ.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    os.chdir(ROOT)
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    with tempfile.TemporaryDirectory(prefix="tthc-nlu-fixed-") as tmp:
        work = Path(tmp)
        test = _test_split(args.commit, work)
        test_texts = [m.get("text") for m in load_data(str(test)).training_examples]
        data = load_data("nlu_data/nlu")
        kept = [m for m in data.training_examples if m.get("text") not in set(test_texts)]
        TrainingData(
            training_examples=kept,
            entity_synonyms=data.entity_synonyms,
            regex_features=data.regex_features,
            lookup_tables=data.lookup_tables,
        ).persist_nlu(str(work / "train.yml"))
        start = time.time()
        _run(
            "train",
            "nlu",
            "--nlu",
            str(work / "train.yml"),
            "--config",
            args.config,
            "--domain",
            "domain.yml",
            "--out",
            str(work),
            "--fixed-model-name",
            "fixed",
        )
        train_s = time.time() - start
        _run("test", "nlu", "--nlu", str(test), "--model", str(work / "fixed.tar.gz"), "--out", str(work / "results"))
        report = json.loads((work / "results" / "intent_report.json").read_text(encoding="utf-8"))
        intents = {
            k: v
            for k, v in report.items()
            if isinstance(v, dict) and v.get("support", 0) > 0 and k not in ("macro avg", "weighted avg", "micro avg")
        }
        macro_f1 = sum(v["f1-score"] for v in intents.values()) / len(intents)
        worst = sorted((v["f1-score"], k) for k, v in intents.items())[:4]
        print(
            f"fixed split ({args.config}, test texts of {args.commit} seed 11): {len(kept)} training examples, "
            f"{sum(v['support'] for v in intents.values())} test: macro F1 {macro_f1:.3f}, "
            f"accuracy {report['accuracy']:.3f}; training {train_s:.0f} s"
        )
        print("lowest F1: " + ", ".join(f"{name} {f1:.2f}" for f1, name in worst))
        if args.parse_timing:
            print(_parse_timing(work / "fixed.tar.gz", test_texts))


if __name__ == "__main__":
    main()
