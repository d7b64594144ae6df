"""The Zalo message-claim lease scenario, run on SQLite (tests/connectors) and PostgreSQL (tests/deployment)."""

from __future__ import annotations

from pathlib import Path

from connectors.zalo.store import MESSAGE_CLAIM_SECONDS, ZaloStore


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def check_claim_lease(where: Path | str) -> None:
    """Two nodes on one store: a claim never marked done is refused within the lease, taken over (by
    one node only) after it; a done msg_id is refused for good."""
    clock = FakeClock()
    node_a, node_b = ZaloStore(where, clock=clock), ZaloStore(where, clock=clock)

    assert node_a.claim_message("lease-1") is True
    # Node A dies here: no reply queued, no message_done.
    clock.now += MESSAGE_CLAIM_SECONDS - 1
    assert node_b.claim_message("lease-1") is False, "a duplicate within the lease was answered twice"
    clock.now += 2
    assert node_b.claim_message("lease-1") is True, "the redelivery of a dead node's claim was refused"
    assert node_a.claim_message("lease-1") is False, "a taken-over claim was taken again at once"

    node_b.message_done("lease-1")
    clock.now += 10 * MESSAGE_CLAIM_SECONDS
    assert node_a.claim_message("lease-1") is False, "an answered msg_id was answered again"
    assert node_b.claim_message("lease-1") is False

    assert node_a.claim_message("lease-2") is True
    node_a.message_done("lease-2")
    clock.now += 10 * MESSAGE_CLAIM_SECONDS
    assert node_b.claim_message("lease-2") is False
    node_a.close()
    node_b.close()
