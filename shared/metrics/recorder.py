"""Recording metrics: `metrics.record(name, value, **labels)` is the whole interface.

Names are the log events infra/monitoring.tf counts (`validation_finished` is the log line
"validation finished", ...) plus the platform's own: function latency and outcomes, retries, dead
letters, fan-in progress, prediction coverage, breaker state, queue backlog.

- embedded (`local`): points in `<home>/metrics.sqlite`, read back by the alert rules;
- `gcp`: one structured log line per point whose message is the event's log text, so the log-based
  metrics of infra/monitoring.tf count it (nothing is stored in the process; Cloud Monitoring
  evaluates the rules as the alert policies of infra/monitoring.tf);
- `emulator`: both — the log line, and the point in the home's `metrics.sqlite` (there is no Cloud
  Monitoring locally, so `sportsflow alerts check` and the console read the points there).
"""
from __future__ import annotations

import atexit
import json
import logging
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol

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
# The platform's own measurements (logged as "metric" lines on gcp, or as their own line below;
# counted by monitoring.tf's log-based metrics when they have a line of their own).
PLATFORM = ("function_latency_ms", "function_outcome", "retry", "dead_letter", "fan_in_progress",
            "prediction_coverage", "breaker_state", "queue_backlog")
NAMES = frozenset(LOG_EVENTS) | frozenset(PLATFORM)
# One point per function invocation (labels: function, outcome, trigger); on gcp its log line is
# the `function_invocations` counter and `function_latency` distribution of infra/monitoring.tf.
INVOCATION = "function_latency_ms"
PLATFORM_LINES = {INVOCATION: "function invocation"}


@dataclass(frozen=True)
class MetricPoint:
    name: str
    at: datetime
    value: float = 1.0
    labels: dict[str, Any] = field(default_factory=dict)


class Metrics(Protocol):
    def record(self, name: str, value: float = 1.0, *, at: datetime | None = None, **labels: Any) -> None: ...

    def points(self, name: str, since: datetime, until: datetime, *, where: Mapping[str, Any] | None = None,
               at_most: int | None = None) -> list[MetricPoint]:
        """Points of `name` with since < at <= until (the embedded store; gcp reads Cloud Monitoring).
        `where`: label -> required value (ANY_VALUE: the label is present); `at_most`: a chart's
        read, an even sample of at most that many points (sums must not sample)."""

    def close(self) -> None: ...


ANY_VALUE = object()  # points(where={label: ANY_VALUE}): the label is present, whatever its value
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _checked_label(label: str) -> str:
    if not _LABEL.match(label):
        raise ValueError(f"metric label {label!r}: use lowercase letters, digits and _")
    return label


def _where_as_stored(where: Mapping[str, Any]) -> dict[str, Any]:
    """Each wanted label value as the store keeps it (JSON, dates and the like as text); None: the
    label is absent or null, as in SQL's json_extract."""
    return {_checked_label(label): value if value is ANY_VALUE else json.loads(_encoded({"v": value}))["v"]
            for label, value in where.items()}


def _matches(labels: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(label in labels if wanted is ANY_VALUE else labels.get(label) == wanted
               for label, wanted in where.items())


def _checked(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown metric {name!r}: add it to shared.metrics.recorder (and infra/monitoring.tf "
                         f"if it is alerted)")
    return name


def _encoded(labels: dict[str, Any]) -> str:
    return json.dumps(labels, sort_keys=True, default=str)


class LocalMetricsStore:
    """SQLite, one row per point, written in batches: `record` only appends to an in-memory buffer;
    the buffer is written (one connection, one transaction) when it holds `max_buffered` points,
    every `flush_every_s` seconds by a daemon timer, on `flush`/`close`, and at a normal interpreter
    exit; `points` reads the stored points and this process's buffer. A crash (SIGKILL, power loss)
    loses at most the last `flush_every_s` seconds of points of this process — acceptable for
    metrics, never for the pipeline's own records."""

    def __init__(self, path: Path, *, clock=lambda: datetime.now(timezone.utc), flush_every_s: float = 1.0,
                 max_buffered: int = 1000):
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._buffer: list[tuple[str, float, float, dict[str, Any]]] = []
        self._flush_every_s = flush_every_s
        self._max_buffered = max_buffered
        self._timer: threading.Thread | None = None
        self._closed = threading.Event()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS points (name TEXT NOT NULL, at REAL NOT NULL, "
                         "value REAL NOT NULL, labels TEXT NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS points_by_name_time ON points (name, at)")
        atexit.register(self.flush)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=30)
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per batch (a power cut may lose the last ones)
        return conn

    def record(self, name: str, value: float = 1.0, *, at: datetime | None = None, **labels: Any) -> None:
        point = (_checked(name), (at or self._clock()).timestamp(), float(value), labels)  # encoded when written
        with self._lock:
            self._buffer.append(point)
            full = len(self._buffer) >= self._max_buffered or self._closed.is_set()
            if self._timer is None and not full:
                self._start_timer()
        if full:
            self.flush()

    def flush(self) -> int:
        """Write the buffered points; how many were written."""
        with self._lock:
            batch, self._buffer = self._buffer, []
            if batch:
                with self._connect() as conn:
                    conn.executemany("INSERT INTO points VALUES (?, ?, ?, ?)",
                                     [(name, at, value, _encoded(labels)) for name, at, value, labels in batch])
                conn.close()
        return len(batch)

    def _start_timer(self) -> None:
        def flush_periodically() -> None:
            while not self._closed.wait(self._flush_every_s):
                try:
                    self.flush()
                except sqlite3.Error:  # a locked or full disk: the points stay lost, the process goes on
                    log.warning("metric points not written", exc_info=True)
                with self._lock:  # idle: the thread ends; the next record starts another
                    if not self._buffer:
                        self._timer = None
                        return

        self._timer = threading.Thread(target=flush_periodically, name="metrics-flush", daemon=True)
        self._timer.start()

    def points(self, name: str, since: datetime, until: datetime, *, where: Mapping[str, Any] | None = None,
               at_most: int | None = None) -> list[MetricPoint]:
        """The stored points and this process's buffered ones (a read never forces a write). The
        labels are filtered in SQL and each distinct label set decoded once: a season's backfill
        leaves ~100k points a day, which the console's charts read on every page. A buffered point
        matches `where` exactly as it will once stored (values compared in their stored form)."""
        low, high = since.timestamp(), until.timestamp()
        wanted = _where_as_stored(where or {})
        sql, params = "SELECT at, value, labels FROM points WHERE name = ? AND at > ? AND at <= ?", [name, low, high]
        for label, value in wanted.items():
            test = "IS NOT NULL" if value is ANY_VALUE else "IS NULL" if value is None else "= ?"
            sql += f" AND json_extract(labels, ?) {test}"
            params += [f'$."{_checked_label(label)}"'] + ([] if value is ANY_VALUE or value is None else [value])
        with self._lock:  # one moment: a flush between the buffer's copy and the SELECT would count its points twice
            buffered = [(at, value, json.loads(_encoded(labels))) for n, at, value, labels in self._buffer
                        if n == name and low < at <= high]  # as stored
            with self._connect() as conn:
                rows = conn.execute(sql + " ORDER BY at", params).fetchall()
            conn.close()
        found = sorted(rows + [row for row in buffered if _matches(row[2], wanted)], key=lambda row: row[0])
        if at_most and len(found) > at_most:  # an even sample of what matched, stored and buffered alike
            found = found[::-(-len(found) // at_most)]
        decoded: dict[str, dict[str, Any]] = {}
        return [MetricPoint(name, datetime.fromtimestamp(at, timezone.utc), value,
                            dict(labels if isinstance(labels, dict) else
                                 decoded.get(labels) or decoded.setdefault(labels, json.loads(labels))))
                for at, value, labels in found]

    def close(self) -> None:
        self._closed.set()
        self.flush()
        atexit.unregister(self.flush)


class LogMetrics:
    """gcp: each point is a structured log line; Cloud Logging's log-based metrics count them."""

    def record(self, name: str, value: float = 1.0, *, at: datetime | None = None, **labels: Any) -> None:
        message = LOG_EVENTS.get(_checked(name)) or PLATFORM_LINES.get(name, "metric")
        fields = {**labels, "metric": name, "value": value}
        (log.error if name in LOG_EVENTS and name != "validation_finished" else log.info)(
            message, extra={"fields": fields})

    def points(self, name: str, since: datetime, until: datetime, *, where: Mapping[str, Any] | None = None,
               at_most: int | None = None) -> list[MetricPoint]:
        raise NotImplementedError("on gcp the points are in Cloud Monitoring (logging.googleapis.com/user/"
                                  f"sportsflow/{name}); the alert policies of infra/monitoring.tf evaluate them")

    def close(self) -> None:
        pass


class LoggedAndStored:
    """The emulator backend: each point logged as on gcp and kept in the home's local store."""

    def __init__(self, logged: LogMetrics, stored: LocalMetricsStore):
        self._logged, self._stored = logged, stored

    def record(self, name: str, value: float = 1.0, *, at: datetime | None = None, **labels: Any) -> None:
        self._stored.record(name, value, at=at, **labels)
        self._logged.record(name, value, at=at, **labels)

    def points(self, name: str, since: datetime, until: datetime, *, where: Mapping[str, Any] | None = None,
               at_most: int | None = None) -> list[MetricPoint]:
        return self._stored.points(name, since, until, where=where, at_most=at_most)

    def flush(self) -> int:
        return self._stored.flush()

    def close(self) -> None:
        self._stored.close()


def metrics_for(settings: "Settings") -> Metrics:
    if settings.backend == "local":
        return LocalMetricsStore(settings.home / "metrics.sqlite")
    if settings.backend == "emulator":
        return LoggedAndStored(LogMetrics(), LocalMetricsStore(settings.home / "metrics.sqlite"))
    return LogMetrics()


def stores_points(settings: "Settings") -> bool:
    """Whether this backend keeps points this process can read (gcp's are in Cloud Monitoring)."""
    return settings.backend in ("local", "emulator")


def record_quietly(settings: "Settings", name: str, value: float = 1.0, **labels: Any) -> None:
    """`process_metrics(settings).record(...)` that never fails its caller: a message's handling,
    a breaker's transition or a drain must not fail because a metric could not be kept."""
    try:
        process_metrics(settings).record(name, value, **labels)
    except Exception:  # noqa: BLE001 - metrics are best effort
        log.warning("metric not recorded", exc_info=True, extra={"fields": {"metric": name}})


_process_metrics: dict[tuple[str, str], Metrics] = {}
_process_lock = threading.Lock()


def process_metrics(settings: "Settings") -> Metrics:
    """The process's one recorder per backend and home (so points share one buffer and timer)."""
    key = (settings.backend, str(settings.home))
    with _process_lock:
        metrics = _process_metrics.get(key)
        if metrics is None:
            metrics = _process_metrics[key] = metrics_for(settings)
        return metrics
