"""Run a Sanic app on 127.0.0.1 inside the test's own event loop, the way `rasa run` serves channels.

For Rasa-env tests of input channels (Sanic comes with Rasa); the app itself is built by the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sanic import Sanic

from tests.support.ports import free_port


@asynccontextmanager
async def running(app: Sanic, ports: range) -> AsyncIterator[int]:
    """Start `app` on a free port of `ports`, yield that port, and stop the server afterwards."""
    server = await app.create_server(
        host="127.0.0.1", port=free_port(ports), return_asyncio_server=True, access_log=False
    )
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield server.server.sockets[0].getsockname()[1]
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
