"""scripts/memory_profile.py: CPU time and the memory of a group of processes with shared pages counted once."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "memory_profile.py"
spec = importlib.util.spec_from_file_location("memory_profile", SCRIPT)
memory_profile = importlib.util.module_from_spec(spec)
spec.loader.exec_module(memory_profile)

# A child that touches 64 MB of its own, then waits: its pages are private, its interpreter's are shared
# (file-backed) with every other python process.
CHILD = (
    "import sys, time; block = bytearray(64 * 1024 * 1024); block[::4096] = b'x' * len(block[::4096]); "
    "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(60)"
)


@pytest.fixture
def children():
    started = [subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for child in started:
        assert child.stdout.readline().strip() == "ready"
    yield [child.pid for child in started]
    for child in started:
        child.kill()
        child.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="/proc/<pid>/pagemap shows physical frames to root only")
def test_shared_pages_are_counted_once(children):
    one = memory_profile.unique_resident_mb(children[:1])
    both = memory_profile.unique_resident_mb(children)
    rss = [memory_profile.memory(pid)["rss_mb"] for pid in children]
    assert one == pytest.approx(rss[0], rel=0.1)  # one process: its resident pages
    assert both < sum(rss) - 1  # the interpreter's shared pages are not counted twice
    assert both > one + 60  # the second child's own 64 MB are counted


def test_cpu_seconds_grow_with_work_and_are_zero_for_a_gone_process():
    before = memory_profile.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert memory_profile.cpu_seconds(os.getpid()) - before >= 0.2
    assert memory_profile.cpu_seconds(2**22 + 7) == 0.0
