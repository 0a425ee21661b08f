"""Metrics: one small interface (`Metrics.record`), a local store on the embedded backend, log lines
that Cloud Monitoring's log-based metrics count on gcp, and the SPEC §2–3 alert rules on them."""
from shared.metrics.recorder import MetricPoint, Metrics, metrics_for
from shared.metrics.rules import RULES, Alert, evaluate

__all__ = ["Metrics", "MetricPoint", "metrics_for", "RULES", "Alert", "evaluate"]
