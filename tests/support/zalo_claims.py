"""The Zalo message-claim lease scenarios, run on SQLite (tests/connectors) and PostgreSQL (tests/deployment)."""

from __future__ import annotations

from pathlib import Path

from connectors.zalo.store import MESSAGE_CLAIM_SECONDS, MESSAGE_RECOVERY_SECONDS, ZaloStore


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


def check_stale_claim_recovery(where: Path | str) -> None:
    """A message a node accepted (Zalo will not send it again) and never answered: after the lease one
    node's recovery takes its event over, exactly once; answered, its text is cleared; claims without an
    event or older than MESSAGE_RECOVERY_SECONDS are not recovered."""
    clock = FakeClock()
    node_a, node_b = ZaloStore(where, clock=clock), ZaloStore(where, clock=clock)
    event = {"name": "user_send_text", "kind": "text", "timestamp_ms": 1, "user_id": "u1", "msg_id": "rec-1"}
    event["text"] = "làm căn cước ở đâu"
    assert node_a.claim_message("rec-1", event) is True
    assert node_a.claim_message("rec-old", dict(event, msg_id="rec-old")) is True
    assert node_a.claim_message("rec-none") is True  # no event kept: nothing to answer it from
    # Node A dies here. Within the lease nobody takes anything over.
    clock.now += MESSAGE_CLAIM_SECONDS - 1
    assert node_b.take_over_stale_claims() == []
    clock.now += 2
    taken = node_b.take_over_stale_claims()
    assert sorted(e["msg_id"] for e in taken) == ["rec-1", "rec-old"]
    assert taken[0] == event or taken[1] == event
    assert node_a.take_over_stale_claims() == [], "a recovered claim was taken again at once"
    assert node_a.claim_message("rec-1", event) is False, "a redelivery raced the recovery and won too"
    node_b.message_done("rec-1")
    kept = node_b._db.execute("SELECT event FROM seen_messages WHERE msg_id = ?", ("rec-1",)).fetchone()[0]
    assert kept == "", "the citizen's text stayed in the store after the answer"
    clock.now += MESSAGE_CLAIM_SECONDS + 1
    assert [e["msg_id"] for e in node_a.take_over_stale_claims()] == ["rec-old"]  # node B died on it too
    clock.now += MESSAGE_RECOVERY_SECONDS
    assert node_a.take_over_stale_claims() == [], "a message an hour old was answered"
    node_a.close()
    node_b.close()
