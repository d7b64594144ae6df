"""Zalo msg_id claims with a lease on SQLite (app env; the store is stdlib-only). PostgreSQL:
tests/deployment/test_postgres_storage.py."""

from __future__ import annotations

import sqlite3

from connectors.zalo.store import MESSAGE_CLAIM_SECONDS, ZaloStore
from tests.support.zalo_claims import FakeClock, check_claim_lease, check_stale_claim_recovery


def test_a_claim_never_done_is_refused_within_the_lease_and_taken_over_after_it(tmp_path):
    check_claim_lease(tmp_path / "zalo_outbox.sqlite")


def test_a_message_accepted_by_a_node_that_died_is_recovered_once_by_another(tmp_path):
    check_stale_claim_recovery(tmp_path / "zalo_outbox.sqlite")


def test_msg_ids_seen_before_claim_leases_count_as_done(tmp_path):
    path = tmp_path / "zalo_outbox.sqlite"
    with sqlite3.connect(path) as old:  # the table as it was before claims had a lease
        old.execute("CREATE TABLE seen_messages (msg_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)")
        old.execute("INSERT INTO seen_messages VALUES ('old-1', 1000.0)")
    old.close()
    clock = FakeClock(1000.0 + 10 * MESSAGE_CLAIM_SECONDS)
    store = ZaloStore(path, clock=clock)
    assert store.claim_message("old-1") is False
    assert store.claim_message("new-1") is True
