"""Hostile review (session 21): `LocalMetricsStore.points` copies this process's buffer under the
lock, RELEASES it, then reads the stored points. When the 1 s flush timer writes the buffer in
between (a console process records its own page metrics, so its buffer is rarely empty while a
chart reads), the same point is returned twice: once as buffered, once as stored -- a dead-letter
or retry chart sums it twice. The test makes the timer's flush land in that window deterministically.
Observed: 2 points for the one recorded."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from shared.metrics.recorder import LocalMetricsStore

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_a_flush_during_a_read_never_returns_a_point_twice(tmp_path):
    store = LocalMetricsStore(tmp_path / "metrics.sqlite", max_buffered=10**6, flush_every_s=3600)
    store.record("dead_letter", 1.0, at=T0, function="f", source_topic="t", error_kind="not_json")
    connect = store._connect

    def the_timer_flushes_first():
        store._connect = connect
        # the metrics-flush thread, between the buffer's copy and the SELECT: it must wait for the read
        timer = threading.Thread(target=store.flush)
        timer.start()
        timer.join(timeout=0.5)
        return connect()

    store._connect = the_timer_flushes_first
    read = store.points("dead_letter", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    store.close()
    # observed: 2
    assert len(read) == 1, read
