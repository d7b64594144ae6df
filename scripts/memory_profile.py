"""Memory of a running stack, per process: RSS, PSS and private (USS) from /proc/<pid>/smaps_rollup.

RSS counts a page in every process that maps it, so summing RSS over Rasa's parent and the workers it
forked counts the libraries they share (TensorFlow, Python modules) two or three times; PSS divides each
shared page among the processes that share it. But PSS shares a page out with *every* process that maps
it, also other stacks on the same machine (other checkouts' servers load the same libraries), so on a
shared machine the PSS sum understates what the stack needs on a VM of its own. The "counted once" total
(unique_resident_mb: the physical frames of the stack's resident pages, from /proc/<pid>/pagemap, as
root) is that figure.

    .venv/bin/python scripts/memory_profile.py --app-port 8000 --rasa-port 5005          # the stack of tthc up
    .venv/bin/python scripts/memory_profile.py --app-port 8000 --rasa-port 5005 --json
    .venv/bin/python scripts/memory_profile.py --breakdown      # where the app server's memory goes, step by step
    .venv/bin/python scripts/memory_profile.py --breakdown --questions 1500   # ... and under diverse questions

Processes are found by their command line (`uvicorn ... --port APP_PORT`, `assistant.rasa_process.entry run ...
--port RASA_PORT`, whose Sanic workers are forks with the same command line), so other stacks on the
machine are left out. Prints the machine-speed calibration (knowledge_base.evaluation) beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MB = 1024 * 1024


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of one process in MB (smaps_rollup: Linux 4.14+)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[-1] == "kB":
            values[name.strip()] = int(parts[0]) * 1024
    private = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return {
        "rss_mb": round(values.get("Rss", 0) / MB, 1),
        "pss_mb": round(values.get("Pss", 0) / MB, 1),
        "uss_mb": round(private / MB, 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def unique_resident_mb(pids: list[int]) -> float:
    """Memory the processes hold together: their resident pages counted once (physical frames from
    /proc/<pid>/pagemap; needs root). PSS would share a page out with *any* process mapping it, so on a
    machine running other copies of the same libraries it understates what the stack alone needs."""
    import numpy as np

    page = os.sysconf("SC_PAGE_SIZE")
    frames = []
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
            with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
                for line in maps:
                    start, end = (int(x, 16) for x in line.split()[0].split("-"))
                    pagemap.seek(start // page * 8)
                    entries = np.frombuffer(pagemap.read((end - start) // page * 8), dtype=np.uint64)
                    present = entries[(entries >> np.uint64(63)) & np.uint64(1) == 1]
                    frames.append(present & np.uint64((1 << 55) - 1))
        except OSError:
            continue
    if not frames:
        return 0.0
    unique = np.unique(np.concatenate(frames))
    if unique.size and unique.max() == 0:
        raise PermissionError("/proc/<pid>/pagemap hides physical frames without root; run as root")
    return round(unique.size * page / MB, 1)


def stack_processes(app_port: int, rasa_port: int) -> list[dict]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        words = [part.decode(errors="replace") for part in command if part]
        ports = {words[i + 1] for i, word in enumerate(words[:-1]) if word == "--port"}
        if "uvicorn" in words and str(app_port) in ports:
            role = "app server"
        elif "assistant.rasa_process.entry" in words and "run" in words and str(rasa_port) in ports:
            role = "rasa"
        else:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        found.append({"pid": int(entry.name), "ppid": ppid, "role": role})
    rasa_pids = {p["pid"] for p in found if p["role"] == "rasa"}
    for process in found:
        if process["role"] == "rasa":
            process["role"] = "rasa worker" if process["ppid"] in rasa_pids else "rasa parent"
    for process in found:
        try:
            process.update(memory(process["pid"]))
        except OSError:
            process.update({"rss_mb": 0.0, "pss_mb": 0.0, "uss_mb": 0.0})
    return sorted(found, key=lambda p: (p["role"], p["pid"]))


def current_rss_mb(field: str = "VmRSS") -> float:
    """This process's memory in MB from /proc/self/status (`field`: VmRSS, or RssAnon for what is its own)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def breakdown(questions: int = 0, threads: int = 40) -> list[tuple[str, float]]:
    """RSS of this process after each step the app server takes at start-up and on its first search
    (then, with `questions`, under diverse questions: diverse_searches)."""
    steps = [("python", current_rss_mb())]
    import fastapi  # noqa: F401
    import rasa_sdk  # noqa: F401

    steps.append(("fastapi, rasa-sdk", current_rss_mb()))
    import torch  # noqa: F401

    steps.append(("torch", current_rss_mb()))
    import sentence_transformers  # noqa: F401

    steps.append(("sentence-transformers, transformers", current_rss_mb()))
    from assistant.app.server import deps

    kb = deps.get_kb()  # what the app server opens on its first request
    steps.append(("catalogue index opened (records, BM25, faiss)", current_rss_mb()))
    kb.search("làm căn cước cần giấy tờ gì", top_k=5)
    steps.append(("first search (e5 model loaded, learned models)", current_rss_mb()))
    for _ in range(20):
        kb.search("đăng ký khai sinh cho con cần gì", top_k=5)
    steps.append(("after 20 more searches", current_rss_mb()))
    if questions:
        steps += diverse_searches(kb, questions, threads)
    return steps


def diverse_searches(kb, count: int, threads: int) -> list[tuple[str, float]]:
    """RSS after `count` different generated questions go through the chat's search (procedure_context.resolve)
    in `threads` threads at once, as the app server's worker threads run them (anyio's default limit is 40),
    then after glibc's malloc_trim(0) (what the allocator holds free but has not given back)."""
    import ctypes
    import random
    from concurrent.futures import ThreadPoolExecutor

    from assistant.app import procedure_context
    from assistant.app.knowledge_provider import provider
    from knowledge_base.questions import generate
    from knowledge_base.store import indexed_procedures

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from load_test import LOAD_SEED, QUESTIONS_PER_RECORD

    generated = generate(indexed_procedures(provider.settings().data_dir), QUESTIONS_PER_RECORD, LOAD_SEED)
    texts = [q.text for q in random.Random(LOAD_SEED).sample(generated, min(count, len(generated)))]
    steps = [(f"{len(texts)} questions generated (seed {LOAD_SEED}; not the app server's)", current_rss_mb())]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda text: procedure_context.resolve(kb, text), texts))
        steps.append((f"after {len(texts)} different questions in {threads} threads", current_rss_mb()))
    started = time.perf_counter()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    steps.append((f"after malloc_trim(0) ({(time.perf_counter() - started) * 1000:.0f} ms)", current_rss_mb()))
    return steps


def main() -> int:
    from knowledge_base.evaluation import machine_calibration_seconds

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-port", type=int, default=8000)
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="load what the app server loads, in this process, printing RSS after each step",
    )
    parser.add_argument(
        "--questions",
        type=int,
        default=0,
        help="with --breakdown: then search this many different questions generated from the catalogue",
    )
    parser.add_argument("--threads", type=int, default=40, help="with --questions: searches at once (default 40)")
    args = parser.parse_args()
    calibration = machine_calibration_seconds()
    if args.breakdown:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        previous = 0.0
        for step, rss in breakdown(args.questions, args.threads):
            print(f"{rss:8.1f} MB  (+{rss - previous:7.1f})  {step}")
            previous = rss
        print(f"calibration_s {calibration:.3f}")
        return 0
    processes = stack_processes(args.app_port, args.rasa_port)
    if not processes:
        print(
            f"memory_profile: error: no app server on port {args.app_port} and no Rasa server on port "
            f"{args.rasa_port}; start them (tthc up) or pass --app-port/--rasa-port",
            file=sys.stderr,
        )
        return 2
    totals = {key: round(sum(p[key] for p in processes), 1) for key in ("rss_mb", "pss_mb", "uss_mb")}
    try:
        totals["unique_mb"] = unique_resident_mb([p["pid"] for p in processes])
    except PermissionError as exc:
        print(f"memory_profile: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps({"processes": processes, "total": totals, "calibration_s": round(calibration, 3)}))
        return 0
    print(f"{'process':<12} {'pid':>7} {'RSS MB':>8} {'PSS MB':>8} {'USS MB':>8}")
    for p in processes:
        print(f"{p['role']:<12} {p['pid']:>7} {p['rss_mb']:>8.1f} {p['pss_mb']:>8.1f} {p['uss_mb']:>8.1f}")
    print(f"{'total':<12} {'':>7} {totals['rss_mb']:>8.1f} {totals['pss_mb']:>8.1f} {totals['uss_mb']:>8.1f}")
    if "unique_mb" in totals:
        print(f"resident pages of these processes counted once: {totals['unique_mb']:.1f} MB")
    print(f"calibration_s {calibration:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
