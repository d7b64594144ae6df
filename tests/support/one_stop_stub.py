"""A local stand-in for the province's one-stop dossier tracking system, for tests.

Serves `GET /dossiers/{code}` on 127.0.0.1 (stdlib only, in a background thread):
200 with the dossier's JSON when the code is known, 404 otherwise; `fail_with` makes every
request answer that HTTP status instead (e.g. 500), to test the "unreachable" message.
Use as a context manager: `with OneStopStub({"ABC-123456": {...}}) as stub: stub.tracking_url`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from tests.support.ports import free_port

PATH_PREFIX = "/dossiers/"
PORT_RANGE = range(5200, 5300)  # the range given to the answering tests


class OneStopStub:
    def __init__(self, dossiers: dict[str, dict], fail_with: int | None = None):
        self.dossiers = dossiers
        self.fail_with = fail_with
        self.requests: list[str] = []  # paths requested, in order
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def tracking_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{PATH_PREFIX.rstrip('/')}"

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server naming)
                stub.requests.append(self.path)
                if stub.fail_with:
                    return self._send(stub.fail_with, {"error": "stub failure"})
                code = unquote(self.path[len(PATH_PREFIX) :]) if self.path.startswith(PATH_PREFIX) else None
                if code in stub.dossiers:
                    return self._send(200, {"code": code, **stub.dossiers[code]})
                return self._send(404, {"error": "not found"})

            def _send(self, status: int, payload: dict):
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        return Handler

    def __enter__(self) -> OneStopStub:
        self._server = ThreadingHTTPServer(("127.0.0.1", free_port(PORT_RANGE)), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
