"""Free 127.0.0.1 ports for servers started by tests.

Stdlib only: both test environments (app and Rasa) import it. It raises rather than skips, so each
caller decides whether a missing port skips its test or fails it.
"""

from __future__ import annotations

import socket


class NoFreePort(RuntimeError):
    """Every port of the requested range is taken on 127.0.0.1."""


def free_port(ports: range | None = None) -> int:
    """A port nothing listens on at 127.0.0.1.

    Without `ports` the OS picks one; with a range, the first free port in it (each test area has its
    own range so that parallel runs on the shared machine don't collide). Raises NoFreePort.
    """
    for port in [0] if ports is None else ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    where = "" if ports is None else f" in {ports.start}-{ports.stop - 1}"
    raise NoFreePort(f"no free port on 127.0.0.1{where}")
