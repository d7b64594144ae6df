"""scripts/load_test.py against a fake Rasa REST webhook: it measures what the server does,
counts silence as an error, and refuses non-loopback targets."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.fallback_replies import SILENCE_REPLY
from tests.support.ports import NoFreePort, free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load_test.py"
spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
load_test = importlib.util.module_from_spec(spec)
sys.modules["load_test"] = load_test  # dataclasses look their module up while the script loads
spec.loader.exec_module(load_test)

REPLY_DELAY_S = 0.02


def port_in_range() -> int:
    try:
        return free_port(range(5500, 5600))
    except NoFreePort as exc:
        pytest.skip(str(exc))


def fake_rasa(silent_every: int = 0, apologise_every: int = 0):
    """A REST webhook that answers after REPLY_DELAY_S; every `silent_every`-th reply is empty and
    every `apologise_every`-th one is the channel's apology for a turn the bot could not answer."""
    calls = {"n": 0, "senders": set()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            self._send(200, {"version": "fake"})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls["n"] += 1
            calls["senders"].add(body["sender"])
            time.sleep(REPLY_DELAY_S)
            silent = silent_every and calls["n"] % silent_every == 0
            apology = apologise_every and calls["n"] % apologise_every == 0
            text = SILENCE_REPLY if apology else "Dạ, hồ sơ gồm …"
            self._send(200, [] if silent else [{"recipient_id": body["sender"], "text": text}])

        def _send(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port_in_range()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


def run_script(capsys, *args) -> tuple[int, dict]:
    """Run the script as an operator would: its own process, so no other test's event loop is around."""
    result = subprocess.run([sys.executable, str(SCRIPT), *args, "--json"], capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout)


def test_measures_a_healthy_server(capsys):
    server, calls = fake_rasa()
    try:
        code, report = run_script(capsys, "--url", f"http://127.0.0.1:{server.server_port}",
                                  "--users", "5", "--duration", "2", "--think", "0")
    finally:
        server.shutdown()
    assert code == 0
    assert report["errors"] == 0
    assert report["replies"] == calls["n"] > 10
    assert len(calls["senders"]) == 5  # one conversation per simulated user
    assert REPLY_DELAY_S * 1000 <= report["p50_ms"] <= report["p95_ms"] <= report["max_ms"]
    assert report["throughput_rps"] == pytest.approx(report["replies"] / report["wall_s"], rel=0.1)


@pytest.mark.parametrize("failure, counter", [
    ({"silent_every": 4}, "empty_replies"),  # silence
    ({"apologise_every": 3}, "apology_replies"),  # the channel's apology instead of an answer
])
def test_replies_that_fail_a_citizen_count_as_errors(capsys, failure, counter):
    server, _ = fake_rasa(**failure)
    try:
        code, report = run_script(capsys, "--url", f"http://localhost:{server.server_port}",
                                  "--users", "2", "--duration", "1", "--think", "0")
    finally:
        server.shutdown()
    assert code == 1
    assert report[counter] >= 1 and report["errors"] == report[counter]


def test_each_run_talks_as_new_citizens(capsys):
    server, calls = fake_rasa()
    try:
        for _ in range(2):
            run_script(capsys, "--url", f"http://127.0.0.1:{server.server_port}",
                       "--users", "2", "--duration", "1", "--think", "0.2")
    finally:
        server.shutdown()
    assert len(calls["senders"]) == 4


@pytest.mark.parametrize("url", ["http://10.0.0.5:5005", "http://example.org", "ftp://127.0.0.1", "http://[2001:db8::1]:5005"])
def test_refuses_non_loopback_targets(url, capsys):
    assert load_test.main(["--url", url, "--duration", "1"]) == 2
    assert "error" in capsys.readouterr().err


def test_bounds_users_and_duration(capsys):
    assert load_test.main(["--users", "100000"]) == 2
    assert load_test.main(["--duration", "86400"]) == 2


def test_nearest_rank_percentile():
    values = [float(v) for v in range(1, 101)]
    assert load_test.percentile(values, 0.5) == 50.0
    assert load_test.percentile(values, 0.95) == 95.0
