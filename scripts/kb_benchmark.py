"""Knowledge-base search benchmark: `tthc kb eval` for bm25, dense and hybrid on the same index.

Runs the CLI once per retriever (and once more per retriever on the dev set's holdout split, the
questions never used to tune weights or the abstention threshold), records each run's peak RSS, and
prints a Markdown table plus the machine's load average (latency depends on it on a shared box).

Usage (after `tthc kb import ../shared/data/dvc-procedures`):
    .venv/bin/python scripts/kb_benchmark.py knowledge_base/devset/dev.jsonl \\
        [--check knowledge_base/devset/citizen.jsonl]
--check adds rows for an independent question set (all of it; never used for tuning).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TTHC = ROOT / ".venv" / "bin" / "tthc"
COLUMNS = ["n", "answerable", "hit@1", "recall@5", "mrr@10", "abstain_recall", "false_abstain_rate", "p50_ms", "p95_ms"]


def run_eval(devset: Path, system: str) -> tuple[dict, float]:
    """One `tthc kb eval` run: its metrics and its peak RSS in MB."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [str(TTHC), "kb", "eval", str(devset), "--json", "--system", system],
            stdout=out,
            stderr=err,
            cwd=ROOT,
            text=True,
        )
        _, status, usage = os.wait4(process.pid, 0)  # reap it ourselves to get this child's own peak RSS
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode:
        sys.exit(
            f"tthc kb eval --system {system} failed: "
            f"{stderr.strip().splitlines()[-1] if stderr.strip() else process.returncode}"
        )
    return json.loads(stdout.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def holdout_file(devset: Path) -> Path:
    lines = [
        line
        for line in devset.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line).get("split") == "holdout"
    ]
    handle = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8")
    handle.write("\n".join(lines) + "\n")
    handle.close()
    return Path(handle.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("devset", type=Path)
    parser.add_argument(
        "--check", type=Path, action="append", default=[], help="another question set to report in full (repeatable)"
    )
    args = parser.parse_args()
    for path in (args.devset, *args.check):
        if not path.is_file():
            sys.exit(f"error: {path} not found: pass question files in JSONL")
    holdout = holdout_file(args.devset)
    print("| set | system | " + " | ".join(COLUMNS) + " | peak RSS MB |")
    print("|" + "---|" * (len(COLUMNS) + 3))
    try:
        for label, path in (("all", args.devset), ("holdout", holdout), *((p.stem, p) for p in args.check)):
            for system in ("bm25", "dense", "hybrid"):
                metrics, rss = run_eval(path, system)
                cells = [str(metrics[c]) for c in COLUMNS]
                print(f"| {label} | {system} | " + " | ".join(cells) + f" | {rss:.0f} |", flush=True)
    finally:
        holdout.unlink(missing_ok=True)
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
