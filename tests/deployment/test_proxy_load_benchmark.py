"""scripts/proxy_load_benchmark.py refuses bad input with one line naming the fix, before starting anything.

The benchmark itself (servers, nginx, PostgreSQL, Redis, minutes of load) is run by hand; its figures
and commands are in docs/benchmarks.md ("Issue 13, load through the proxy")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "proxy_load_benchmark.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def catalogue_dir(tmp_path: Path, with_model: bool) -> Path:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "catalog.jsonl").write_text("")
    if with_model:
        model = tmp_path / "bot-benchmark" / "run-model"
        model.mkdir(parents=True)
        (model / "tthc.tar.gz").write_bytes(b"")
    return tmp_path


@pytest.mark.parametrize(
    "case, args, fix",
    [
        ("no directory", ["/nonexistent-data-dir"], "pass the DATA_DIR of an imported catalogue"),
        ("no model", ["{data}"], "scripts/bot_benchmark.sh"),
        ("kill-one on one node", ["{data+model}", "--kill-one"], "--kill-one needs --profile scale-out"),
        ("too many workers", ["{data+model}", "--rasa-workers", "9"], "--rasa-workers must be between 1 and 8"),
        ("output in the repo", ["{data+model}", "--out", str(REPO / "bench-out")], "inside the repository"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(tmp_path, case, args, fix):
    data = catalogue_dir(tmp_path, with_model="{data+model}" in args)
    args = [str(data) if arg in ("{data}", "{data+model}") else arg for arg in args]
    result = run(*args)
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert fix in result.stderr and "Traceback" not in result.stderr, (case, result.stderr)
    assert not (REPO / "bench-out").exists()


def test_an_empty_catalogue_is_refused_before_anything_starts(tmp_path):
    result = run(str(catalogue_dir(tmp_path, with_model=True)))
    assert result.returncode == 2 and "gives no question to ask" in result.stderr, result.stderr
