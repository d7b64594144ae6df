"""Latency of GET /api/search through a real HTTP server (uvicorn on 127.0.0.1), printed as p50/p95.

Usage (from the repo root, in .venv):
    nice python scripts/bench_api.py                      # the active index (settings catalog.data_dir)
    nice python scripts/bench_api.py --catalog knowledge_base/catalog   # build a temporary index first
Options: --requests N (default 400), --no-model (BM25 only), --port (default: first free in 5300-5399).
The queries are everyday questions written for this benchmark, each request's text distinct; every
fourth request adds a filter.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from assistant.app.knowledge_provider import provider  # noqa: E402
from assistant.app.server.app import create_app  # noqa: E402
from assistant.core.settings import load_settings  # noqa: E402
from knowledge_base.errors import KnowledgeBaseError  # noqa: E402
from knowledge_base.importers import load_catalog  # noqa: E402
from knowledge_base.schema import SearchFilters  # noqa: E402
from knowledge_base.store import KnowledgeBase  # noqa: E402

QUERIES = [
    "làm căn cước cần gì",
    "lam can cuoc can giay to gi",
    "đăng ký khai sinh cho con",
    "dang ky ket hon can nhung gi",
    "xin giấy xác nhận tình trạng hôn nhân",
    "cấp phiếu lý lịch tư pháp mất bao lâu",
    "đăng ký thường trú ở đâu",
    "đăng ký tạm trú online được không",
    "chứng thực bản sao lệ phí bao nhiêu",
    "khai tử cho ông nội",
    "làm sổ đỏ lần đầu",
    "xin giấy phép xây dựng nhà ở",
    "đăng ký hộ kinh doanh cá thể",
    "trích lục khai sinh bản sao",
    "cấp lại CCCD bị mất",
    "cho em hỏi làm giấy khai sinh cho bé thì cần mang theo giấy tờ gì ạ",
    "thủ tục nhận trợ cấp xã hội hàng tháng cho người cao tuổi",
    "ko bit lam ho khau o dau",
    "tách thửa đất",
    "đổi giấy phép lái xe",
    "xác nhận cư trú",
    "đăng ký giám hộ",
    "thay đổi cải chính hộ tịch",
    "nhận cha mẹ con",
    "thời tiết hôm nay thế nào",
]
# Polite openings and endings make every request's text unique, so no query-embedding cache hides the
# encoder's cost (25 questions x 8 openings x 5 endings = 1,000 distinct texts).
OPENINGS = ["", "cho hỏi ", "xin hỏi ", "em muốn hỏi ", "mình cần ", "anh chị ơi ", "tư vấn giúp ", "hỏi về "]
ENDINGS = ["", " ạ", " vậy", " nhé", " với"]
FILTERS = [{"level": "cap_xa"}, {"online": "mot_phan"}, {"level": "cap_tinh"}, {"online": "toan_trinh"}]
PORTS = range(5300, 5400)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("bench_api: no free port in 5300-5399 on 127.0.0.1; pass --port")


def open_knowledge_base(args, settings) -> KnowledgeBase:
    model = None if args.no_model else settings.embedding_model_path
    if model is not None and not model.exists():
        print(f"bench_api: embedding model {model} missing: BM25 only", file=sys.stderr)
        model = None
    if args.catalog:
        procedures = load_catalog(Path(args.catalog)).procedures
        return KnowledgeBase.build(procedures, Path(tempfile.mkdtemp(prefix="bench-kb-")), model, progress=False)
    return KnowledgeBase.open(settings.data_dir, model)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", help="build a temporary index from this catalogue (seed YAML or national dir)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--no-model", action="store_true", help="BM25 only (no embedding model)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    # Rate limiting would refuse a benchmark's burst from one address; it is not what is measured here.
    settings = load_settings({**os.environ, "TTHC_SECURITY__RATE_LIMIT_PER_MINUTE": "0"})
    try:
        kb = open_knowledge_base(args, settings)
    except KnowledgeBaseError as exc:
        print(f"bench_api: {exc} (or pass --catalog knowledge_base/catalog)", file=sys.stderr)
        return 2
    provider.use(kb)
    port = args.port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            print(f"bench_api: the server did not start on port {port}", file=sys.stderr)
            return 2
        time.sleep(0.05)

    requests = [request_params(i) for i in range(args.warmup + args.requests)]
    timings: list[float] = []
    errors = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for i, params in enumerate(requests):
            started = time.perf_counter()
            response = client.get("/api/search", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                errors += 1
            if i >= args.warmup:
                timings.append(elapsed)
    server.should_exit = True
    thread.join(10)

    # The same searches in-process (same filters; texts made fresh with a suffix), so the API's own share shows.
    direct: list[float] = []
    for params in requests[args.warmup :]:
        filters = SearchFilters(
            levels=[params["level"]] if "level" in params else [],
            online=[params["online"]] if "online" in params else [],
        )
        started = time.perf_counter()
        kb.search(params["q"] + " ?", top_k=10, filters=filters)
        direct.append((time.perf_counter() - started) * 1000)

    system = "hybrid" if kb.has_dense else "bm25"
    print(
        f"GET /api/search over {len(kb.procedures())} procedures ({system}), {len(timings)} requests "
        f"after {args.warmup} warm-up, sequential, keep-alive, 127.0.0.1; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"HTTP API          p50 {statistics.median(timings):.1f} ms  p95 {percentile(timings, 0.95):.1f} ms  "
        f"p99 {percentile(timings, 0.99):.1f} ms  max {max(timings):.1f} ms  errors {errors}"
    )
    print(f"kb.search alone   p50 {statistics.median(direct):.1f} ms  p95 {percentile(direct, 0.95):.1f} ms")
    return 1 if errors else 0


def request_params(i: int) -> dict:
    question = QUERIES[i % len(QUERIES)]
    opening = OPENINGS[(i // len(QUERIES)) % len(OPENINGS)]
    ending = ENDINGS[(i // (len(QUERIES) * len(OPENINGS))) % len(ENDINGS)]
    params = {"q": opening + question + ending, "top": 10}
    if i % 4 == 3:
        params.update(FILTERS[(i // 4) % len(FILTERS)])
    return params


if __name__ == "__main__":
    sys.exit(main())
