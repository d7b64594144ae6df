"""Deliver the Zalo outbox once with the connector's own client, as the Zalo channel's periodic flusher does
(`ZaloInput.flush_outbox` -> `ZaloApiClient.flush_outbox`). Runs in the Rasa environment (aiohttp):

    .venv-rasa/bin/python -m tests.support.zalo_flush --outbox PATH --api-base URL [--access-token T]

Prints the result as JSON: {"delivered": n, "remaining": n, "dead": n}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from connectors.zalo.api import ZaloApiClient
from connectors.zalo.config import ZaloConfig
from connectors.zalo.store import ZaloStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--access-token", default="token-1")
    args = parser.parse_args()
    config = ZaloConfig(
        access_token=args.access_token,
        api_base=args.api_base.rstrip("/"),
        outbox_path=Path(args.outbox),
        retry_delays=(),
        request_timeout_seconds=5,
    )
    store = ZaloStore(Path(args.outbox))
    result = asyncio.run(ZaloApiClient(config, store).flush_outbox())
    store.close()
    print(json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main()
