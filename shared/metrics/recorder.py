"""Recording metrics: `metrics.record(name, value, **labels)` is the whole interface.

Names are the log events infra/monitoring.tf counts (`validation_finished` is the log line
"validation finished", ...) plus the platform's own: function latency and outcomes, retries, dead
letters, fan-in progress, prediction coverage, breaker state, queue backlog.

- embedded (`local`): points in `<home>/metrics.sqlite`, read back by the alert rules;
- `gcp` / `emulator`: one structured log line per point whose message is the event's log text, so
  the log-based metrics of infra/monitoring.tf count it (nothing is stored in the process).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("sportsflow.metrics")

# Events infra/monitoring.tf counts: name -> the exact log message its filter matches.
LOG_EVENTS = {
    "validation_finished": "validation finished",
    "evidence_integrity_failure": "evidence integrity failure",
    "synthetic_validation_failed": "synthetic validation failed",
    "source_disagreement_drift": "source disagreement drift",
    "live_match_stale": "live match stale",
    "prediction_coverage_low": "prediction coverage low",
    "pipeline_date_late": "pipeline date not finished by deadline",
}
# The platform's own measurements (logged as "metric" lines on gcp; not alerted by monitoring.tf).
PLATFORM = ("function_latency_ms", "function_outcome", "retry", "dead_letter", "fan_in_progress",
            "prediction_coverage", "breaker_state", "queue_backlog")
NAMES = frozenset(LOG_EVENTS) | frozenset(PLATFORM)


@dataclass(frozen=True)
class MetricPoint:
    name: str
    at: datetime
    value: float = 1.0
    labels: dict[str, Any] = field(default_factory=dict)


class Metrics(Protocol):
    def record(self, name: str, value: float = 1.0, *, at: datetime | None = None, **labels: Any) -> None: ...

    def points(self, name: str, since: datetime, until: datetime) -> list[MetricPoint]:
        """Points of `name` with since < at <= until (the embedded store; gcp reads Cloud Monitoring)."""

    def close(self) -> None: ...


def _checked(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown metric {name!r}: add it to shared.metrics.recorder (and infra/monitoring.tf "
                         f"if it is alerted)")
    return name


class LocalMetricsStore:
    """SQLite, one row per point; safe across threads (one connection per call)."""

    def __init__(self, path: Path, *, clock=lambda: datetime.now(timezone.utc)):
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS points (name TEXT NOT NULL, at REAL NOT NULL, "
                         "value REAL NOT NULL, labels TEXT NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS points_by_name_time ON points (name, at)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30)

    def record(self, name: str, value: float = 1.0, *, at: datetime | None = None, **labels: Any) -> None:
        when = (at or self._clock()).timestamp()
        with self._lock, self._connect() as conn:
            conn.execute("INSERT INTO points VALUES (?, ?, ?, ?)",
                         (_checked(name), when, float(value), json.dumps(labels, sort_keys=True, default=str)))

    def points(self, name: str, since: datetime, until: datetime) -> list[MetricPoint]:
        with self._connect() as conn:
            rows = conn.execute("SELECT at, value, labels FROM points WHERE name = ? AND at > ? AND at <= ? "
                                "ORDER BY at", (name, since.timestamp(), until.timestamp())).fetchall()
        return [MetricPoint(name, datetime.fromtimestamp(at, timezone.utc), value, json.loads(labels))
                for at, value, labels in rows]

    def close(self) -> None:
        pass


class LogMetrics:
    """gcp: each point is a structured log line; Cloud Logging's log-based metrics count them."""

    def record(self, name: str, value: float = 1.0, *, at: datetime | None = None, **labels: Any) -> None:
        message = LOG_EVENTS.get(_checked(name), "metric")
        fields = {**labels, "metric": name, "value": value}
        (log.error if name in LOG_EVENTS and name != "validation_finished" else log.info)(
            message, extra={"fields": fields})

    def points(self, name: str, since: datetime, until: datetime) -> list[MetricPoint]:
        raise NotImplementedError("on gcp the points are in Cloud Monitoring (logging.googleapis.com/user/"
                                  f"sportsflow/{name}); the alert policies of infra/monitoring.tf evaluate them")

    def close(self) -> None:
        pass


def metrics_for(settings: "Settings") -> Metrics:
    if settings.backend == "local":
        return LocalMetricsStore(settings.home / "metrics.sqlite")
    return LogMetrics()
