"""Float vs int8 question encoder: accuracy and search time on two builds, interleaved (issue 11, search speed).

    .venv/bin/python scripts/query_encoder_benchmark.py --float-build DIR_A --int8-build DIR_B \
        [--rounds 3] [--threads 2,1] QUESTIONS.jsonl [MORE.jsonl ...]

DIR_A is a data dir whose index was trained on float question vectors (index format 5); its questions are
embedded by the float model. DIR_B is a data dir trained by this version (int8 question vectors); its
questions go through the int8 copy (knowledge_base.embedding.quantized_for_queries). Both builds are opened in
this one process, so the accuracy figures (`tthc kb eval`'s, once per file) and the timings compare the same
machine state: each round times every search of the files in both variants, in alternating order, with each
torch thread count given, and prints the wall p50/p95 and, with 1 thread, the CPU time of the searching
thread (steadier than wall time on a shared machine). The machine-speed calibration is printed each round.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from knowledge_base.embedding import DEFAULT_MODEL_PATH
from knowledge_base.evaluation import evaluate, machine_calibration_seconds, read_questions
from knowledge_base.store import KnowledgeBase

ACCURACY_KEYS = ("n", "hit@1", "recall@5", "mrr@10", "abstain_recall", "false_abstain_rate")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--float-build", type=Path, required=True, help="data dir trained on float question vectors")
    parser.add_argument("--int8-build", type=Path, required=True, help="data dir trained by this version")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="2,1", help="torch thread counts to time, comma-separated")
    parser.add_argument("questions", nargs="+", type=Path)
    args = parser.parse_args()
    import torch

    before = KnowledgeBase.open(args.float_build, args.model)
    before.encoder.query_model = before.encoder.model  # float questions, as before the int8 copy
    after = KnowledgeBase.open(args.int8_build, args.model)
    variants = {"float": before, "int8": after}
    sets = {path.name: read_questions(path) for path in args.questions}
    for name, questions in sets.items():
        for label, kb in variants.items():
            metrics = evaluate(kb, questions)
            print(json.dumps({"accuracy": name, "variant": label, **{k: metrics[k] for k in ACCURACY_KEYS}}), flush=True)
    texts = [q.question for questions in sets.values() for q in questions]
    for number in range(args.rounds):
        calibration, load = machine_calibration_seconds(), Path("/proc/loadavg").read_text().split()[0]
        order = list(variants.items()) if number % 2 == 0 else list(variants.items())[::-1]
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            for label, kb in order:
                kb.clear_cache()
                for text in texts[:3]:
                    kb.search(text, top_k=10)
                kb.clear_cache()
                wall, cpu = [], []
                for text in texts:
                    started_wall, started_cpu = time.perf_counter(), time.thread_time()
                    kb.search(text, top_k=10)
                    wall.append((time.perf_counter() - started_wall) * 1000)
                    cpu.append((time.thread_time() - started_cpu) * 1000)
                row = {"round": number, "variant": label, "threads": threads, "calibration_s": calibration,
                       "load1": load, "p50_ms": round(float(np.percentile(wall, 50)), 1),
                       "p95_ms": round(float(np.percentile(wall, 95)), 1)}
                if threads == 1:  # with more threads, the searching thread's CPU time misses the others'
                    row |= {"cpu_p50_ms": round(float(np.percentile(cpu, 50)), 1),
                            "cpu_p95_ms": round(float(np.percentile(cpu, 95)), 1)}
                print(json.dumps(row), flush=True)
        print(json.dumps({"round": number, "calibration_s_after": machine_calibration_seconds()}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
