"""Token bucket: burst, refill, isolation between senders, bounded memory."""

from __future__ import annotations

import pytest

from assistant.core.ratelimit import TokenBucketLimiter


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


# --- shared between processes (Rasa's workers) ---------------------------------------------------


def _take_tokens(path: str, start, results, count: int) -> None:
    from assistant.core.ratelimit import SharedTokenBucketLimiter

    limiter = SharedTokenBucketLimiter(path, per_minute=0.001, burst=10, namespace="rest-sender")
    start.wait()
    results.put(sum(1 for _ in range(count) if limiter.acquire("citizen-1") == 0.0))


def test_shared_buckets_hold_across_processes(tmp_path):
    """Issue 12: two worker processes together allow one burst per sender, not one each."""
    import multiprocessing

    context = multiprocessing.get_context("fork")  # how Sanic starts Rasa's workers
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_take_tokens, args=(str(tmp_path / "limits.sqlite"), start, results, 25))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    start.set()
    allowed = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert sum(allowed) == 10, allowed


def test_a_limiter_made_before_the_fork_opens_its_own_connection_in_the_child(tmp_path):
    """Rasa builds the channels (and their limiters) before Sanic forks the workers."""
    import multiprocessing

    from assistant.core.ratelimit import SharedTokenBucketLimiter

    limiter = SharedTokenBucketLimiter(tmp_path / "limits.sqlite", per_minute=0.001, burst=3, namespace="zalo-sender")
    assert limiter.acquire("u") == 0.0
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def child() -> None:
        results.put(([limiter.acquire("u") == 0.0 for _ in range(3)], limiter._pid == __import__("os").getpid()))

    process = context.Process(target=child)
    process.start()
    taken, own_connection = results.get(timeout=30)
    process.join(10)
    assert taken == [True, True, False] and own_connection
    assert limiter.acquire("u") > 0  # the parent sees what the child took


def test_shared_buckets_refill_separate_namespaces_and_prune(tmp_path):
    from assistant.core.ratelimit import SharedTokenBucketLimiter

    clock = FakeClock()
    path = tmp_path / "limits.sqlite"
    sender = SharedTokenBucketLimiter(path, per_minute=60, burst=2, namespace="a", clock=clock)
    other = SharedTokenBucketLimiter(path, per_minute=60, burst=2, namespace="b", clock=clock)
    assert [sender.acquire("x") for _ in range(2)] == [0.0, 0.0]
    assert sender.acquire("x") == pytest.approx(1.0)
    assert other.acquire("x") == 0.0  # another limiter's bucket for the same key
    clock.now += 1.0
    assert sender.acquire("x") == 0.0
    clock.now += 100
    sender._prune(sender._connection(), clock.now)
    assert sender._connection().execute("SELECT COUNT(*) FROM buckets WHERE key LIKE 'a:%'").fetchone()[0] == 0
    assert sender._connection().execute("SELECT COUNT(*) FROM buckets WHERE key LIKE 'b:%'").fetchone()[0] == 1


def test_sender_limiter_is_shared_only_with_a_database(tmp_path, monkeypatch):
    from assistant.core.ratelimit import RATE_LIMIT_DB_ENV, SharedTokenBucketLimiter, TokenBucketLimiter, sender_limiter

    monkeypatch.delenv(RATE_LIMIT_DB_ENV, raising=False)
    assert isinstance(sender_limiter(60, 5, "rest-sender"), TokenBucketLimiter)
    monkeypatch.setenv(RATE_LIMIT_DB_ENV, str(tmp_path / "limits.sqlite"))
    assert isinstance(sender_limiter(60, 5, "rest-sender"), SharedTokenBucketLimiter)
