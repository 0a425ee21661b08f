"""The one interface: a local store on the embedded backend, log lines matching infra/monitoring.tf on gcp."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shared.config import Settings
from shared.metrics.recorder import LOG_EVENTS, LocalMetricsStore, LogMetrics, metrics_for

MONITORING_TF = Path(__file__).resolve().parents[2] / "infra" / "monitoring.tf"


def test_every_logged_event_is_a_counter_of_monitoring_tf() -> None:
    terraform = MONITORING_TF.read_text()
    for message in LOG_EVENTS.values():
        assert f'jsonPayload.message=\\"{message}\\"' in terraform, message


def test_on_gcp_a_point_is_a_log_line_with_the_counted_message(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="sportsflow.metrics"):
        LogMetrics().record("live_match_stale", ladder_step="error", reason="stale_live")
        LogMetrics().record("fan_in_progress", 0.4, date="2025-01-15")
    stale, progress = caplog.records[-2:]
    assert stale.getMessage() == "live match stale" and stale.fields["ladder_step"] == "error"
    assert progress.getMessage() == "metric" and progress.fields == {"date": "2025-01-15", "metric": "fan_in_progress",
                                                                     "value": 0.4}


def test_the_local_store_keeps_points_by_name_and_window(tmp_path) -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    store = metrics_for(Settings(home=tmp_path))
    assert isinstance(store, LocalMetricsStore)
    store.record("function_latency_ms", 12.5, at=now - timedelta(seconds=10), function="phase3_analytics")
    store.record("function_latency_ms", 99.0, at=now - timedelta(hours=2), function="phase3_analytics")
    store.record("retry", at=now, function="phase3_analytics")
    points = store.points("function_latency_ms", now - timedelta(minutes=5), now)
    assert [(p.value, p.labels) for p in points] == [(12.5, {"function": "phase3_analytics"})]
    store.flush()  # what another process reads: the points written so far
    reopened = LocalMetricsStore(tmp_path / "metrics.sqlite")
    assert len(reopened.points("function_latency_ms", now - timedelta(days=1), now)) == 2
