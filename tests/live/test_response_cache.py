"""The read API's response cache under concurrent readers: one refill at a time, and readers of an
expired key are answered from the previous fill meanwhile instead of queueing behind the refill."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from shared.live.response_cache import ResponseCache


class ClockedStore:
    """The one thing the cache asks of a document store: its clock."""

    def __init__(self):
        self.at = datetime(2025, 12, 29, 20, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.at


def test_an_expired_key_is_answered_from_the_previous_fill_while_one_request_refills():
    store, cache = ClockedStore(), ResponseCache(seconds=1)
    assert cache.get(store, "live", lambda: ["first"]).plain == b'["first"]'
    store.at += timedelta(seconds=2)
    refilling, release = threading.Event(), threading.Event()
    builds = []

    def slow_build():
        builds.append(1)
        refilling.set()
        assert release.wait(10)
        return ["second"]

    refiller = threading.Thread(target=lambda: cache.get(store, "live", slow_build))
    refiller.start()
    assert refilling.wait(10)
    during = []  # asked from its own thread: if it queued behind the refill, it would never finish before release
    reader = threading.Thread(target=lambda: during.append(cache.get(store, "live", lambda: ["never"])))
    reader.start()
    reader.join(5)
    answered_meanwhile = bool(during)
    release.set()
    refiller.join(10)
    reader.join(10)
    assert answered_meanwhile, "a reader of an expired key waited for the refill"
    assert during[0].plain == b'["first"]' and len(builds) == 1
    assert cache.get(store, "live", lambda: ["never"]).plain == b'["second"]'


def test_requests_for_a_key_never_filled_wait_for_the_one_fill_in_flight():
    store, cache = ClockedStore(), ResponseCache(seconds=1)
    filling, release, builds, answers = threading.Event(), threading.Event(), [], []

    def slow_build():
        builds.append(1)
        filling.set()
        assert release.wait(10)
        return ["only"]

    readers = [threading.Thread(target=lambda: answers.append(cache.get(store, "diary:2025-12-29", slow_build)))
               for _ in range(4)]
    for reader in readers:
        reader.start()
    assert filling.wait(10)
    release.set()
    for reader in readers:
        reader.join(10)
    assert len(builds) == 1 and [a.plain for a in answers] == [b'["only"]'] * 4


def test_a_failed_refill_leaves_the_key_refillable():
    store, cache = ClockedStore(), ResponseCache(seconds=1)
    cache.get(store, "live", lambda: ["first"])
    store.at += timedelta(seconds=2)

    def broken():
        raise RuntimeError("store unavailable")

    try:
        cache.get(store, "live", broken)
    except RuntimeError:
        pass
    assert cache.get(store, "live", lambda: ["again"]).plain == b'["again"]'
