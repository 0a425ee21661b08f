"""The 7:00 coverage check records the `prediction_coverage` gauge that the "coverage below target"
alert rule reads; `sportsflow alerts check` then fires on a low date."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

from shared.config import Settings
from shared.metrics.recorder import process_metrics
from shared.metrics.rules import RULES, evaluate
from shared.predictions import coverage as coverage_module
from shared.predictions.coverage import Coverage, check_coverage


def test_the_coverage_check_records_the_gauge_the_rule_reads(tmp_path, monkeypatch) -> None:
    services = SimpleNamespace(settings=Settings(home=tmp_path))
    monkeypatch.setattr(coverage_module, "coverage",
                        lambda services, day: Coverage(game_date=day.isoformat(), expected=100, predicted=85))
    check_coverage(services, date(2025, 1, 15))
    metrics = process_metrics(services.settings)
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    [point] = metrics.points("prediction_coverage", now - timedelta(minutes=5), now)
    assert point.value == 0.85 and point.labels == {"analysis_date": "2025-01-15"}
    rule = next(r for r in RULES if r.name == "prediction coverage below target")
    assert [a.rule for a in evaluate(metrics, now, (rule,))] == ["prediction coverage below target"]
