"""scripts/load_test.py against a fake Rasa REST webhook: it measures what the server does, counts
silence as an error, asks diverse questions as new citizens from their own addresses, prints the
machine-speed calibration, talks TLS to a proxy it is told to trust, and refuses non-loopback targets
and the shared evaluation questions."""

from __future__ import annotations

import importlib.util
import json
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.fallback_replies import SILENCE_REPLY
from knowledge_base.evaluation import read_questions
from knowledge_base.importers import load_catalog
from knowledge_base.questions import generate
from tests.support.nginx_proxy import self_signed_certificate
from tests.support.ports import NoFreePort, free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load_test.py"
spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
load_test = importlib.util.module_from_spec(spec)
sys.modules["load_test"] = load_test  # dataclasses look their module up while the script loads
spec.loader.exec_module(load_test)

REPLY_DELAY_S = 0.02
REPO = Path(__file__).resolve().parents[2]
DEV_QUESTIONS = REPO / "knowledge_base" / "devset" / "dev.jsonl"  # 335 questions: more than a short run asks


def port_in_range() -> int:
    try:
        return free_port(range(5500, 5600))
    except NoFreePort as exc:
        pytest.skip(str(exc))


def fake_rasa(
    silent_every: int = 0,
    apologise_every: int = 0,
    certificate: tuple[Path, Path] | None = None,
    bad_gateway_every: int = 0,
):
    """A REST webhook that answers after REPLY_DELAY_S; every `silent_every`-th reply is empty,
    every `apologise_every`-th one is the channel's apology for a turn the bot could not answer and
    every `bad_gateway_every`-th call gets a proxy's 502.
    It records each message with its sender and the client's address; HTTPS with `certificate`."""
    calls = {"n": 0, "senders": set(), "messages": [], "addresses": set()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            self._send(200, {"version": "fake"})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls["n"] += 1
            calls["senders"].add(body["sender"])
            calls["messages"].append((body["sender"], body["message"]))
            calls["addresses"].add(self.client_address[0])
            time.sleep(REPLY_DELAY_S)
            if bad_gateway_every and calls["n"] % bad_gateway_every == 0:
                calls["bad_gateway"] = calls.get("bad_gateway", 0) + 1
                self._send(502, {"error": "bad gateway"})
                return
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
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


def run_script(capsys, *args, pool: tuple[str, ...] = ("--questions", str(DEV_QUESTIONS))) -> tuple[int, dict]:
    """Run the script as an operator would: its own process, so no other test's event loop is around."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args, *pool, "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_measures_a_healthy_server(capsys):
    server, calls = fake_rasa()
    try:
        code, report = run_script(
            capsys, "--url", f"http://127.0.0.1:{server.server_port}", "--users", "5", "--duration", "2", "--think", "0"
        )
    finally:
        server.shutdown()
    assert code == 0
    assert report["errors"] == 0
    assert report["replies"] == calls["n"] > 10
    assert REPLY_DELAY_S * 1000 <= report["p50_ms"] <= report["p95_ms"] <= report["max_ms"]
    assert report["throughput_rps"] == pytest.approx(report["replies"] / report["wall_s"], rel=0.1)
    assert report["calibration_s"] > 0 and report["load_average_1m"] >= 0 and "load_average_1m_after" in report


@pytest.mark.parametrize("resend", [True, False])
def test_a_proxy_error_is_resent_once_as_the_widget_does_and_counted_apart(capsys, resend):
    server, calls = fake_rasa(bad_gateway_every=7)
    try:
        code, report = run_script(
            capsys,
            "--url",
            f"http://127.0.0.1:{server.server_port}",
            "--users",
            "3",
            "--duration",
            "2",
            "--think",
            "0",
            *([] if resend else ["--no-resend"]),
        )
    finally:
        server.shutdown()
    assert calls["bad_gateway"] >= 3
    if resend:  # every 502 was followed by a resend of the same message, which the next call answered
        assert report["proxy_errors_resent"] == report["answered_on_resend"] == calls["bad_gateway"]
        assert report["errors"] == report["http_errors"] == 0 and code == 0
        per_sender: dict[str, list[str]] = {}
        for sender, text in calls["messages"]:
            per_sender.setdefault(sender, []).append(text)
        repeats = sum(texts.count(text) - 1 for texts in per_sender.values() for text in set(texts))
        assert repeats == calls["bad_gateway"]  # the same citizen, the same message, once more
    else:
        assert report["proxy_errors_resent"] == report["answered_on_resend"] == 0
        assert report["errors"] == report["http_errors"] == calls["bad_gateway"] and code == 1


def test_every_conversation_is_a_new_citizen_asking_questions_not_asked_before(capsys):
    server, calls = fake_rasa()
    try:
        code, report = run_script(
            capsys,
            "--url",
            f"http://127.0.0.1:{server.server_port}",
            "--users",
            "5",
            "--duration",
            "1",
            "--think",
            "0",
            "--turns",
            "3",
        )
    finally:
        server.shutdown()
    assert code == 0
    messages = calls["messages"]
    assert 20 < len(messages) < 335  # fewer than the file holds, so none needs to repeat
    assert len({text for _, text in messages}) == len(messages) == report["distinct_questions"]
    per_sender: dict[str, list[str]] = {}
    for sender, text in messages:
        per_sender.setdefault(sender, []).append(text)
    assert len(per_sender) == report["conversations"] >= len(messages) / 3
    assert all(len(texts) <= 3 for texts in per_sender.values())


def test_a_conversation_follows_up_on_its_procedure_and_the_pool_is_used_up_before_repeating():
    groups = [["a1", "a2", "a3", "a4"], ["b1"], ["c1", "c2"]]
    pool = load_test.QuestionPool(groups, "test")
    conversations = [pool.next_conversation(3) for _ in range(6)]
    for questions in conversations:  # one procedure's questions first, topped up by the next procedure's
        assert questions in (
            ["a1", "a2", "a3"],
            ["b1", "c1", "c2"],
            ["b1", "a1", "a2"],
            ["c1", "c2", "a1"],
            ["c1", "c2", "b1"],
        ), questions
    first_round = [q for c in conversations for q in c][:5]
    assert sorted({q[0] for q in first_round}) == ["a", "b", "c"]
    by_gold = load_test.file_pool(DEV_QUESTIONS).conversations
    gold = {q.question: (q.gold or [q.id])[0] for q in read_questions(DEV_QUESTIONS)}
    assert all(len({gold[q] for q in group}) == 1 for group in by_gold)
    assert sum(map(len, by_gold)) == len(gold) and max(map(len, by_gold)) > 1


def test_questions_generated_from_the_catalogue_are_not_the_training_questions(tmp_path):
    procedures = load_catalog(REPO / "knowledge_base" / "catalog").procedures
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "catalog.jsonl").write_text("".join(p.model_dump_json() + "\n" for p in procedures))
    pool = load_test.catalogue_pool(tmp_path)
    asked = [q for c in pool.conversations for q in c]
    assert len(pool.conversations) == len(procedures) and pool.questions == len(asked) >= 3 * len(procedures)
    training = {q.text for q in generate(procedures, per_record=load_test.QUESTIONS_PER_RECORD, seed=13)}
    assert len(set(asked) & training) < len(asked) / 10  # another seed than the trainer's
    first = pool.next_conversation(3)
    assert len(first) == 3 and first[0] in asked


def test_each_simulated_user_comes_from_its_own_loopback_address(capsys):
    server, calls = fake_rasa()
    try:
        code, _ = run_script(
            capsys,
            "--url",
            f"http://127.0.0.1:{server.server_port}",
            "--users",
            "4",
            "--duration",
            "1",
            "--think",
            "0.1",
        )
    finally:
        server.shutdown()
    assert code == 0
    assert calls["addresses"] == {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}


def test_talks_tls_to_a_proxy_only_with_its_certificate(capsys, tmp_path):
    server, calls = fake_rasa(certificate=self_signed_certificate(tmp_path))
    url = f"https://127.0.0.1:{server.server_port}"
    try:
        code, report = run_script(
            capsys,
            "--url",
            url,
            "--cafile",
            str(tmp_path / "cert.pem"),
            "--users",
            "2",
            "--duration",
            "1",
            "--think",
            "0",
        )
        untrusted = load_test.main(["--url", url, "--duration", "1", "--questions", str(DEV_QUESTIONS)])
    finally:
        server.shutdown()
    assert code == 0 and report["replies"] == calls["n"] > 0 and report["errors"] == 0
    assert untrusted == 2 and "nothing answers" in capsys.readouterr().err


def test_the_report_prints_the_calibration(capsys):
    server, _ = fake_rasa()
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                "--url",
                f"http://127.0.0.1:{server.server_port}",
                "--users",
                "1",
                "--duration",
                "1",
                "--questions",
                str(DEV_QUESTIONS),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert "calibration_s 0." in result.stdout or "calibration_s 1" in result.stdout, result.stdout
    assert "distinct questions asked" in result.stdout


@pytest.mark.parametrize(
    "path",
    [
        REPO.parent / "shared" / "data" / "citizen-questions" / "portal-qa.jsonl",
        REPO / ".." / "shared" / "anything.jsonl",
    ],
)
def test_refuses_the_shared_evaluation_questions(path, capsys):
    assert load_test.main(["--questions", str(path), "--duration", "1"]) == 2
    assert "never load-test input" in capsys.readouterr().err


@pytest.mark.parametrize(
    "failure, counter",
    [
        ({"silent_every": 4}, "empty_replies"),  # silence
        ({"apologise_every": 3}, "apology_replies"),  # the channel's apology instead of an answer
    ],
)
def test_replies_that_fail_a_citizen_count_as_errors(capsys, failure, counter):
    server, _ = fake_rasa(**failure)
    try:
        code, report = run_script(
            capsys, "--url", f"http://localhost:{server.server_port}", "--users", "2", "--duration", "1", "--think", "0"
        )
    finally:
        server.shutdown()
    assert code == 1
    assert report[counter] >= 1 and report["errors"] == report[counter]


def test_each_run_talks_as_new_citizens(capsys):
    server, calls = fake_rasa()
    runs = []
    try:
        for _ in range(2):
            run_script(
                capsys,
                "--url",
                f"http://127.0.0.1:{server.server_port}",
                "--users",
                "2",
                "--duration",
                "1",
                "--think",
                "0.2",
            )
            runs.append(set(calls["senders"]) - set().union(*runs))
    finally:
        server.shutdown()
    assert all(len(senders) >= 2 for senders in runs)
    assert not runs[0] & runs[1]


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:5005", "http://example.org", "ftp://127.0.0.1", "http://[2001:db8::1]:5005"]
)
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


def test_a_data_dir_without_a_catalogue_is_one_line_naming_the_fix(tmp_path, capsys):
    assert load_test.main(["--catalogue", str(tmp_path), "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("load_test: error:") and "tthc kb import" in err and "Traceback" not in err
