#!/usr/bin/env python3
"""A trained Rasa model loaded as Rasa loads it and with the entry's load patch: memory, time, same parses.

    .venv-rasa/bin/python scripts/rasa_model_load.py MODEL.tar.gz [--questions FILE.jsonl] [--json]

Each way runs in a fresh process (`--variant rasa|patched`): it loads the model with `Agent.load`, counts
the one-example training steps Rasa's `RasaModel.load` takes (`tf.keras.Model.fit` calls), reads its
anonymous memory (`RssAnon`) after the load and after parsing every question, and prints the parses.
The parent prints, for both: load seconds, RssAnon after load / after the parses, fit calls, whether
every parse (intent ranking, entities, selected response) is identical, and the machine-speed
calibration. Questions: the "question" field of each line of FILE (default: knowledge_base/devset/
chat.jsonl) and a few small-talk and choice messages. Runs in the Rasa environment (.venv-rasa).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from memory_profile import current_rss_mb  # noqa: E402

SHORT_MESSAGES = ["xin chào", "cảm ơn", "ok", "tạm biệt", "tôi muốn gặp nhân viên", "bạn tên là gì vậy", "2"]


def rss_anon_mb() -> float:
    return round(current_rss_mb("RssAnon"), 1)


def one_way(model: str, variant: str, texts: list[str]) -> dict:
    import asyncio

    import tensorflow as tf

    fits: list[str] = []
    keras_fit = tf.keras.Model.fit

    def counted_fit(self, *args, **kwargs):
        fits.append(type(self).__name__)
        return keras_fit(self, *args, **kwargs)

    tf.keras.Model.fit = counted_fit
    if variant == "patched":
        from assistant.rasa_process import entry

        if "model load without a training step" not in entry.install():
            raise SystemExit("the load patch was not applied (see the warning above)")
    from rasa.core.agent import Agent

    started = time.perf_counter()
    agent = Agent.load(model)
    load_s = round(time.perf_counter() - started, 1)
    after_load = rss_anon_mb()

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    parses = asyncio.run(parse_all())
    return {
        "variant": variant,
        "load_s": load_s,
        "rss_anon_after_load_mb": after_load,
        "rss_anon_after_parses_mb": rss_anon_mb(),
        "fits": fits,
        "parses": parses,
    }


def questions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()] + SHORT_MESSAGES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a trained Rasa model (.tar.gz)")
    parser.add_argument("--questions", type=Path, default=REPO / "knowledge_base" / "devset" / "chat.jsonl")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of text")
    parser.add_argument("--variant", choices=("rasa", "patched"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not Path(args.model).is_file():
        parser.error(f"no model at {args.model}: train one (`tthc rasa train`) or give the path of a .tar.gz")
    if not args.questions.is_file():
        parser.error(f"no question file at {args.questions}: give a .jsonl file with a 'question' field per line")
    texts = questions(args.questions)
    if args.variant:
        print(json.dumps(one_way(args.model, args.variant, texts), ensure_ascii=False, default=str))
        return 0

    sys.path.insert(0, str(REPO))
    from knowledge_base.evaluation import machine_calibration_seconds

    runs = {}
    for variant in ("rasa", "patched"):
        command = [sys.executable, __file__, args.model, "--questions", str(args.questions), "--variant", variant]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            print(f"{variant}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
            return 1
        runs[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    report = {variant: {key: value for key, value in run.items() if key != "parses"} for variant, run in runs.items()}
    report["messages"] = len(texts)
    report["parses_identical"] = runs["rasa"]["parses"] == runs["patched"]["parses"]
    report["calibration_s"] = round(machine_calibration_seconds(), 3)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    for variant in ("rasa", "patched"):
        run = report[variant]
        print(
            f"{variant:8s} load {run['load_s']} s, RssAnon {run['rss_anon_after_load_mb']} MB after load, "
            f"{run['rss_anon_after_parses_mb']} MB after {len(texts)} parses; training steps: {run['fits'] or 'none'}"
        )
    print(f"every parse identical: {report['parses_identical']}; calibration_s {report['calibration_s']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
