"""Token bucket: burst, refill, isolation between senders, bounded memory."""
from __future__ import annotations

import pytest

from assistant.ratelimit import TokenBucketLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refused_then_refilled():
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1.0)  # 60/min = one token per second
    clock.now += 1.0
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0


def test_senders_do_not_share_a_bucket():
    limiter = TokenBucketLimiter(per_minute=60, burst=1, clock=FakeClock())
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_refill_never_exceeds_burst():
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=2, clock=clock)
    limiter.acquire("a")
    clock.now += 3600
    assert [limiter.acquire("a") == 0.0 for _ in range(3)] == [True, True, False]


def test_least_recently_used_keys_are_evicted():
    limiter = TokenBucketLimiter(per_minute=60, burst=1, max_keys=2, clock=FakeClock())
    limiter.acquire("a")
    limiter.acquire("b")
    limiter.acquire("c")  # evicts "a", whose bucket starts full again
    assert limiter.acquire("a") == 0.0
    assert len(limiter._buckets) == 2


def test_rejects_nonsense_configuration():
    with pytest.raises(ValueError):
        TokenBucketLimiter(per_minute=0, burst=5)
