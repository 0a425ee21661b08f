"""The alert rules of SPEC §2–3 (and the pipeline's), windowed, with the seed thresholds — the same
rules infra/monitoring.tf gives Cloud Monitoring, evaluated here on the embedded metrics store.

- validation latency: more than 5 % of the validations of the last 5 min took longer than 2 s;
- validation failures: more than 1 % of the validations of the last 15 min failed;
- evidence integrity failure, synthetic validation failed, source disagreement drift,
  live match stale at the watchdog's `error` step, prediction coverage low, pipeline date late:
  any occurrence in the last 5 min (monitoring.tf's any-occurrence alerts);
- prediction coverage: the latest coverage recorded in the last 24 h is below 90 %.

Each rule names its alert policy in infra/monitoring.tf (`policy`, a Terraform address): on gcp
Cloud Monitoring evaluates that policy instead (tests/metrics keeps the two lists in step).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol

from shared.metrics.recorder import MetricPoint

VALIDATION_SLOW_MS = 2000.0      # var.alert_thresholds.validation_slow_ms
VALIDATION_SLOW_RATIO = 0.05     # var.alert_thresholds.validation_slow_ratio
VALIDATION_FAILURE_RATIO = 0.01  # var.alert_thresholds.validation_failure_ratio
COVERAGE_TARGET = 0.9            # SPEC §1: alert when coverage < 90 %
ANY_OCCURRENCE_WINDOW = timedelta(minutes=5)


class PointSource(Protocol):
    def points(self, name: str, since: datetime, until: datetime) -> list[MetricPoint]: ...


@dataclass(frozen=True)
class Alert:
    rule: str
    severity: str
    detail: str
    window_start: datetime


@dataclass(frozen=True)
class RatioRule:
    """Fires when more than `threshold` of the `metric` points in the window are `bad`."""
    name: str
    metric: str
    window: timedelta
    threshold: float
    bad: Callable[[MetricPoint], bool]
    describe: str
    severity: str = "ERROR"
    policy: str = ""

    def evaluate(self, source: PointSource, now: datetime) -> Alert | None:
        points = source.points(self.metric, now - self.window, now)
        bad = sum(1 for p in points if self.bad(p))
        if points and bad / len(points) > self.threshold:
            return Alert(self.name, self.severity, f"{bad} of {len(points)} {self.describe} "
                                                   f"(> {self.threshold:.0%} in {_minutes(self.window)})",
                         now - self.window)
        return None


@dataclass(frozen=True)
class AnyOccurrenceRule:
    name: str
    metric: str
    severity: str
    where: Callable[[MetricPoint], bool] = lambda point: True
    window: timedelta = ANY_OCCURRENCE_WINDOW
    policy: str = ""

    def evaluate(self, source: PointSource, now: datetime) -> Alert | None:
        found = [p for p in source.points(self.metric, now - self.window, now) if self.where(p)]
        if found:
            return Alert(self.name, self.severity, f"{len(found)} in {_minutes(self.window)}; latest "
                                                   f"{_labels(found[-1].labels)}", now - self.window)
        return None


@dataclass(frozen=True)
class BelowRule:
    """Fires when the latest value recorded in the window is below `minimum` (a gauge)."""
    name: str
    metric: str
    minimum: float
    window: timedelta
    severity: str = "WARNING"
    policy: str = ""

    def evaluate(self, source: PointSource, now: datetime) -> Alert | None:
        points = source.points(self.metric, now - self.window, now)
        if points and points[-1].value < self.minimum:
            latest = points[-1]
            return Alert(self.name, self.severity, f"{latest.value:.1%} < {self.minimum:.0%} "
                                                   f"({_labels(latest.labels)})", now - self.window)
        return None


def _log_event(key: str) -> str:
    return f'google_monitoring_alert_policy.log_event["{key}"]'


def _log_ratio(key: str) -> str:
    return f'google_monitoring_alert_policy.log_ratio["{key}"]'


RULES = (
    RatioRule("validation latency", "validation_finished", timedelta(minutes=5), VALIDATION_SLOW_RATIO,
              lambda p: p.labels.get("duration_ms", 0) > VALIDATION_SLOW_MS, "validations took longer than 2 s",
              policy=_log_ratio("validation_latency")),
    RatioRule("validation failures", "validation_finished", timedelta(minutes=15), VALIDATION_FAILURE_RATIO,
              lambda p: p.labels.get("succeeded") is False, "validations failed",
              policy=_log_ratio("validation_failures")),
    AnyOccurrenceRule("evidence integrity failure", "evidence_integrity_failure", "CRITICAL",
                      policy=_log_event("evidence_integrity_failure")),
    AnyOccurrenceRule("synthetic validation failed", "synthetic_validation_failed", "ERROR",
                      policy=_log_event("synthetic_validation_failed")),
    AnyOccurrenceRule("source disagreement drift", "source_disagreement_drift", "WARNING",
                      policy=_log_event("source_disagreement_drift")),
    AnyOccurrenceRule("live match stale", "live_match_stale", "ERROR",
                      where=lambda p: p.labels.get("ladder_step") == "error", policy=_log_event("live_match_stale")),
    AnyOccurrenceRule("prediction coverage low", "prediction_coverage_low", "WARNING",
                      policy=_log_event("prediction_coverage_low")),
    AnyOccurrenceRule("pipeline date late", "pipeline_date_late", "ERROR", policy=_log_event("pipeline_date_late")),
    BelowRule("prediction coverage below target", "prediction_coverage", COVERAGE_TARGET, timedelta(hours=24),
              policy="google_monitoring_alert_policy.prediction_coverage"),
)


def evaluate(source: PointSource, now: datetime, rules=RULES) -> list[Alert]:
    return [alert for rule in rules if (alert := rule.evaluate(source, now)) is not None]


def _minutes(window: timedelta) -> str:
    minutes = window.total_seconds() / 60
    return f"{minutes:g} min" if minutes < 120 else f"{minutes / 60:g} h"


def _labels(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
