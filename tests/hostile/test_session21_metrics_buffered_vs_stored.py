"""Hostile review (session 21): `points(where=...)` filters this process's buffered points in Python
(`labels.get(label) == wanted`) and the stored ones in SQL (`json_extract(labels, ?) = ?`): the same
point is in or out of a chart depending on whether the 1 s flush timer has fired yet. Observed:
where={"provider": None} matches a buffered point that has no such label (1) but not once stored (0);
where={"day": date(2025, 1, 15)} on a point recorded with that date label: buffered 0, stored 1."""
from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta, timezone

import pytest

from shared.metrics.recorder import LocalMetricsStore

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("where", [{"provider": None}, {"day": date(2025, 1, 15)}])
def test_a_point_matches_the_same_filter_before_and_after_its_flush(tmp_path, where):
    store = LocalMetricsStore(tmp_path / "metrics.sqlite", max_buffered=10**6, flush_every_s=3600)
    store.record("retry", 1.0, at=T0, day=date(2025, 1, 15))
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # sqlite3's default date adapter
        buffered = len(store.points("retry", *window, where=where))
        store.flush()
        stored = len(store.points("retry", *window, where=where))
    store.close()
    assert buffered == stored
