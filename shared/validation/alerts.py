"""SPEC §2's alerts, evaluated on the recorded validation metrics (`validation_metrics`):

- latency: more than 5 % of the validations of the last 5 minutes took longer than 2 s;
- failures: more than 1 % of the validations of the last 15 minutes failed;
- integrity: any evidence integrity failure (from `sportsflow evidence verify` or a read).

In production Cloud Monitoring evaluates the same rules on the `validation finished` log lines
(infra/monitoring.tf); this is the same arithmetic for local runs, tests and `validation alerts`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.ports.documents import DocumentStore
from shared.validation import records


@dataclass(frozen=True)
class AlertRule:
    name: str
    window: timedelta
    threshold: float


LATENCY_MS = 2000.0
LATENCY = AlertRule("validation latency", timedelta(minutes=5), 0.05)
FAILURES = AlertRule("validation failures", timedelta(minutes=15), 0.01)


@dataclass(frozen=True)
class Alert:
    name: str
    detail: str


def evaluate(metrics: list[dict], now: datetime, *, integrity_failures: int = 0) -> list[Alert]:
    alerts = []
    recent = [m for m in metrics if m["finished_at"] >= now - LATENCY.window]
    slow = sum(1 for m in recent if m["duration_ms"] > LATENCY_MS)
    if recent and slow / len(recent) > LATENCY.threshold:
        alerts.append(Alert(LATENCY.name, f"{slow} of {len(recent)} validations in 5 min took > 2 s"))
    recent = [m for m in metrics if m["finished_at"] >= now - FAILURES.window]
    failed = sum(1 for m in recent if not m["succeeded"])
    if recent and failed / len(recent) > FAILURES.threshold:
        alerts.append(Alert(FAILURES.name, f"{failed} of {len(recent)} validations in 15 min failed"))
    if integrity_failures:
        alerts.append(Alert("evidence integrity failure", f"{integrity_failures} integrity problem(s)"))
    return alerts


def recorded_metrics(documents: DocumentStore, since: datetime) -> list[dict]:
    docs = documents.query(records.METRICS, [("finished_at", ">=", since)])
    return [doc.data for doc in docs]


def evaluate_recorded(documents: DocumentStore, *, integrity_failures: int = 0) -> list[Alert]:
    now = documents.now()
    return evaluate(recorded_metrics(documents, now - FAILURES.window), now, integrity_failures=integrity_failures)
