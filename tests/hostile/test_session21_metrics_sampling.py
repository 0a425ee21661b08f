"""Hostile review (session 21): `LocalMetricsStore.points(at_most=...)` promises "an even sample of at
most that many points" of ONE metric. It samples by `rowid % stride`, with rowid shared by every
metric and the stride computed from the name's whole window (before the labels' filter), and it
never samples the buffered points. Observed:

- two metrics recorded in turn (what a worker does: e.g. retry then dead_letter per message) land on
  alternating rowids: one metric's chart reads 0 points of its 200, the other all 200's even half
  (40 > at_most=20);
- a label filter selecting a rare series (one provider's breaker among many) is thinned by the
  stride of all series: 10 matching points read as 2 with at_most=50 (no sampling was needed);
- this process's buffered points are returned unsampled: 200 points with at_most=20.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.metrics.recorder import LocalMetricsStore

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
SINCE, UNTIL = T0 - timedelta(days=1), T0 + timedelta(days=1)


def _store(tmp_path):
    return LocalMetricsStore(tmp_path / "metrics.sqlite", max_buffered=10**6, flush_every_s=3600)


def test_two_metrics_recorded_in_turn_are_both_sampled(tmp_path):
    store = _store(tmp_path)
    for i in range(200):
        store.record("retry", 1.0, at=T0 + timedelta(seconds=i))
        store.record("dead_letter", 1.0, at=T0 + timedelta(seconds=i))
    store.flush()
    sampled = {name: len(store.points(name, SINCE, UNTIL, at_most=20)) for name in ("retry", "dead_letter")}
    store.close()
    # observed: {'retry': 0 or 40, 'dead_letter': 40 or 0} -- one chart empty, the other over budget
    assert all(1 <= count <= 20 for count in sampled.values()), sampled


def test_a_label_filter_is_not_thinned_by_the_other_series(tmp_path):
    store = _store(tmp_path)
    for i in range(1000):
        store.record("breaker_state", 0.0, at=T0 + timedelta(seconds=i),
                     provider="rare" if i % 100 == 7 else "common")
    store.flush()
    everything = store.points("breaker_state", SINCE, UNTIL, where={"provider": "rare"})
    charted = store.points("breaker_state", SINCE, UNTIL, where={"provider": "rare"}, at_most=50)
    store.close()
    assert len(everything) == 10
    # observed: 2 -- fewer than at_most although only 10 points match
    assert len(charted) == 10


def test_buffered_points_respect_at_most(tmp_path):
    store = _store(tmp_path)
    for i in range(200):
        store.record("queue_backlog", float(i), at=T0 + timedelta(seconds=i))
    charted = store.points("queue_backlog", SINCE, UNTIL, at_most=20)
    store.close()
    # observed: 200
    assert len(charted) <= 20
