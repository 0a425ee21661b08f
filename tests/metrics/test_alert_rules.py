"""Each alert rule at its boundary: fires on a stream just over the threshold, stays quiet just
under it (and on points just outside its window)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.metrics.notify import notify
from shared.metrics.recorder import LocalMetricsStore
from shared.metrics.rules import RULES, evaluate
from shared.ports.notifier import NotificationFailed

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    return LocalMetricsStore(tmp_path / "metrics.sqlite", clock=lambda: NOW)


def fired(store) -> set[str]:
    return {alert.rule for alert in evaluate(store, NOW)}


def validations(store, total: int, *, slow: int = 0, failed: int = 0, slow_ms: float = 2001,
                seconds_ago: float = 30) -> None:
    for index in range(total):
        store.record("validation_finished", at=NOW - timedelta(seconds=seconds_ago),
                     duration_ms=slow_ms if index < slow else 150.0, succeeded=index >= failed)


def test_validation_latency_fires_above_5_percent_of_validations_slower_than_2_s(store) -> None:
    validations(store, 100, slow=5)
    assert "validation latency" not in fired(store)   # 5 % is not more than 5 %
    validations(store, 1, slow=1)
    assert "validation latency" in fired(store)        # 6 of 101


def test_validation_latency_counts_only_validations_over_2_s_in_the_last_5_minutes(store) -> None:
    validations(store, 100, slow=10, slow_ms=2000)     # exactly 2 s is not slower than 2 s
    validations(store, 50, slow=50, seconds_ago=301)   # outside the 5-minute window
    assert "validation latency" not in fired(store)
    validations(store, 10, slow=10, seconds_ago=299)
    assert "validation latency" in fired(store)


def test_validation_failures_fire_above_1_percent_in_15_minutes(store) -> None:
    validations(store, 200, failed=2, seconds_ago=14 * 60)
    assert "validation failures" not in fired(store)   # 1 % exactly
    validations(store, 1, failed=1, seconds_ago=901)   # outside the window
    assert "validation failures" not in fired(store)
    validations(store, 1, failed=1, seconds_ago=899)
    assert "validation failures" in fired(store)       # 3 of 201


@pytest.mark.parametrize("metric, rule, labels", [
    ("evidence_integrity_failure", "evidence integrity failure", {"key": "validation/decisions/x.json"}),
    ("synthetic_validation_failed", "synthetic validation failed", {"step": "monitor"}),
    ("source_disagreement_drift", "source disagreement drift", {"source": "espn"}),
    ("prediction_coverage_low", "prediction coverage low", {"date": "2025-01-15"}),
    ("pipeline_date_late", "pipeline date late", {"analysis_date": "2025-01-15"}),
])
def test_any_occurrence_rules_fire_on_one_event_in_5_minutes(store, metric, rule, labels) -> None:
    store.record(metric, at=NOW - timedelta(seconds=301), **labels)
    assert rule not in fired(store)
    store.record(metric, at=NOW - timedelta(seconds=299), **labels)
    assert rule in fired(store)


def test_a_stale_live_match_alerts_only_at_the_error_step_of_the_ladder(store) -> None:
    for step in ("warn", "reconcile"):
        store.record("live_match_stale", at=NOW - timedelta(seconds=10), ladder_step=step, reason="stale_live")
    assert "live match stale" not in fired(store)
    store.record("live_match_stale", at=NOW - timedelta(seconds=10), ladder_step="error", reason="stale_live")
    assert "live match stale" in fired(store)


def test_prediction_coverage_alerts_below_90_percent(store) -> None:
    store.record("prediction_coverage", 0.9, at=NOW - timedelta(hours=1), date="2025-01-15")
    assert "prediction coverage below target" not in fired(store)
    store.record("prediction_coverage", 0.8999, at=NOW - timedelta(minutes=1), date="2025-01-16")
    assert "prediction coverage below target" in fired(store)


def test_quiet_streams_raise_nothing(store) -> None:
    validations(store, 1000, slow=50, failed=10)
    store.record("prediction_coverage", 0.97, at=NOW - timedelta(minutes=5))
    assert evaluate(store, NOW) == []


def test_every_rule_has_a_boundary_test() -> None:
    tested = {"validation latency", "validation failures", "evidence integrity failure", "synthetic validation failed",
              "source disagreement drift", "prediction coverage low", "pipeline date late", "live match stale",
              "prediction coverage below target"}
    assert {rule.name for rule in RULES} == tested


class Recording:
    def __init__(self, fail: bool = False):
        self.notices, self.fail = [], fail

    def announce(self, notice) -> None:
        if self.fail:
            raise NotificationFailed("webhook answered 503")
        self.notices.append(notice)


def test_alerts_go_out_through_the_notifier_port_with_a_stable_id_per_window(store) -> None:
    store.record("evidence_integrity_failure", at=NOW - timedelta(seconds=5), key="k")
    notifier = Recording()
    first = notify(evaluate(store, NOW), notifier)
    again = notify(evaluate(store, NOW), notifier)
    assert first == again and len(first) == 1
    assert notifier.notices[0].subject == "sportsflow alert: evidence integrity failure"
    assert notify(evaluate(store, NOW), Recording(fail=True)) == []  # logged, not raised


def test_an_unknown_metric_is_refused(store) -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        store.record("validation_finshed")
